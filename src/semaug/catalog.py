"""The scenario catalog: every training scenario the workflow knows, what kind it is, and for
the ones that render videos, the module that implements them and the options it declares.

Kinds:

- ``real``: the fold's real training videos only — ``original``, and ``oversample`` (the
  plan's driver videos again, on the original files). Nothing is rendered.
- ``augmentation``: a new video per plan row made from *one* real video (``classic``: a
  flipped / shifted / recoloured copy of the driver). The identity on screen is the driver's.
- ``generator``: a new video per plan row, the source's face animated with the driver's motion.
  ``learned`` generators are trained per fold first (their module provides ``train``).

``classic`` goes through the same synthesize path as the generators (a plan row in, a clip
out); only its identity (the driver's) and the absence of a self-reenactment measure differ.

Generators and augmentations register themselves with :func:`register_generator` in a module
of ``semaug.generators``; :func:`scenarios` imports those modules on first use. Generator
modules keep torch out of their import (they import it inside the functions that run), so the
Snakefile can read the catalog, and build a DAG of hundreds of jobs, without loading torch.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

REAL, AUGMENTATION, GENERATOR = "real", "augmentation", "generator"
GENERATOR_PACKAGE = "semaug.generators"
# Modules of the generator package that hold shared code, not generators.
HELPER_MODULES = frozenset({"registry", "motion", "tps", "grid"})


@dataclass(frozen=True)
class Scenario:
    """One training scenario (a value of the ``{scenario}`` wildcard)."""

    name: str
    kind: str  # REAL | AUGMENTATION | GENERATOR
    description: str = ""
    learned: bool = False  # trained per fold before it renders (rule train_generator)
    implementation: Any = None  # the Generator class, or "module:Class" resolved on build
    options: Any = None  # a dataclass type, a mapping of defaults, or None (no options)
    fixed_options: Mapping[str, Any] = field(default_factory=dict)  # forced values
    train: str | None = None  # learned: "module:function" of the training entry point
    identity: str = "source"  # whose face a rendered video shows: "source" | "driver"
    repeats_plan: bool = False  # real: the plan's driver videos are added again (oversample)
    # learned: options only synthesis (or the job's size) reads; the training job's params
    # leave them out, so changing them re-renders without retraining
    synthesis_only: tuple[str, ...] = ()

    @property
    def manifest_input(self) -> str | None:
        """What the manifest adds to the real videos from: ``"videos"`` (the rendered clips),
        ``"plan"`` (the plan's drivers, repeated) or None (nothing)."""
        return "videos" if self.renders else "plan" if self.repeats_plan else None

    @property
    def renders(self) -> bool:
        """True when the scenario adds rendered clips (rule synthesize)."""
        return self.kind != REAL

    @property
    def is_generator(self) -> bool:
        return self.kind == GENERATOR

    @property
    def module(self) -> str:
        """The module that implements a rendering scenario."""
        impl = self.implementation
        return impl.split(":")[0] if isinstance(impl, str) else getattr(impl, "__module__", "")


_BUILTIN = {
    "original": Scenario("original", REAL, "the fold's real training videos"),
    "oversample": Scenario("oversample", REAL,
                           "the real videos + the plan's driver videos again (duplicates)",
                           repeats_plan=True),
}
_REGISTERED: dict[str, Scenario] = {}
_IMPORT_ERRORS: dict[str, str] = {}
_DISCOVERED = False
C = TypeVar("C", bound=type)


def register_generator(name: str, *, learned: bool = False, options: Any = None,
                       train: str | None = None, kind: str = GENERATOR, identity: str = "source",
                       fixed_options: Mapping[str, Any] | None = None, description: str = "",
                       synthesis_only: Sequence[str] = ()) -> Callable[[C], C]:
    """Class decorator: make a :class:`semaug.generators.Generator` subclass the scenario
    ``name``. ``options``: its options (a dataclass type or a dict of defaults; None = none);
    ``train``: for a learned generator, ``"module:function"`` of its per-fold training."""

    def wrap(cls: C) -> C:
        declare_generator(name, implementation=cls, learned=learned, options=options, train=train,
                          kind=kind, identity=identity, fixed_options=fixed_options,
                          description=description or (cls.__doc__ or "").strip().split("\n")[0],
                          synthesis_only=synthesis_only)
        cls.name = name  # type: ignore[attr-defined]
        return cls

    return wrap


def declare_generator(name: str, *, implementation: Any, learned: bool = False,
                      options: Any = None, train: str | None = None, kind: str = GENERATOR,
                      identity: str = "source", fixed_options: Mapping[str, Any] | None = None,
                      description: str = "", synthesis_only: Sequence[str] = ()) -> Scenario:
    """Register a scenario whose class is imported only when it is built
    (``implementation="package.module:Class"``): for generators whose code needs torch at
    import time (a package of network modules)."""
    if kind not in (GENERATOR, AUGMENTATION):
        raise ValueError(f"generator {name!r}: kind must be {GENERATOR!r} or {AUGMENTATION!r}")
    if learned and not train:
        raise ValueError(f"learned generator {name!r} must name its training entry point "
                         f"(train='module:function')")
    if name in _BUILTIN:
        raise ValueError(f"{name!r} is a built-in scenario; choose another generator name")
    spec = Scenario(name, kind, description, learned, implementation, options,
                    dict(fixed_options or {}), train, identity, synthesis_only=tuple(synthesis_only))
    known = _REGISTERED.get(name)
    if known is not None and _qualname(known.implementation) != _qualname(implementation):
        raise ValueError(f"generator {name!r} is registered twice ({known.module} and "
                         f"{spec.module})")
    _REGISTERED[name] = spec
    return spec


def _qualname(impl: Any) -> str:
    return impl if isinstance(impl, str) else f"{impl.__module__}:{impl.__qualname__}"


def _discover() -> None:
    """Import every generator module once (their decorators register them)."""
    global _DISCOVERED
    if _DISCOVERED:
        return
    _DISCOVERED = True
    package = importlib.import_module(GENERATOR_PACKAGE)
    for info in pkgutil.iter_modules(package.__path__):
        if info.name in HELPER_MODULES or info.name.startswith("_"):
            continue
        try:
            importlib.import_module(f"{GENERATOR_PACKAGE}.{info.name}")
        except Exception as err:  # noqa: BLE001 - reported when that scenario is asked for
            _IMPORT_ERRORS[info.name] = f"{type(err).__name__}: {err}"


def scenarios() -> dict[str, Scenario]:
    """Every known scenario by name: the built-in real ones, then the registered ones."""
    _discover()
    return {**_BUILTIN, **dict(sorted(_REGISTERED.items()))}


def scenario(name: str) -> Scenario:
    """The scenario ``name``; an unknown one is a KeyError that lists the known ones (and any
    generator module that failed to import, with its error)."""
    known = scenarios()
    if name not in known:
        broken = "".join(f"; module {m} failed to import ({e})" for m, e in _IMPORT_ERRORS.items())
        raise KeyError(f"unknown scenario {name!r}; available: {', '.join(known)} (a new "
                       f"generator is one module in src/semaug/generators/){broken}")
    return known[name]


def scenario_names(kind: str | None = None) -> list[str]:
    return [n for n, s in scenarios().items() if kind is None or s.kind == kind]


def default_options(name: str) -> dict[str, Any]:
    """The declared options of ``name`` with their defaults (nested dicts for nested
    dataclasses), the fixed ones applied."""
    spec = scenario(name)
    declared = spec.options
    if declared is None:
        defaults: dict[str, Any] = {}
    elif dataclasses.is_dataclass(declared):
        defaults = dataclasses.asdict(declared())  # type: ignore[operator]
    else:
        defaults = dict(declared)
    return {**defaults, **spec.fixed_options}


def resolve_options(name: str, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The options a job of scenario ``name`` runs with: its defaults updated by ``given``
    (the config's ``generators.<name>`` block). Unknown keys and values of the wrong type
    are errors naming ``generators.<name>.<key>``; fixed options cannot be changed; an options
    class with a ``from_dict`` checks its own constraints too."""
    spec = scenario(name)
    given = dict(given or {})
    for key, value in spec.fixed_options.items():
        if key in given and given[key] != value:
            raise ValueError(f"generators.{name}.{key}: fixed to {value!r} for {name!r}")
    resolved = _merge(default_options(name), given, f"generators.{name}")
    if hasattr(spec.options, "from_dict"):  # an options class that checks its own values
        spec.options.from_dict(resolved)
    return resolved


def training_options(name: str, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """:func:`resolve_options` without the options only synthesis reads (the scenario's
    ``synthesis_only``): what a learned generator's training job depends on."""
    drop = set(scenario(name).synthesis_only)
    resolved = resolve_options(name, given)
    if drop - set(resolved):
        raise ValueError(f"generator {name!r}: synthesis_only names options it does not have: "
                         f"{', '.join(sorted(drop - set(resolved)))}")
    return {k: v for k, v in resolved.items() if k not in drop}


def _merge(base: dict[str, Any], update: Mapping[str, Any], path: str) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        where = f"{path}.{key}"
        if key not in base:
            known = ", ".join(sorted(base)) or "none: this generator declares no options"
            raise ValueError(f"{where}: unknown option (known: {known})")
        default = base[key]
        if isinstance(default, dict):
            if not isinstance(value, Mapping):
                raise ValueError(f"{where}: expected a mapping, got {value!r}")
            out[key] = _merge(default, value, where)
            continue
        if not _same_type(default, value):
            raise ValueError(f"{where}: expected {type(default).__name__} like the default "
                             f"{default!r}, got {value!r}")
        out[key] = value
    return out


def _same_type(default: Any, value: Any) -> bool:
    if default is None or value is None:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple))
    return isinstance(value, type(default))


def implementation(name: str) -> type:
    """The class that renders scenario ``name`` (imports it if it was declared lazily)."""
    spec = scenario(name)
    if not spec.renders:
        raise ValueError(f"scenario {name!r} renders no videos (kind {spec.kind!r})")
    return _resolve(spec.implementation)


def train_entry(name: str) -> Callable[..., Any]:
    """The per-fold training function of learned generator ``name``."""
    spec = scenario(name)
    if not spec.learned:
        raise ValueError(f"generator {name!r} is not learned: it has nothing to train")
    return _resolve(spec.train)


def _resolve(target: Any) -> Any:
    if not isinstance(target, str):
        return target
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)
