"""The architecture as stated: import layers (import-linter contracts in pyproject.toml), no
import cycle, a torch-free catalog at DAG time, thin workflow scripts, a lint-clean workflow."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, SNAKEMAKE
from semaug import catalog

SCRIPTS = sorted((REPO / "workflow" / "scripts").glob("*.py"))


def test_import_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), str(REPO / "pyproject.toml")], capture_output=True,
                            text=True, cwd=REPO / "src")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_the_package_has_no_import_cycle():
    grimp = pytest.importorskip("grimp")  # installed with import-linter
    graph = grimp.build_graph("semaug")
    cycles = [(m, imported) for m in sorted(graph.modules)
              for imported in graph.find_modules_directly_imported_by(m)
              if graph.find_shortest_chain(importer=imported, imported=m)]
    assert not cycles, f"modules that import each other (directly or not): {cycles}"


def test_dag_time_modules_do_not_load_torch_or_decoders():
    code = ("import sys\n"
            "from semaug import catalog, config, formats, layout, provenance\n"
            "from semaug.models import available_models\n"
            "catalog.scenarios(); formats.format_names(); available_models()\n"
            "provenance.code_version('semaug.training')\n"
            "heavy = sorted(m for m in ('torch', 'cv2', 'sklearn', 'kornia') if m in sys.modules)\n"
            "assert not heavy, heavy\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]


def test_the_catalog_owns_every_scenario_kind():
    known = catalog.scenarios()
    assert {n: s.kind for n, s in known.items() if n in ("original", "oversample", "classic")} == {
        "original": catalog.REAL, "oversample": catalog.REAL, "classic": catalog.AUGMENTATION}
    assert {"landmark_warp", "monkeynet", "fomm"} <= set(catalog.scenario_names(catalog.GENERATOR))
    assert catalog.scenario("classic").identity == "driver"
    assert all(s.train for s in known.values() if s.learned)
    for name, spec in known.items():
        if spec.renders:  # every rendering scenario builds through the same contract
            from semaug.generators import Generator

            assert issubclass(catalog.implementation(name), Generator), name


def test_a_learned_generators_training_options_leave_out_the_synthesis_ones():
    given = {"iterations": 7, "transfer": {"mode": "absolute"}, "inference_batch_size": 3}
    resolved = catalog.resolve_options("monkeynet", given)
    trained = catalog.training_options("monkeynet", given)
    assert set(resolved) - set(trained) == {"transfer", "inference_batch_size", "threads"}
    assert trained["iterations"] == 7 and trained == {k: resolved[k] for k in trained}
    assert catalog.training_options("fomm", {})["first_order"] is True  # fixed options stay
    bad = catalog.declare_generator("typo_gen", implementation="x:Y", learned=True, train="x:f",
                                    options={"steps": 1}, synthesis_only=("step",))
    try:
        with pytest.raises(ValueError, match="synthesis_only names options it does not have: step"):
            catalog.training_options("typo_gen", {})
    finally:
        catalog._REGISTERED.pop(bad.name)


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_workflow_scripts_are_one_library_call(script):
    """stderr to the log + one library call (arguments may be computed inline)."""
    tree = ast.parse(script.read_text())
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            assert all(m == "os" or m.startswith("semaug") for m in modules), (script.name, modules)
    calls = [n for n in tree.body if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call)]
    names = [ast.unparse(c.value.func) for c in calls]
    library_calls = [n for n in names if n != "log_to"]
    assert len(library_calls) == 1, (script.name, names)
    assert "snakemake_job" in script.read_text(), f"{script.name} cannot run standalone"


def test_snakemake_lint_is_clean():
    result = subprocess.run([SNAKEMAKE, "--lint", "--snakefile", str(REPO / "Snakefile")],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Congratulations" in result.stdout + result.stderr, result.stdout + result.stderr
