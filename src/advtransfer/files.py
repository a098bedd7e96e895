"""Files as every part of the package writes and reads them: atomic writes (a killed job or a full
disk never leaves a half file that looks complete; a full disk is one clear error naming the file and
the space left), file locks (jobs that prepare the same data cache take turns), a folder kept only for
the job that made it, and one loader of every file a job reads back (``read_back``: tensors, arrays,
sealed working files and tables), which never runs code and, for a damaged file, either makes way for
it to be made again (working files, caches) or names the file and what to delete.

The lowest layer of the package beside ``constants`` (``tests/test_layers.py``): the science (data
caches, a training's checkpoints, LOTS chunks) and the jobs use it; it imports nothing of the package.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import tempfile
from pathlib import Path


class FileProblem(Exception):
    """A problem with a file that the user fixes as the message says (a damaged file, a full disk):
    a job prints the message alone, one line, no traceback (``advtransfer.jobs.job``)."""


class UnsafeFileError(FileProblem, RuntimeError):
    """A file that cannot be loaded without running code, or is damaged; the message names it and says
    exactly what to delete."""


class DiskFullError(FileProblem, OSError):
    """A write that found no space left on its filesystem (``ENOSPC``, or a full quota); the message
    names the file and the space free there. Nothing of the file is left behind (``known``: the file
    is the one whose write failed; else the job's, where a library's write failed unnamed)."""

    def __init__(self, path: str | Path, code: int = errno.ENOSPC, known: bool = True):
        path = Path(path)
        super().__init__(code, os.strerror(code), str(path))
        free = f"{human_size(free_space(path.parent))} free on {mount_point(path.parent)}"
        self.message = (f"{path}: no space left on device ({free}); nothing of it was left behind: free some "
                        f"space there and run the workflow again" if known else
                        f"no space left on device while the job wrote its files ({path} among them; {free}): free "
                        f"some space there and run the workflow again")

    def __str__(self) -> str:
        return self.message


FULL = (errno.ENOSPC, errno.EDQUOT)


def free_space(folder: str | Path) -> int:
    """Bytes free on the filesystem of ``folder`` (or of its nearest existing parent)."""
    import shutil

    folder = Path(folder).absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free


def mount_point(folder: str | Path) -> Path:
    """The mount point of the filesystem that holds ``folder``."""
    folder = Path(folder).absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    while not os.path.ismount(folder):
        folder = folder.parent
    return folder


def human_size(n: float) -> str:
    """Bytes as people read them: 0 B, 812 B, 5.2 MB, 1.3 GB."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


TMP_SUFFIX = ".tmp"  # atomic_path's temporary files: ``.<name>.<random>.tmp`` beside the file


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside ``path`` (on the same filesystem); on success it is renamed onto
    ``path`` in one step. On failure the temporary file is removed: nothing is left behind, and a
    full disk raises ``DiskFullError`` naming ``path`` and the space free there."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    except OSError as err:
        if err.errno in FULL:
            raise DiskFullError(path, err.errno) from None
        raise
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give outputs the usual mode
        os.replace(tmp, path)
    except OSError as err:
        if err.errno in FULL and not isinstance(err, DiskFullError):
            with contextlib.suppress(OSError):
                os.remove(tmp)  # first, so that the free space reported counts it
            raise DiskFullError(path, err.errno) from None
        raise
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def remove_leftovers(folder: str | Path) -> None:
    """Remove the temporary files a killed job's ``atomic_path`` left in ``folder`` (a folder only that
    job writes: its checkpoints, its chunks)."""
    for tmp in Path(folder).glob(f".*{TMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            tmp.unlink()


def discard_stale(folder: str | Path, job: dict) -> None:
    """Keep ``folder`` (a job's checkpoints or finished chunks) only if it belongs to this exact
    ``job`` (plain values: parameters, inputs' digests, code version); else empty it. A job re-run
    after an interruption resumes from what it left; a job re-run after an edit starts afresh."""
    import json
    import shutil

    folder = Path(folder)
    stamp = folder / "job.json"
    current = json.dumps(job, sort_keys=True, default=str)
    if folder.exists() and (not stamp.exists() or stamp.read_bytes() != current.encode()):
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    remove_leftovers(folder)
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


# -- reading back -----------------------------------------------------------------------------------------

SEAL = "#sealed "  # the last line of a sealed text file: "#sealed <bytes> <sha256>" of what precedes it


READERS = {".pt": "torch", ".ckpt": "torch", ".npz": "npz", ".csv": "csv"}  # the kind of file a suffix names


def read_back(path: str | Path, kind: str | None = None, *, fields: tuple[str, ...] | list[str] | None = None,
              map_location="cpu", sealed: bool = False, dtype: dict | None = None, remake: bool = False,
              delete: str | Path | None = None):
    """Every file a job reads back, by ``kind`` (default: by its suffix, ``READERS``): "torch" (``.pt``,
    ``.ckpt``: tensors and plain values only, ``weights_only``), "npz" (numpy arrays, ``fields`` or
    all, never pickles), "csv" (a pandas table, ``dtype`` per column; ``sealed``: a working file
    written by ``save_sealed_csv``, whose seal proves it whole).

    A file that is damaged (cut short, garbled, a seal that does not match) or would need Python
    objects to load is never run. With ``remake`` (a working file or a cache, which its job makes
    again) it is deleted with a warning naming it, and None is returned; otherwise ``UnsafeFileError``
    names it and says exactly what to delete (``delete``: that, e.g. a checkpoint's folder; default
    the file itself) for the workflow to make it anew.
    """
    path = Path(path)
    kind = kind or READERS.get(path.suffix)
    if kind not in ("torch", "npz", "csv"):
        raise ValueError(f"{path}: no reader for {kind or path.suffix or 'a file without a suffix'}")
    try:
        if kind == "torch":
            return _torch(path, map_location)
        return _npz(path, fields) if kind == "npz" else _csv(path, sealed, dtype)
    except _Damaged as err:
        if remake:
            print(f"warning: {path} is damaged ({err}); deleting it to make it again", file=sys.stderr, flush=True)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            return None
        what = f"delete the folder {delete}" if delete and Path(delete).is_dir() else f"delete {delete or path}"
        raise UnsafeFileError(f"{path}: refused to load it: {err}. Files this project writes hold only plain "
                              f"values; {what} and run the workflow again to make it anew.") from None


NOT_DAMAGE = (FileNotFoundError, PermissionError, IsADirectoryError)  # errors that say nothing of a file's content


class _Damaged(Exception):
    """Why a file cannot be read safely (in the project's words: no message suggests loading unsafely)."""


def _first_sentence(text: str) -> str:
    text = " ".join(str(text).split())
    return text.split(". ")[0].rstrip(".") if text else ""


def _torch(path: Path, map_location):
    import pickle
    import re

    import torch

    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:  # torch's weights-only unpickler refused something
        found = re.search(r"WeightsUnpickler error:\s*(.+)", str(err))
        detail = _first_sentence(found.group(1)).split(" was not an allowed")[0] if found else ""
        raise _Damaged("it is damaged, or holds Python objects whose loading would run code"
                       + (f" ({detail})" if detail else "")) from None
    except (RuntimeError, EOFError, ValueError, OSError) as err:  # a cut or garbled archive (OSError: a seek
        if isinstance(err, NOT_DAMAGE):                             # before its start, looking for its end)
            raise
        raise _Damaged(f"it is cut short or damaged ({_first_sentence(err) or type(err).__name__})") from None


def _npz(path: Path, fields) -> dict:
    import zipfile

    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in fields or () if k not in f.files]
            if missing:
                raise _Damaged(f"it lacks {', '.join(missing)}")
            return {k: f[k] for k in (fields or f.files)}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
        if isinstance(err, NOT_DAMAGE):
            raise
        if "pickle" in str(err):  # numpy's own message names its unsafe switch: not repeated here
            raise _Damaged("it is damaged, or holds Python objects whose loading would run code") from None
        raise _Damaged(f"it is cut short or damaged ({_first_sentence(err) or type(err).__name__})") from None


def _csv(path: Path, sealed: bool, dtype):
    import io

    import pandas as pd

    source = io.BytesIO(_unseal(path.read_bytes())) if sealed else path
    try:
        return pd.read_csv(source, dtype=dtype, low_memory=False)  # one dtype per column, however long
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as err:
        raise _Damaged(f"it is not a readable table ({_first_sentence(err) or type(err).__name__})") from None


def _digest(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _unseal(data: bytes) -> bytes:
    body, _, last = data.rstrip(b"\n").rpartition(b"\n")
    body += b"\n"
    try:
        size, digest = last.decode("ascii").removeprefix(SEAL).split()
        whole = last.startswith(SEAL.encode()) and int(size) == len(body) and digest == _digest(body)
    except (UnicodeDecodeError, ValueError):
        whole = False
    if not whole:
        raise _Damaged("it is cut short or garbled (its seal does not match its content)")
    return body


def save_sealed_csv(path: str | Path, df) -> None:
    """A working table (a chunk of a job) as CSV, atomically, sealed: a last line with its length and
    SHA-256, which ``read_back(..., sealed=True)`` checks, so that a file cut short or garbled later
    (a crash mid-copy, a full disk) is never taken for a whole one."""
    body = df.to_csv(index=False, lineterminator="\n").encode()
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(body + f"{SEAL}{len(body)} {_digest(body)}\n".encode())


def load_torch(path: str | Path, map_location="cpu", **options):
    """``read_back`` of a torch file (``.pt``, ``.ckpt``): tensors and plain values only, never code."""
    return read_back(path, "torch", map_location=map_location, **options)


def save_npz(path: str | Path, **arrays) -> None:
    """numpy arrays into one uncompressed ``.npz``, atomically."""
    import numpy as np

    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


def load_npz(path: str | Path, fields: tuple[str, ...] | list[str] | None = None, **options) -> dict:
    """``read_back`` of an ``.npz`` this project wrote: its arrays (``fields``, or all), never pickles."""
    return read_back(path, "npz", fields=fields, **options)
