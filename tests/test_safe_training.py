"""Never lose a user's work, never run code on load (running.md, "Guarantees").

- a model or checkpoint carrying a pickle payload is refused, and the payload never runs;
- a job that finds a checkpoint holding every epoch writes its model and history from it;
- a training whose loss is not finite stops, naming the epoch, and writes no model;
- a model whose weights or outputs are not finite is refused by every job that loads one;
- a model or checkpoint cut short or holding random bytes is refused, naming it and what to delete;
- a changed recipe discards the old checkpoints;
- a full disk leaves no half checkpoint and says which file, and how much space is free;
- scores that are not finite before any optimiser step are told apart from a diverging training.
"""

import errno
import io
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from advtransfer.data import ImageSplits
from advtransfer.files import UnsafeFileError
from advtransfer.model_io import NonFiniteModelError, load_classifier
from advtransfer.training import NonFiniteLossError, epochs_done
from training_helpers import train as train_job

RECIPE = {"epochs": 2, "batch_size": 16, "optimizer": "sgd", "lr": 0.05}


def tiny_splits():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (96, 1, 8, 8), generator=g, dtype=torch.uint8)
    y = torch.arange(96) % 3
    x[y == 1, :, :4] = 255  # learnable
    return ImageSplits(x[:64], y[:64], x[64:], y[64:], ["a", "b", "c"])


def train(out: Path, recipe=RECIPE, **kwargs):
    return train_job(tiny_splits(), "mlp", None, recipe, out, accelerator="cpu", **kwargs)


class Payload:
    """Unpickling this object creates the file ``marker``: the side effect an attacker would use."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("trained") / "mlp"
    train(out, code="v1")
    return out


def test_a_checkpoint_with_a_pickle_payload_is_refused_and_never_runs(trained, tmp_path):
    out = tmp_path / "mlp"
    shutil.copytree(trained, out, symlinks=True)
    last = out / "checkpoints" / "last.ckpt"
    state = torch.load(last, weights_only=True)
    state["payload"] = Payload(tmp_path / "marker")
    last.unlink()  # a link to the newest epoch's file
    torch.save(state, last)
    (out / "model.pt").unlink()

    with pytest.raises(UnsafeFileError, match=str(last)):
        train(out, code="v1")  # the same job: it would resume from last.ckpt
    with pytest.raises(UnsafeFileError, match="delete"):
        epochs_done(last)
    assert not (tmp_path / "marker").exists()
    assert not (out / "model.pt").exists()


def test_a_model_with_a_pickle_payload_is_refused_and_never_runs(trained, tmp_path):
    from advtransfer.model_io import read_weights

    payload = torch.load(trained / "model.pt", weights_only=True)
    payload["meta"]["note"] = Payload(tmp_path / "marker")
    bad = tmp_path / "model.pt"
    torch.save(payload, bad)
    with pytest.raises(UnsafeFileError, match=str(bad)):
        load_classifier(bad)
    with pytest.raises(UnsafeFileError, match=str(bad)):
        read_weights(bad)  # a fine-tuning defence's starting classifier
    assert not (tmp_path / "marker").exists()


def test_a_complete_checkpoint_writes_the_outputs_of_an_uninterrupted_run(trained, tmp_path):
    """Killed after its last epoch (the checkpoint holds every epoch, model.pt and history.csv are
    missing): the re-run trains no epoch and writes the same weights and history."""
    out = tmp_path / "mlp"
    shutil.copytree(trained, out, symlinks=True)
    (out / "model.pt").unlink()
    (out / "history.csv").unlink()
    result = train(out, code="v1")
    assert result.resumed_from_epoch == RECIPE["epochs"]
    weights = torch.load(out / "model.pt", weights_only=True)["state_dict"]
    expected = torch.load(trained / "model.pt", weights_only=True)["state_dict"]
    assert weights.keys() == expected.keys() and all(torch.equal(weights[k], expected[k]) for k in expected)
    history, reference = pd.read_csv(out / "history.csv"), pd.read_csv(trained / "history.csv")
    columns = ["epoch", "train_loss", "test_accuracy", "lr"]
    pd.testing.assert_frame_equal(history[columns], reference[columns])
    assert result.test_accuracy == pytest.approx(reference["test_accuracy"].iloc[-1])


def test_a_new_training_code_version_retrains_from_scratch(trained, tmp_path):
    out = tmp_path / "mlp"
    shutil.copytree(trained, out, symlinks=True)
    (out / "model.pt").unlink()
    assert train(out, code="v2").resumed_from_epoch == 0


def test_a_diverging_training_stops_and_writes_no_model(tmp_path):
    out = tmp_path / "mlp"
    with pytest.raises(NonFiniteLossError, match=r"epoch 1: the training loss is nan .*Lower the learning rate"):
        train(out, {**RECIPE, "lr": 1.0e10})
    assert not (out / "model.pt").exists()
    assert not list((out / "checkpoints").glob("*.ckpt"))  # nothing to resume a diverged run from


def test_a_model_that_is_not_finite_is_refused_and_nothing_is_written(trained, tmp_path):
    from advtransfer.jobs.zero_shot import soft_labels_job

    payload = torch.load(trained / "model.pt", weights_only=True)
    name = next(k for k, v in payload["state_dict"].items() if v.is_floating_point())
    payload["state_dict"][name] = torch.full_like(payload["state_dict"][name], float("nan"))
    bad = tmp_path / "model.pt"
    torch.save(payload, bad)
    with pytest.raises(NonFiniteModelError, match=f"{bad}.*{name}"):
        load_classifier(bad)

    # Finite weights whose outputs overflow are refused too.
    payload = torch.load(trained / "model.pt", weights_only=True)
    last = [k for k in payload["state_dict"] if k.endswith("weight")][-1]
    payload["state_dict"][last] = torch.full_like(payload["state_dict"][last], 3.0e38)  # finite, sums overflow
    huge = tmp_path / "huge.pt"
    torch.save(payload, huge)
    with pytest.raises(NonFiniteModelError, match="its outputs"):
        load_classifier(huge)

    # A job that loads the model (soft-labels here; attacks and LOTS load the same way) writes nothing.
    out = tmp_path / "soft_labels.npz"
    with pytest.raises(NonFiniteModelError):
        soft_labels_job({"name": "digits", "data_dir": str(tmp_path / "data"), "download": False},
                        str(bad), str(trained / "model.pt"), 0, str(out))
    assert not out.exists()


@pytest.mark.parametrize("how", ["cut", "random bytes"])
def test_a_damaged_model_or_checkpoint_is_refused_naming_the_file(trained, tmp_path, how):
    """A model.pt or checkpoint cut short (a full disk, a crash mid-copy) or holding random bytes is
    refused with an error naming the file and what to delete; no message suggests loading it unsafely."""
    from advtransfer.model_io import read_weights

    def damage(path):
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 2] if how == "cut" else np.random.default_rng(0).bytes(len(data)))

    model = tmp_path / "model.pt"
    shutil.copy(trained / "model.pt", model)
    damage(model)
    for load in (load_classifier, read_weights):
        with pytest.raises(UnsafeFileError, match=f"{model}: .*delete {model}") as err:
            load(model)
        assert "weights_only" not in str(err.value) and "allow_pickle" not in str(err.value)

    out = tmp_path / "mlp"
    shutil.copytree(trained, out, symlinks=True)
    (out / "model.pt").unlink()
    last = out / "checkpoints" / "last.ckpt"
    damage(last.resolve())
    with pytest.raises(UnsafeFileError, match=f"{last}: .*delete the folder {out / 'checkpoints'}") as err:
        train(out, code="v1")  # the same job: it would resume from last.ckpt
    assert "weights_only" not in str(err.value)
    assert not (out / "model.pt").exists()


def test_a_changed_recipe_discards_the_old_checkpoints(trained, tmp_path):
    out = tmp_path / "mlp"
    shutil.copytree(trained, out, symlinks=True)
    before = {p.name: p.stat().st_mtime_ns for p in (out / "checkpoints").glob("*.ckpt")}
    old = torch.load(out / "model.pt", weights_only=True)["state_dict"]
    (out / "model.pt").unlink()
    result = train(out, {**RECIPE, "lr": 0.01}, code="v1")  # an edit of the recipe: the same folder
    assert result.resumed_from_epoch == 0
    after = {p.name: p.stat().st_mtime_ns for p in (out / "checkpoints").glob("*.ckpt")}
    assert set(after) == set(before)  # no "-v1" checkpoint beside an old one
    assert all(after[name] != before[name] for name in before)  # each one written by the new training
    assert torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)["hyper_parameters"]["recipe"]["lr"] == 0.01
    new = torch.load(out / "model.pt", weights_only=True)["state_dict"]
    assert any(not torch.equal(old[k], new[k]) for k in old)


class NearlyFullDisk:
    """A file that takes ``room`` more bytes, then fails as a full disk does (ENOSPC) after writing
    what fitted; it has no file descriptor to copy by (``shutil`` then copies through ``write``)."""

    def __init__(self, f, room: int):
        self.f, self.room = f, room

    def write(self, data):
        if len(data) > self.room:
            self.f.write(bytes(data)[:self.room])
            self.room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.f.write(data)

    def fileno(self):
        raise io.UnsupportedOperation("fileno")

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


def test_a_full_disk_leaves_no_half_checkpoint_and_says_which_file(tmp_path, monkeypatch):
    """The disk of the model's folder fills up while a checkpoint is written (the system's temporary
    folder, on another disk, has room): one clear error naming the file and the free space, nothing
    left behind, and once space is freed the training runs as if nothing had happened."""
    import builtins

    out = tmp_path / "mlp"
    checkpoints = (out / "checkpoints").resolve()
    real_open, real_rename = builtins.open, os.rename

    def full_open(file, mode="r", *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)
        inside = isinstance(file, (str, os.PathLike)) and Path(file).resolve().parent == checkpoints
        return NearlyFullDisk(f, 4096) if inside and "w" in mode else f

    def cross_device(src, dst, *args, **kwargs):  # the temporary folder is on another filesystem
        if Path(dst).resolve().parent == checkpoints and Path(src).resolve().parent != checkpoints:
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))
        return real_rename(src, dst, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", full_open)
    monkeypatch.setattr(os, "rename", cross_device)
    with pytest.raises(OSError) as err:
        train(out)
    monkeypatch.undo()
    message = str(err.value)
    assert err.value.errno == errno.ENOSPC and "\n" not in message
    assert re.match(rf"{re.escape(str(out / 'checkpoints'))}/epoch=0-step=\d+\.ckpt: no space left on device", message)
    assert re.search(r"[\d.]+ [KMGT]?B free on ", message), message
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["job.json"]  # nothing half written
    assert not (out / "model.pt").exists()

    result = train(out)  # space freed: the same job
    assert result.resumed_from_epoch == 0 and (out / "model.pt").exists()
    assert not [p.name for p in (out / "checkpoints").iterdir() if "-v" in p.name]


def test_a_model_that_outputs_nan_from_the_start_is_told_apart_from_a_diverging_training(tmp_path):
    """Scores that are not finite before any optimiser step point at the model or its inputs, not at
    the learning rate."""
    from advtransfer import training

    own = {"model": f"{Path(__file__).resolve().parent / 'own_model.py'}:NaNNet", "model_kwargs": {}}
    with pytest.raises(training.NonFiniteOutputError) as err:
        train(tmp_path / "nan", own_model=own)
    message = str(err.value)
    assert "learning rate" not in message and "before any optimiser step" in message
    assert "NaNNet" in message and "inputs" in message
    assert not (tmp_path / "nan" / "model.pt").exists()
    assert not list((tmp_path / "nan" / "checkpoints").glob("*.ckpt"))
