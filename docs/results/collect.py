"""Copy a finished study's results into the docs, and refresh every quote of them.

    python docs/results/collect.py RESULTS NAME FILE [FILE ...]

copies ``RESULTS/provenance.json`` (written by the study's summary job: preset, commit, study code
version, machine, date, wall time) and each ``RESULTS/FILE`` (e.g. ``tables/table1.md``) into
``docs/results/NAME/``, then rewrites, in ``README.md`` and ``docs/*.md``, every block between

    <!-- include results/NAME/FILE -->
    <!-- end include -->

with that file's current text (a ``.json`` file as a fenced block). ``--refresh`` alone only
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


def main(results: Path, name: str, files: list[str]) -> None:
    target = DOCS / "results" / name
    target.mkdir(parents=True, exist_ok=True)
    for file in ["provenance.json", *files]:
        shutil.copyfile(results / file, target / Path(file).name)
        print(f"copied {results / file} -> {target / Path(file).name}")
    for page in pages():
        if refresh(page):
            print(f"refreshed the quotes in {page.relative_to(ROOT)}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--refresh"]:  # only the quotes, after a generated file changed
        for page in pages():
            refresh(page)
    elif len(sys.argv) < 3:
        raise SystemExit(__doc__)
    else:
        main(Path(sys.argv[1]), sys.argv[2], sys.argv[3:])
