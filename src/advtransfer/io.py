"""What only the workflow's jobs do with files: the job's log (its stdout and stderr), the closing line
of a log saying what was written, and the project's one table writer (CSV and Markdown).

Lower-level file helpers (atomic writes, locks, safe loads) are in ``advtransfer.files``.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from advtransfer.files import atomic_path


@contextlib.contextmanager
def log_to(path: str | Path):
    """Send this process's stdout and stderr (Python and C level) to ``path`` while the block runs."""
    import sys

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "a") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def write_table(df, csv_path: str | Path, md_path: str | Path | None = None, digits: int = 4,
                markdown=None) -> None:
    """Write a pandas table as CSV (and Markdown: of ``df``, or of ``markdown``, the same table with
    cells formatted for reading), atomically: the project's one table writer. The job's log gets a
    line saying what was written."""
    with atomic_path(csv_path) as tmp:
        df.to_csv(tmp, index=False)
    if md_path is not None:
        with atomic_path(md_path) as tmp:
            shown = df if markdown is None else markdown
            Path(tmp).write_text(shown.to_markdown(index=False, floatfmt=f".{digits}f") + "\n")
    wrote(csv_path, *([md_path] if md_path else []), what=f"{len(df)} rows")


def wrote(*paths: str | Path, what: str = "") -> None:
    """The closing line of a job's log: which files it wrote (and what)."""
    import sys

    print(f"wrote {', '.join(map(str, paths))}" + (f" ({what})" if what else ""), file=sys.stderr, flush=True)
