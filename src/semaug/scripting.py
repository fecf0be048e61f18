"""Run a workflow script outside Snakemake, for debugging: build the ``snakemake`` object
Snakemake would inject for one job (PyPSA-Eur's ``mock_snakemake`` idea, on Snakemake's API).

    python workflow/scripts/folds.py ds=ck_demo        # from the workflow's directory

The Snakefile is parsed as for a run (same config, same validation); the job's inputs must
exist as they would for Snakemake. Uses Snakemake internals (its DAG and Job classes), so it
is a debugging aid, not an interface the workflow relies on.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def mock_snakemake(rule: str, *, snakefile: str | Path = "Snakefile",
                   configfiles: Sequence[str | Path] = (), **wildcards: Any) -> Any:
    """The ``snakemake`` object of ``rule``'s job for ``wildcards``."""
    from snakemake.api import SnakemakeApi
    from snakemake.dag import DAG
    from snakemake.jobs import Job
    from snakemake.script import Snakemake
    from snakemake.settings.types import (ConfigSettings, DAGSettings, OutputSettings,
                                          ResourceSettings)

    snakefile = Path(snakefile)
    if not snakefile.is_file():
        raise FileNotFoundError(f"{snakefile} not found: run the script from the workflow's "
                                f"directory (the one holding the Snakefile)")
    with SnakemakeApi(OutputSettings()) as api:
        workflow_api = api.workflow(
            resource_settings=ResourceSettings(cores=1),
            config_settings=ConfigSettings(configfiles=[Path(c) for c in configfiles]),
            snakefile=snakefile)
        workflow = workflow_api.dag(DAGSettings()).workflow_api._workflow
        job_rule = workflow.get_rule(rule)
        job = Job(job_rule, DAG(workflow, rules=[job_rule]),
                  {k: str(v) for k, v in wildcards.items()})
        return Snakemake(job.input, job.output, job.params, job.wildcards, job.threads,
                         job.resources, job.log, workflow.config, job_rule.name, None)
