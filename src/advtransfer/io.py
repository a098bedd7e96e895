"""Atomic file writes (a killed job never leaves a half file that looks complete) and file locks."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path`` in one step."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give outputs the usual mode
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def discard_stale(folder: str | Path, job: dict) -> None:
    """Keep ``folder`` (a job's checkpoints or finished chunks) only if it belongs to this exact
    ``job`` (plain values: parameters, inputs' digests, code version); else empty it. A job re-run
    after an interruption resumes from what it left; a job re-run after an edit starts afresh."""
    import json
    import shutil

    folder = Path(folder)
    stamp = folder / "job.json"
    current = json.dumps(job, sort_keys=True, default=str)
    if folder.exists() and (not stamp.exists() or stamp.read_text() != current):
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if not stamp.exists():
        with atomic_path(stamp) as tmp:
            tmp.write_text(current)


def file_digest(*paths: str | Path | None) -> str | None:
    """SHA-256 of files (a fine-tuning's starting classifier, its examples): an input made anew
    invalidates what was made from the old one. None without files."""
    import hashlib

    paths = [Path(p) for p in paths if p and Path(p).exists()]
    if not paths:
        return None
    h = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 24), b""):
                h.update(block)
    return h.hexdigest()


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


@contextlib.contextmanager
def file_lock(path: str | Path):
    """Hold an exclusive lock on ``path`` (created, with its folder, if needed) while the block runs.

    Jobs that prepare the same files (unpacking a dataset, building a cache) take turns. Where the
    lock file cannot be made (a read-only folder, a system without ``fcntl``) the block runs unlocked:
    nothing can be written there either.
    """
    try:
        import fcntl

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except (ImportError, OSError):
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


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


class UnsafeFileError(RuntimeError):
    """A file that cannot be loaded without running code (or is damaged); the message names it."""


def load_torch(path: str | Path, map_location="cpu"):
    """``torch.load`` with ``weights_only=True``: tensors and plain values only, never code.

    A file that would need more (a pickled object whose loading runs code) or that is damaged
    raises ``UnsafeFileError`` naming the file and what to do.
    """
    import pickle

    import torch

    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, EOFError, RuntimeError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UnsafeFileError(
            f"{path}: refused to load: it is damaged or holds Python objects that loading would run as code "
            f"({reason}). Files this project writes hold only tensors and plain values: delete {path} and run "
            f"the workflow again to make it anew.") from None


def save_npz(path: str | Path, **arrays) -> None:
    """numpy arrays into one uncompressed ``.npz``, atomically."""
    import numpy as np

    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


def load_npz(path: str | Path, fields: tuple[str, ...] | list[str] | None = None) -> dict:
    """The arrays (``fields``, or all) of an ``.npz`` this project wrote, read without pickles.

    A damaged file, one that holds Python objects, or one that lacks a field raises
    ``UnsafeFileError`` naming the file and what to do.
    """
    import zipfile

    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in fields or () if k not in f.files]
            if missing:
                raise KeyError(f"it lacks {', '.join(missing)}")
            return {k: f[k] for k in (fields or f.files)}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as err:
        reason = str(err).strip().splitlines()[0].split(". If you trust")[0] if str(err).strip() else type(err).__name__
        raise UnsafeFileError(
            f"{path}: cannot be read ({reason}); files this project writes hold plain arrays only: delete "
            f"{path} and run the workflow again to make it anew.") from None
