"""The docs quote results the workflow wrote (docs/results/collect.py), never pasted by hand, and the
default study's quoted results are those the current code and config make."""

import importlib.util
import json
import re

import yaml
from snakemake.utils import validate

from advtransfer.code import code_version
from advtransfer.study import Study
from workflow_helpers import ROOT

DOCS = ROOT / "docs"
spec = importlib.util.spec_from_file_location("collect", DOCS / "results" / "collect.py")
collect = importlib.util.module_from_spec(spec)
spec.loader.exec_module(collect)


def test_every_quote_in_the_docs_equals_the_file_it_quotes():
    blocks = [(page, m) for page in collect.pages() for m in collect.BLOCK.finditer(page.read_text())]
    assert blocks, "the docs quote no results"
    for page, m in blocks:
        source = DOCS / m.group(2)
        assert source.is_file(), f"{page.name} quotes {m.group(2)}, which does not exist"
        assert m.group(3) == collect.quoted(source), (
            f"{page.name}: the quote of {m.group(2)} differs from the file: run docs/results/collect.py")


def test_quoted_results_say_where_and_when_they_were_made():
    for path in (DOCS / "results").glob("*/provenance.json"):
        made = json.loads(path.read_text())
        assert re.fullmatch(r"[0-9a-f]{40}", made["commit"]), path
        for key in ("preset", "study_code", "date", "machine", "jobs", "jobs_wall_s", "span_s", "seeds"):
            assert made.get(key) not in (None, ""), (path, key)


def default_study_code() -> str:
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    validate(config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))  # fills in the defaults
    scripts = sorted((ROOT / "workflow" / "scripts").glob("*.py"))
    return code_version(*scripts, modules=Study.from_config(config).code_modules())


def test_the_default_studys_quoted_results_are_what_the_current_code_makes():
    """The default study's tables in the docs were made by code whose version (every job script and
    every module its jobs import, docstrings aside) equals the current one, from the current
    config/config.yaml: else the quoted numbers may have drifted; run the default study (make run)
    and docs/results/collect.py again."""
    made = json.loads((DOCS / "results" / "default" / "provenance.json").read_text())
    assert made["preset"] == "config/config.yaml"
    assert made["study_code"] == default_study_code(), (
        "code that makes the default study's results changed since the quoted run: re-run it and "
        "python docs/results/collect.py results default tables/...")


def test_the_table_of_config_keys_is_the_schemas():
    spec = importlib.util.spec_from_file_location("config_keys", DOCS / "config_keys.py")
    keys = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(keys)
    assert keys.OUT.read_text() == keys.table(), "run python docs/config_keys.py"
