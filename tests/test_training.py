"""Training recipes (method §2): schedules by hand, and the speed options (channels-last, mixed
precision, data on the device) against the plain path.

Where an option only acts on a GPU (``data_on_device``), ``test_data.py`` checks its wiring with a
faked GPU; the comparison on a real one runs only where a GPU is present."""

import csv
import importlib.util
import math

import pytest
import torch

from advtransfer.data import ImageSplits
from advtransfer.model_io import load_classifier
from advtransfer.recipe import TrainRecipe
from advtransfer.training import HISTORY_COLUMNS, history
from training_helpers import train


def test_step_schedule_by_hand():
    r = TrainRecipe.from_config({"epochs": 200, "lr": 0.1, "lr_steps": [[80, 0.01], [150, 0.001]]})
    assert [r.lr * r.lr_factor(e) for e in (0, 79, 80, 149, 150, 199)] == pytest.approx(
        [0.1, 0.1, 0.01, 0.01, 0.001, 0.001])


def test_capsnet_exponential_schedule():
    r = TrainRecipe.from_config({"epochs": 50, "optimizer": "adam", "lr": 1.0e-3, "lr_exp_tau": 10.0})
    assert r.lr * r.lr_factor(10) == pytest.approx(1.0e-3 * math.exp(-1))


@pytest.mark.parametrize("bad", [{"epochs": 0}, {"epochs": 1, "optimizer": "rmsprop"}, {"epochs": 1, "lrr": 1}])
def test_bad_recipes(bad):
    with pytest.raises(ValueError):
        TrainRecipe.from_config(bad)


def tiny_splits():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (96, 1, 16, 16), generator=g, dtype=torch.uint8)
    y = torch.arange(96) % 3
    x[y == 1, :, :8] = 255  # learnable
    return ImageSplits(x[:64], y[:64], x[64:], y[64:], ["a", "b", "c"])


def trained_weights(tmp_path, architecture="convnet", **options):
    recipe = {"epochs": 2, "batch_size": 16, "optimizer": "sgd", "lr": 0.05, **options}
    out = tmp_path / "_".join([architecture, *options])
    train(tiny_splits(), architecture, None, recipe, out, accelerator="cpu")
    return torch.load(out / "model.pt", weights_only=True)["state_dict"]


def test_channels_last_trains_the_same_weights(tmp_path):
    """LeNet (no dropout, whose masks would follow the memory layout): the same weights after
    training, up to the convolutions' summation order; the NHWC run really kept its weights NHWC."""
    plain = trained_weights(tmp_path, architecture="lenet")
    nhwc = trained_weights(tmp_path, architecture="lenet", channels_last=True)
    convs = [name for name, value in plain.items() if value.ndim == 4]
    assert convs and all(plain[name].is_contiguous() for name in convs)
    assert all(nhwc[name].is_contiguous(memory_format=torch.channels_last) for name in convs)
    assert not all(nhwc[name].is_contiguous() for name in convs)  # 6 → 16 channels: not NCHW
    for name in plain:
        torch.testing.assert_close(nhwc[name].contiguous(), plain[name], atol=1e-4, rtol=1e-3)


def test_channels_last_forward_is_the_same():
    from advtransfer.models import build_classifier

    torch.manual_seed(0)
    model = build_classifier("convnet", 3, 16, 10, [0.5] * 3, [0.25] * 3).eval()
    x = torch.rand(4, 3, 16, 16)
    expected = model(x)
    model.to(memory_format=torch.channels_last)
    nhwc = x.contiguous(memory_format=torch.channels_last)
    assert not nhwc.is_contiguous() and not model.body[0].weight.is_contiguous()  # another memory layout
    torch.testing.assert_close(model(nhwc), expected, atol=1e-5, rtol=1e-5)


def class_1_predicted(model_file) -> torch.Tensor:
    """Where a classifier of ``tiny_splits`` predicts the learnable class 1 on the test images."""
    model = load_classifier(model_file)[0]
    with torch.no_grad():
        return model(tiny_splits().test_x.float() / 255).argmax(1) == 1


def test_bf16_mixed_precision_trains_float32_weights_that_learn_the_same_class(tmp_path):
    """bf16 autocast runs on the CPU too: other weights than full precision's, kept in float32, and
    the same learnable class recognised on every test image."""
    plain = trained_weights(tmp_path, architecture="lenet")
    mixed = trained_weights(tmp_path, architecture="lenet", precision="bf16-mixed")
    assert all(mixed[name].dtype == value.dtype for name, value in plain.items())
    assert not torch.equal(mixed["body.0.weight"], plain["body.0.weight"])  # bf16 arithmetic really ran
    expected = tiny_splits().test_y == 1
    assert torch.equal(class_1_predicted(tmp_path / "lenet_precision" / "model.pt"), expected)
    assert torch.equal(class_1_predicted(tmp_path / "lenet" / "model.pt"), expected)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU: on a CPU there is no other device")
def test_tensor_loader_on_a_gpu_gives_the_same_batches():
    s = tiny_splits()
    on_cpu = list(s.train_loader(None, 16, seed=3))
    moved = s.train_loader(None, 16, seed=3)
    moved.dataset.to("cuda")
    on_gpu = list(moved)
    assert len(on_gpu) == len(on_cpu) and all(x.is_cuda and y.is_cuda for x, y in on_gpu)
    for (xa, ya), (xb, yb) in zip(on_cpu, on_gpu):
        assert torch.equal(xa, xb.cpu()) and torch.equal(ya, yb.cpu())


def test_jobs_use_the_threads_snakemake_gives_them(monkeypatch):
    import os

    from advtransfer.jobs import use_threads

    threads = torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "8")
    try:
        use_threads(1)
        assert torch.get_num_threads() == 1 and os.environ["OMP_NUM_THREADS"] == "1"
    finally:
        torch.set_num_threads(threads)


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_a_training_logs_with_lightnings_loggers_and_its_history_is_what_they_hold(tmp_path):
    """Lightning's CSV logger (and TensorBoard's, where installed) writes into the model's folder, one
    row per epoch; history.csv holds those rows, as logged, in its columns. A re-run of the finished
    training (resumed from its last checkpoint) logs anew in a new version and keeps one row per epoch."""
    out = tmp_path / "mlp"
    recipe = {"epochs": 2, "batch_size": 16, "optimizer": "sgd", "lr": 0.05, "lr_steps": [[1, 0.01]]}
    train(tiny_splits(), "mlp", None, recipe, out, accelerator="cpu")
    logs = out / "logs"
    logged = rows(logs / "csv" / "version_0" / "metrics.csv")
    assert (logs / "csv" / "version_0" / "hparams.yaml").is_file()
    if importlib.util.find_spec("tensorboard") is not None:
        assert list((logs / "tensorboard").rglob("events.out.tfevents.*"))
    with open(out / "history.csv", newline="") as f:
        assert next(csv.reader(f)) == HISTORY_COLUMNS
    written = rows(out / "history.csv")
    assert written == [{k: row[k] for k in HISTORY_COLUMNS} for row in logged]
    assert [r["epoch"] for r in written] == ["1", "2"] and float(written[1]["lr"]) == pytest.approx(0.01)
    assert all(0 <= float(r["test_accuracy"]) <= 1 and float(r["train_loss"]) > 0 for r in written)

    result = train(tiny_splits(), "mlp", None, recipe, out, accelerator="cpu")
    assert result.resumed_from_epoch == 2 and (logs / "csv" / "version_1").is_dir()
    assert rows(out / "history.csv") == written
    # a run resumed after epoch 1 logs epoch 2 again in its version: the last row of an epoch counts
    again = {**logged[1], "train_loss": "0.5", "step": "1"}
    with open(logs / "csv" / "version_1" / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(again))
        writer.writeheader()
        writer.writerow(again)
    assert history(out) == [written[0], {**written[1], "train_loss": "0.5"}]
