"""The one loader of what jobs read back (``files.read_back``) and the atomic writes (``files.atomic_path``):
a damaged or unsafe file is never loaded, is named with what to delete (or is deleted to be made
again), no message suggests loading a file unsafely, and a full disk leaves nothing behind and says
so in one line."""

import errno
import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from advtransfer import files
from advtransfer.files import DiskFullError, UnsafeFileError, read_back
from workflow_helpers import ROOT

UNSAFE_ADVICE = ("allow_pickle", "weights_only=False", "`weights_only` set to `False`", "safe_globals",
                 "if you trust")


class Payload:
    def __reduce__(self):
        return (os.getcwd, ())


def write(path: Path, kind: str) -> Path:
    if kind == "torch":
        torch.save({"w": torch.arange(5000.0), "meta": {"a": 1}}, path)
    elif kind == "npz":
        files.save_npz(path, a=np.arange(5000), b=np.ones((40, 40), np.uint8))
    else:
        files.save_sealed_csv(path, pd.DataFrame({"x": range(500), "y": [f"v{i}" for i in range(500)]}))
    return path


DAMAGES = {
    "cut": lambda data: data[:len(data) // 2],
    "random bytes": lambda data: np.random.default_rng(1).bytes(len(data)),
    "garbled middle": lambda data: data[:200] + bytes(300) + data[500:],
    "empty": lambda data: b"",
}
KINDS = {"torch": "model.pt", "npz": "set.npz", "csv": "chunk.csv"}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("how", DAMAGES)
def test_a_damaged_file_is_refused_naming_it_and_what_to_delete(tmp_path, kind, how):
    path = write(tmp_path / KINDS[kind], kind)
    whole = read_back(path, sealed=True)
    path.write_bytes(DAMAGES[how](path.read_bytes()))
    with pytest.raises(UnsafeFileError, match=f"^{path}: refused to load it: .*delete {path} and run the workflow") \
            as err:
        read_back(path, sealed=True)
    assert not any(advice in str(err.value) for advice in UNSAFE_ADVICE), err.value
    assert "\n" not in str(err.value)
    assert path.exists()  # what the user must see is left for them to delete
    assert whole is not None


@pytest.mark.parametrize("kind", KINDS)
def test_a_damaged_working_file_is_deleted_with_a_warning_to_be_made_again(tmp_path, capsys, kind):
    path = write(tmp_path / KINDS[kind], kind)
    path.write_bytes(path.read_bytes()[:100])
    assert read_back(path, sealed=True, remake=True) is None
    assert not path.exists() and capsys.readouterr().err.startswith(f"warning: {path} is damaged (")


@pytest.mark.parametrize("kind", ["torch", "npz"])
def test_a_file_holding_python_objects_never_runs_them(tmp_path, kind):
    path = tmp_path / KINDS[kind]
    if kind == "torch":
        torch.save({"payload": Payload()}, path)
    else:
        np.savez(path, a=np.array([Payload()], dtype=object))
    with pytest.raises(UnsafeFileError, match="Python objects whose loading would run code") as err:
        read_back(path)
    assert not any(advice in str(err.value) for advice in UNSAFE_ADVICE), err.value


def test_the_seal_of_a_working_table_is_checked_and_a_table_reads_back_unchanged(tmp_path):
    df = pd.DataFrame({"eps": pd.array([1, None, 3], dtype="Int64"), "x": [0.1, 1 / 3, 2e-9]})
    path = tmp_path / "chunk.csv"
    files.save_sealed_csv(path, df)
    pd.testing.assert_frame_equal(read_back(path, sealed=True, dtype={"eps": "Int64"}), df)
    text = path.read_text().splitlines()
    path.write_text("\n".join(text[:1] + text[2:]) + "\n")  # a whole row lost, the rest intact
    with pytest.raises(UnsafeFileError, match="seal does not match"):
        read_back(path, sealed=True)


def test_no_message_of_the_package_suggests_loading_a_file_unsafely():
    for path in sorted((ROOT / "src").rglob("*.py")):
        for line in path.read_text().splitlines():
            if "allow_pickle" in line:
                assert "allow_pickle=False" in line, f"{path}: {line.strip()}"
            assert "weights_only=False" not in line, f"{path}: {line.strip()}"


def full_disk(monkeypatch, room: int = 100):
    """Writes of more than ``room`` bytes through ``open`` fail with ENOSPC after what fitted."""
    import builtins

    real_open = builtins.open

    class Full:
        def __init__(self, f):
            self.f, self.room = f, room

        def write(self, data):
            if len(data) > self.room:
                self.f.write(data[:self.room])
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self.room -= len(data)
            return self.f.write(data)

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(builtins, "open", lambda f, mode="r", *a, **k: (
        Full(real_open(f, mode, *a, **k)) if "w" in mode else real_open(f, mode, *a, **k)))


def test_a_full_disk_leaves_nothing_behind_and_says_which_file_and_how_much_is_free(tmp_path, monkeypatch):
    out = tmp_path / "results" / "table.csv"
    out.parent.mkdir()
    full_disk(monkeypatch)
    with pytest.raises(DiskFullError) as err, files.atomic_path(out) as tmp, open(tmp, "w") as f:
        f.write("x" * 1000)
    monkeypatch.undo()
    free = shutil.disk_usage(tmp_path).free
    message = str(err.value)
    assert message.startswith(f"{out}: no space left on device (") and "\n" not in message
    assert f"free on {files.mount_point(tmp_path)}" in message
    assert files.human_size(free).split()[1] in message
    assert err.value.errno == errno.ENOSPC and isinstance(err.value, OSError)
    assert list(out.parent.iterdir()) == []  # no partial file, no temporary file


def test_a_job_ends_a_file_problem_with_its_message_alone(tmp_path, capsys):
    from advtransfer.jobs import job

    log = tmp_path / "job.log"
    smk = SimpleNamespace(log=[str(log)], resources={}, threads=1)
    with pytest.raises(SystemExit) as exit_, job(smk):
        raise DiskFullError(tmp_path / "model.pt")
    assert exit_.value.code == 1
    lines = log.read_text().splitlines()
    assert lines == [f"error: {tmp_path / 'model.pt'}: no space left on device " + lines[0].split(" device ", 1)[1]]
    assert capsys.readouterr().err.strip() == lines[0]


def test_helpers_measure_sizes_as_people_read_them():
    assert [files.human_size(n) for n in (0, 812, 5_200_000, 1.3e9)] == ["0 B", "812 B", "5.2 MB", "1.3 GB"]


def test_a_killed_writers_temporary_files_are_cleared_from_a_job_folder(tmp_path):
    folder = tmp_path / "chunks"
    files.discard_stale(folder, {"a": 1})
    (folder / ".chunk_000001.npz.x1y2.tmp").write_bytes(b"half")
    files.discard_stale(folder, {"a": 1})
    assert sorted(p.name for p in folder.iterdir()) == ["job.json"]


def test_a_full_disk_met_by_a_library_write_is_one_line_too(tmp_path, capsys):
    """A write outside the project's atomic writes (Lightning's CSV log, say) that finds the disk full."""
    from advtransfer.jobs import job

    log, out = tmp_path / "job.log", tmp_path / "results" / "model.pt"
    smk = SimpleNamespace(log=[str(log)], output=[str(out)], resources={}, threads=1)
    with pytest.raises(SystemExit), job(smk):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    line = capsys.readouterr().err.strip()
    assert line.startswith(f"error: no space left on device while the job wrote its files ({out} among them; ")
    assert "\n" not in line and "free on" in line
