"""Files as every part of the package writes and reads them: atomic writes (a killed job never leaves
a half file that looks complete), file locks (jobs that prepare the same data cache take turns), a
folder kept only for the job that made it, and loads of tensors and arrays that never run code.

The lowest layer of the package beside ``constants`` (``tests/test_layers.py``): the science (data
caches, a training's checkpoints, LOTS chunks) and the jobs use it; it imports nothing of the package.
"""

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
