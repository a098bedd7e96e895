"""Class removal, label remap, evaluation sets, the loaders' order and dataset loading (method §1)."""

import csv
from pathlib import Path

import lightning as L
import pytest
import torch
from PIL import Image

from advtransfer.data import DatasetNotFoundError, ImageSplits, load_dataset, remap_labels, tensor_loader, without_class
from advtransfer.data.datamodule import TrainingData
from advtransfer.data.subimagenet import SubImageNetSplits
from workflow_helpers import TEST_DATA, idx_count, link_raw


def test_remap_labels_by_hand():
    y = torch.tensor([0, 1, 3, 4, 9])
    assert remap_labels(y, 2).tolist() == [0, 1, 2, 3, 8]


def test_without_class_drops_and_remaps():
    y = torch.tensor([0, 1, 2, 1, 0, 2])
    index, labels = without_class(y, 1)
    assert index.tolist() == [0, 2, 4, 5] and labels.tolist() == [0, 1, 0, 1]
    index, labels = without_class(y, None)
    assert index.tolist() == list(range(6)) and torch.equal(labels, y)


# A hand-made set of 3 classes: each image is one grey value, its identity (train 0..7, test 100..103).
TRAIN_Y, TEST_Y = [0, 1, 2, 0, 1, 2, 0, 1], [2, 0, 1, 2]
TRAIN_V, TEST_V = list(range(8)), list(range(100, 104))


def in_memory():
    def images(values):
        return torch.tensor(values, dtype=torch.uint8).view(-1, 1, 1, 1).expand(-1, 1, 4, 4).contiguous()

    return ImageSplits(images(TRAIN_V), torch.tensor(TRAIN_Y), images(TEST_V), torch.tensor(TEST_Y), ["a", "b", "c"])


def in_folders(root: Path) -> SubImageNetSplits:
    """The same set as image files (lossless PNG) in the ImageNet layout, one wnid per class."""
    wnids = ["n00000001", "n00000002", "n00000003"]
    with open(root / "mapping.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["wnid", "name", "superclass"])
        writer.writerows([w, w, c] for w, c in zip(wnids, "abc"))
    for split, values, labels in (("train", TRAIN_V, TRAIN_Y), ("val", TEST_V, TEST_Y)):
        for value, label in zip(values, labels):
            folder = root / "imagenet" / split / wnids[label]
            folder.mkdir(parents=True, exist_ok=True)
            Image.new("L", (6, 6), value).save(folder / f"{value:03d}.png")
    return SubImageNetSplits(root / "imagenet", mapping=root / "mapping.csv", image_size=4, num_workers=0)


@pytest.fixture(params=["in memory", "in folders"])
def tiny(request, tmp_path):
    return in_memory() if request.param == "in memory" else in_folders(tmp_path)


def samples(loader) -> list[tuple[int, int]]:
    """(identity, label) of each sample of a loader's pass, in order; checks the images' type."""
    out = []
    for x, y in loader:
        assert x.dtype == torch.float32 and x.shape[2:] == (4, 4)
        out += zip((x[:, 0, 0, 0] * 255).round().int().tolist(), y.tolist())
    return out


def test_class_removal_and_evaluation_set_by_hand(tiny):
    """The same functions serve both sources: class 1 removed, 2 → 1; Eᵢ from train then test."""
    train = samples(tiny.train_loader(1, batch_size=3, seed=0))
    assert sorted(train) == [(0, 0), (2, 1), (3, 0), (5, 1), (6, 0)]
    test = samples(tiny.test_loader(1, batch_size=3))
    assert sorted(test) == [(100, 1), (101, 0), (103, 1)]
    evaluation = samples(tiny.evaluation_loader(2, batch_size=3))
    assert sorted(evaluation) == [(2, 2), (5, 2), (100, 2), (103, 2)]
    assert [v < 100 for v, _ in evaluation] == [True, True, False, False]  # the train samples first
    assert sorted(samples(tiny.train_loader(None, batch_size=4))) == sorted(zip(TRAIN_V, TRAIN_Y))
    with pytest.raises(ValueError):
        tiny.evaluation_loader(3, batch_size=4)


def test_in_memory_loaders_keep_the_order_of_the_splits():
    s = in_memory()
    assert samples(s.test_loader(0, batch_size=3)) == [(100, 1), (102, 0), (103, 1)]
    assert samples(s.evaluation_loader(2, batch_size=3)) == [(2, 2), (5, 2), (100, 2), (103, 2)]


def test_a_shuffled_pass_skips_a_last_batch_of_one(tiny):
    # 5 training samples without class 1: batches of 2 leave one, which batch norm cannot train on
    assert [len(y) for _, y in tiny.train_loader(1, batch_size=2, seed=0)] == [2, 2]
    assert len(tiny.train_loader(1, batch_size=2)) == 2
    assert [len(y) for _, y in tiny.train_loader(1, batch_size=3)] == [3, 2]
    assert [len(y) for _, y in tiny.test_loader(None, batch_size=3)] == [3, 1]  # evaluation keeps all


def order(splits, seed: int, epoch: int) -> list[int]:
    loader = splits.train_loader(None, batch_size=3, seed=seed)
    loader.sampler.set_epoch(epoch)
    return [v for v, _ in samples(loader)]


def test_the_order_of_an_epoch_is_a_function_of_seed_and_epoch(tiny):
    first = [order(tiny, 5, e) for e in range(4)]
    assert [order(tiny, 5, e) for e in (3, 2, 1, 0)] == first[::-1]  # not of the epochs before
    assert len({tuple(o) for o in first}) > 1  # reshuffled every epoch
    assert [order(tiny, 6, e) for e in range(4)] != first
    loader = tiny.train_loader(None, batch_size=3, seed=5)
    loader.sampler.set_epoch(2)
    assert samples(loader) == samples(loader)  # a second pass of the same epoch repeats it


def test_reading_a_loader_leaves_the_global_generator_alone(tiny):
    """Dropout draws from torch's global generator: reading the training, test or evaluation loader
    must not move it, or a model's training would depend on how often they were read."""
    state = torch.get_rng_state()
    for loader in (tiny.train_loader(None, batch_size=3, seed=5), tiny.test_loader(None, batch_size=3),
                   tiny.evaluation_loader(1, batch_size=3)):
        samples(loader)
    assert torch.equal(torch.get_rng_state(), state)


class Recorder(L.LightningModule):
    """Records the identities of each epoch's training batches."""

    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(1, 1)
        self.seen: dict[int, list[int]] = {}

    def training_step(self, batch, batch_idx):
        x, _ = batch
        self.seen.setdefault(self.current_epoch, []).extend((x[:, 0, 0, 0] * 255).round().int().tolist())
        return self.layer(x[:, :1, 0, 0]).sum()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.0)


def fit(tmp_path, epochs: int, resume: Path | None = None) -> dict[int, list[int]]:
    module = Recorder()
    trainer = L.Trainer(max_epochs=epochs, accelerator="cpu", logger=False, enable_progress_bar=False,
                        enable_model_summary=False, limit_val_batches=0, default_root_dir=tmp_path,
                        use_distributed_sampler=False)
    trainer.fit(module, datamodule=TrainingData(in_memory(), None, batch_size=3, seed=4), ckpt_path=resume)
    return module.seen


def test_a_resumed_fit_shuffles_as_an_uninterrupted_one(tmp_path):
    """Lightning tells the loader each epoch's number: resuming after epoch 2 gives epochs 3–4 the order
    they have in a run of 4 epochs."""
    whole = fit(tmp_path / "whole", 4)
    fit(tmp_path / "cut", 2)
    checkpoint = next((tmp_path / "cut").rglob("*.ckpt"))
    resumed = fit(tmp_path / "resumed", 4, resume=checkpoint)
    assert sorted(resumed) == [2, 3] and resumed == {e: whole[e] for e in (2, 3)}
    assert whole[2] != whole[3]


class FakeTrainer:
    """What ``TrainingData`` asks of a trainer: one process on ``device``."""

    global_rank, world_size = 0, 1

    def __init__(self, device: str):
        self.strategy = type("Strategy", (), {"root_device": torch.device(device)})()


def test_data_on_device_follows_the_trainer_not_the_machine(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # a GPU in the machine, none for the job
    data = TrainingData(in_memory(), None, batch_size=3, data_on_device=True)
    data.trainer = FakeTrainer("cpu")
    assert data.train_dataloader().dataset.x.device.type == "cpu"
    assert data.val_dataloader().dataset.x.device.type == "cpu"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_data_on_device_keeps_in_memory_data_on_the_gpu():
    data = TrainingData(in_memory(), None, batch_size=3, data_on_device=True)
    data.trainer = FakeTrainer("cuda:0")
    x, y = next(iter(data.train_dataloader()))
    assert x.is_cuda and y.is_cuda


def test_tensor_loader_takes_float_sets_and_keeps_them_intact():
    x = torch.tensor([0.5, 254.5]).repeat(10).view(20, 1, 1, 1)
    before = x.clone()
    batches = list(tensor_loader(x, torch.zeros(20), 8, shuffle=True))
    assert [len(b) for b, _ in batches] == [8, 8, 4] and all(b.max() <= 1 for b, _ in batches)
    assert torch.equal(x, before)


def test_digits_is_real_and_split():
    s = load_dataset("digits")
    assert (len(s.train_y), len(s.test_y)) == (1437, 360)
    assert s.train_x.shape[1:] == (1, 8, 8) and s.train_x.max() == 255
    assert sorted(s.test_y.unique().tolist()) == list(range(10))


def test_missing_dataset_names_the_files(tmp_path):
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("fashion_mnist", tmp_path, download=False)
    message = str(err.value)
    assert "train-images-idx3-ubyte.gz" in message and str(tmp_path / "FashionMNIST" / "raw") in message


def test_the_shipped_test_data_are_the_files_their_readme_lists():
    """tests/data holds real subsets with their md5s; a damaged or replaced file is caught here."""
    import hashlib
    import re

    readme = (TEST_DATA / "README.md").read_text() if (TEST_DATA / "README.md").exists() else ""
    listed = dict((name, md5) for md5, name in re.findall(r"^([0-9a-f]{32})  (\S+)$", readme, re.M))
    if TEST_DATA.name != "data" or not listed:
        pytest.skip(f"ADVTRANSFER_TEST_DATA names {TEST_DATA}: the full files, not the shipped subsets")
    assert len(listed) == 8
    for name, md5 in listed.items():
        assert hashlib.md5((TEST_DATA / name).read_bytes()).hexdigest() == md5, name
    assert idx_count("mnist", "train-images-idx3-ubyte.gz") == idx_count("mnist", "train-labels-idx1-ubyte.gz")


def test_unknown_dataset_lists_known_ones():
    with pytest.raises(KeyError, match="known: .*digits"):
        load_dataset("imagenet21k")


def test_fashion_mnist_offline_from_official_files(tmp_path):
    link_raw(tmp_path, "FashionMNIST", "fashion-mnist")
    s = load_dataset("fashion_mnist", tmp_path, download=True, train_limit=1000, test_limit=100)
    assert (len(s.train_y), len(s.test_y)) == (1000, 100)
    assert s.class_names[0] == "T-shirt/top" and s.image_size == 28


def test_atomic_outputs_have_the_usual_mode(tmp_path):
    import os

    from advtransfer.files import atomic_path

    with atomic_path(tmp_path / "out.csv") as tmp:
        tmp.write_text("a\n")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "out.csv").stat().st_mode & 0o777 == 0o666 & ~mask
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]  # no temporary file left behind


def _link_fashion_mnist(data_dir: Path) -> Path:
    return link_raw(data_dir, "FashionMNIST", "fashion-mnist")


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs Linux's list of file locks")
def test_jobs_starting_together_take_turns_unpacking(tmp_path):
    """A job that finds another unpacking the dataset waits for it instead of reading half-written files."""
    import subprocess
    import sys

    from advtransfer.files import file_lock
    from workflow_helpers import wait_until

    def waits_for_a_lock(pid):  # the kernel lists a blocked flock request as "-> FLOCK ... <pid> ..."
        return any(line.split()[1] == "->" and line.split()[5] == str(pid)
                   for line in Path("/proc/locks").read_text().splitlines())

    raw = _link_fashion_mnist(tmp_path)
    job = ("import sys; from advtransfer.data import load_dataset; print('imported', flush=True); "
           f"s = load_dataset('fashion_mnist', {str(tmp_path)!r}, download=False); print(len(s.train_y))")
    with file_lock(tmp_path / ".FashionMNIST.lock"):  # another job is unpacking
        proc = subprocess.Popen([sys.executable, "-c", job], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "imported"
        wait_until(lambda: waits_for_a_lock(proc.pid) or proc.poll() is not None, 60)
        assert proc.poll() is None and waits_for_a_lock(proc.pid)  # blocked on the lock, not done
        assert sorted(p.name for p in raw.iterdir() if not p.name.endswith(".gz")) == []
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and out.split() == [str(idx_count("fashion-mnist", "train-labels-idx1-ubyte.gz"))]
    assert sorted(p.name for p in raw.iterdir() if not p.name.endswith(".gz")) == [
        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "train-images-idx3-ubyte", "train-labels-idx1-ubyte"]


def test_unpacking_is_exact_and_leaves_nothing_half_written(tmp_path):
    import gzip

    from advtransfer.data.sources import unpack_gz

    payload = bytes(range(256)) * 1000
    (tmp_path / "good-idx1-ubyte.gz").write_bytes(gzip.compress(payload))
    (tmp_path / "cut-idx1-ubyte.gz").write_bytes(gzip.compress(payload)[:-100])  # an interrupted copy
    unpack_gz(tmp_path, ["good-idx1-ubyte.gz"])
    assert (tmp_path / "good-idx1-ubyte").read_bytes() == payload
    with pytest.raises(DatasetNotFoundError, match="cut-idx1-ubyte.gz"):
        unpack_gz(tmp_path, ["cut-idx1-ubyte.gz"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut-idx1-ubyte.gz", "good-idx1-ubyte", "good-idx1-ubyte.gz"]


def test_digits_split_is_kept_and_read_without_scikit_learn(tmp_path):
    import subprocess
    import sys

    first = load_dataset("digits", tmp_path)
    assert len(list((tmp_path / "digits").glob("split-*.pt"))) == 1
    job = ("import sys, torch; from advtransfer.data import load_dataset; "
           f"s = load_dataset('digits', {str(tmp_path)!r}); "
           f"torch.save([s.train_x, s.train_y, s.test_x, s.test_y, s.class_names], {str(tmp_path / 'out.pt')!r}); "
           "print('sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", job], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False"]
    again = torch.load(tmp_path / "out.pt", weights_only=True)
    for a, b in zip(again[:4], (first.train_x, first.train_y, first.test_x, first.test_y)):
        assert torch.equal(a, b)
    assert again[4] == first.class_names


@pytest.mark.parametrize("damage", [b"", b"not a torch file", None])
def test_a_damaged_digits_split_is_made_again(tmp_path, damage):
    """An empty, garbled or cut cached split (a full disk, a killed copy) is rebuilt, not an error in every job."""
    first = load_dataset("digits", tmp_path)
    cache = next((tmp_path / "digits").glob("split-*.pt"))
    cache.write_bytes(cache.read_bytes()[:1000] if damage is None else damage)
    again = load_dataset("digits", tmp_path)
    assert torch.equal(again.train_x, first.train_x) and torch.equal(again.test_y, first.test_y)
    assert torch.equal(load_dataset("digits", tmp_path).train_y, first.train_y)  # the rebuilt cache reads back


def test_a_cut_unpacked_idx_file_is_unpacked_again_or_named(tmp_path):
    raw = _link_fashion_mnist(tmp_path)
    full = load_dataset("fashion_mnist", tmp_path, download=False)
    unpacked = raw / "t10k-images-idx3-ubyte"
    unpacked.write_bytes(unpacked.read_bytes()[:5000])  # a copy cut short
    again = load_dataset("fashion_mnist", tmp_path, download=False)
    n_test = idx_count("fashion-mnist", "t10k-labels-idx1-ubyte.gz")
    assert torch.equal(again.test_x, full.test_x) and unpacked.stat().st_size == 16 + n_test * 28 * 28

    (raw / "t10k-images-idx3-ubyte.gz").unlink()  # nothing to unpack it from: the error names the file
    unpacked.write_bytes(unpacked.read_bytes()[:5000])
    with pytest.raises(DatasetNotFoundError, match=f"{unpacked} is damaged .*delete it"):
        load_dataset("fashion_mnist", tmp_path, download=False)
