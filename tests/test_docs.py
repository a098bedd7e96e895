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


def test_the_benchmarks_results_are_quoted_as_written_with_their_provenance():
    """benchmarks/_common.write_results writes benchmarks/results/<name>.json and its copy in docs/benchmarks/,
    which docs/benchmarks.md quotes; each says how it was made and whether it was a quick run."""
    results = sorted((ROOT / "benchmarks" / "results").glob("*.json"))
    assert results, "no benchmark results: run the benchmarks (--quick at least)"
    assert sorted(p.name for p in (DOCS / "benchmarks").glob("*.json")) == [p.name for p in results]
    page = (DOCS / "benchmarks.md").read_text()
    for path in results:
        assert (DOCS / "benchmarks" / path.name).read_text() == path.read_text(), (
            f"docs/benchmarks/{path.name} differs from {path.relative_to(ROOT)}")
        assert f"<!-- include benchmarks/{path.name} -->" in page, f"docs/benchmarks.md does not quote {path.name}"
        made = json.loads(path.read_text())
        assert made["benchmark"] == path.stem and isinstance(made["quick"], bool), path
        assert made["summary"] and isinstance(made["parameters"], dict), path
        provenance = made["provenance"]
        assert re.fullmatch(r"[0-9a-f]{40}", provenance["commit"]), path
        assert isinstance(provenance["uncommitted_changes"], bool), path
        for key in ("date", "machine", "torch", "command", "loadavg_start", "loadavg_end"):
            assert provenance.get(key) not in (None, ""), (path, key)


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


def test_every_guarantee_names_tests_that_exist():
    """Each row of running.md's Guarantees table names its tests (``file.py``, ``file.py::test``, or
    ``…::test`` for another test of the file named before it), and each named test exists."""
    text = (DOCS / "running.md").read_text()
    table = text.split("## Guarantees", 1)[1].split("\n\n**", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| event")]
    assert len(rows) >= 15, rows
    for row in rows:
        cell = row.rstrip(" |").rsplit(" | ", 1)[1]
        names = re.findall(r"`((?:test_\w+\.py|…)(?:::\w+)?)`", cell)
        assert names, f"a guarantee names no test: {row[:80]}"
        current = None
        for name in names:
            file, _, test = name.partition("::")
            current = current if file == "…" else file
            assert current and (ROOT / "tests" / current).is_file(), (row[:80], name)
            if test:
                assert re.search(rf"^def {test}\(", (ROOT / "tests" / current).read_text(), re.M), (current, test)


def test_a_run_of_one_target_gets_the_provenance_the_summary_would_write(tmp_path):
    """collect.py --target: a run short of the study summary (e.g. paper 2's Basic LeNet row) gets its
    provenance from its config files and benchmark files, as the summary job makes it."""
    bench = tmp_path / "benchmarks" / "train" / "digits" / "mlp" / "vanilla" / "seed0"
    bench.mkdir(parents=True)
    (bench / "none.tsv").write_text("s\th:m:s\tmax_rss\n12.5\t0:00:12\t100.0\n")
    (tmp_path / "benchmarks" / "train" / "cifar10").mkdir()  # another dataset's job is not counted
    (tmp_path / "benchmarks" / "train" / "cifar10" / "x.tsv").write_text("s\th:m:s\tmax_rss\n99.0\t0:01:39\t1.0\n")
    made = json.loads(collect.target_provenance(tmp_path, [str(ROOT / "config" / "config.yaml")]))
    assert made["jobs"] == 1 and made["jobs_wall_s"] == 12.5 and made["seeds"] == [0]
    assert made["study_code"] == default_study_code() and made["preset"].endswith("config/config.yaml")
