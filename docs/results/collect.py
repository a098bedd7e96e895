"""Copy a finished study's results into the docs, and refresh every quote of them.

    python docs/results/collect.py RESULTS NAME FILE [FILE ...]
    python docs/results/collect.py --target CONFIG[,CONFIG ...] RESULTS NAME FILE [FILE ...]

copies ``RESULTS/provenance.json`` (written by the study's summary job: preset, commit, study code
version, machine, date, wall time) and each ``RESULTS/FILE`` (e.g. ``tables/table1.md``) into
``docs/results/NAME/``, then rewrites, in ``README.md`` and ``docs/*.md``, every block between

    <!-- include results/NAME/FILE -->
    <!-- end include -->

with that file's current text (a ``.json`` file as a fenced block). ``--target`` is for a run of one
target short of the study's summary (e.g. ``results/report/paper2_lenet.html``), which writes no
provenance: it is made here, as the summary job makes it, from the run's config files (the
comma-separated ``CONFIG`` list, in the order given to Snakemake) and its benchmark files; run it
with the run's own code first on the path (``PYTHONPATH=<run folder>/src``) so that the commit is the
run's. ``--refresh`` alone only
rewrites the blocks (e.g. after ``docs/config_keys.py``). ``tests/test_docs.py`` checks that
every such block equals its file, and that the default study's quoted results were made by the
current code.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]
ROOT = DOCS.parent
BLOCK = re.compile(r"(<!-- include (\S+) -->\n)(.*?)(<!-- end include -->)", re.S)


def quoted(path: Path) -> str:
    """What an include block holds for ``path``."""
    text = path.read_text()
    if path.suffix == ".json":
        text = f"```json\n{text.rstrip()}\n```\n"
    return text if text.endswith("\n") else text + "\n"


def refresh(page: Path) -> bool:
    """Rewrite the include blocks of ``page``; whether it changed."""
    text = page.read_text()
    new = BLOCK.sub(lambda m: m.group(1) + quoted(DOCS / m.group(2)) + m.group(4), text)
    if new != text:
        page.write_text(new)
    return new != text


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def target_provenance(results: Path, configs: list[str]) -> str:
    """The provenance of a run of one target (``advtransfer.report.provenance``): the jobs and wall
    time of the benchmark files below ``results/benchmarks``, the study code of the merged config."""
    import json

    import yaml
    from snakemake.utils import update_config, validate

    from advtransfer.code import code_version
    from advtransfer.report import cost_table, provenance, read_benchmarks
    from advtransfer.study import Study

    config: dict = {}
    for path in configs:
        update_config(config, yaml.safe_load(Path(path).read_text()))
    validate(config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))  # fills in the defaults
    study = Study.from_config(config)
    benchmarks = results / "benchmarks"
    cost = cost_table(read_benchmarks(str(benchmarks), list(config["datasets"])))
    code = code_version(*sorted((ROOT / "workflow" / "scripts").glob("*.py")), modules=study.code_modules())
    made = provenance(" + ".join(configs), config["seeds"], cost, str(benchmarks), code)
    return json.dumps(made, indent=1) + "\n"


def main(results: Path, name: str, files: list[str], target_of: list[str] | None = None) -> None:
    target = DOCS / "results" / name
    target.mkdir(parents=True, exist_ok=True)
    if target_of:
        (target / "provenance.json").write_text(target_provenance(results, target_of))
        print(f"made {target / 'provenance.json'} from {results / 'benchmarks'}")
    for file in ([] if target_of else ["provenance.json"]) + files:
        shutil.copyfile(results / file, target / Path(file).name)
        print(f"copied {results / file} -> {target / Path(file).name}")
    for page in pages():
        if refresh(page):
            print(f"refreshed the quotes in {page.relative_to(ROOT)}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--refresh"]:  # only the quotes, after a generated file changed
        for page in pages():
            refresh(page)
    elif sys.argv[1:2] == ["--target"] and len(sys.argv) >= 5:
        main(Path(sys.argv[3]), sys.argv[4], sys.argv[5:], target_of=sys.argv[2].split(","))
    elif len(sys.argv) < 3:
        raise SystemExit(__doc__)
    else:
        main(Path(sys.argv[1]), sys.argv[2], sys.argv[3:])
