"""Helpers over the workflow config (validated against workflow/schemas/config.schema.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def load_schema(path: str | Path) -> dict[str, Any]:
    with open(path) as fh:
        return yaml.safe_load(fh)


def explain_config_error(config: dict[str, Any], schema_path: str | Path) -> str:
    """One readable paragraph for the most relevant schema violation: the key's dotted path,
    what is wrong, and where the allowed keys are documented."""
    import jsonschema

    schema = load_schema(schema_path)
    validator_cls = jsonschema.validators.validator_for(schema)
    error = jsonschema.exceptions.best_match(validator_cls(schema).iter_errors(config))
    if error is None:
        return f"the config does not match {schema_path}"
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    return (
        f"invalid config at `{where}`: {error.message}. "
        f"Every key, its allowed values and its default are in "
        f"workflow/schemas/{Path(schema_path).name}."
    )
