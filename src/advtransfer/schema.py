"""The config's schema (``workflow/schemas/config.schema.yaml``): the one home of every default.

The Snakefile validates the config with Snakemake's ``validate``, which fills in the defaults.
``validated`` does the same for Python callers (tests, benchmarks), and ``defaults`` is what the
schema fills into a config that gives only what it requires: the defaults, read where they are kept.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path

SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"
ANY = "any"  # the dataset and architecture names of the config ``defaults`` fills in


def validated(config: dict) -> dict:
    """``config`` checked against the schema, its defaults filled in (in place, and returned), as
    the Snakefile does; a bad key or value raises Snakemake's ``WorkflowError`` naming it."""
    from snakemake.utils import validate

    validate(config, str(SCHEMA))
    return config


@functools.lru_cache(maxsize=1)
def _defaults() -> dict:
    return validated({"datasets": {ANY: {"architectures": {ANY: {"train": {"epochs": 1}}}, "lots": {}}}})


def defaults() -> dict:
    """The schema's defaults: a config of one dataset and one architecture (both named ``ANY``) with
    a ``lots`` section, as given only what the schema requires (``epochs``: 1), then validated."""
    return copy.deepcopy(_defaults())
