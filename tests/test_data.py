"""Class removal, label remap, evaluation sets and dataset loading (method §1)."""

from pathlib import Path

import pytest
import torch

from advtransfer.data import (DatasetNotFoundError, ImageSplits, evaluation_set, exclude_class, load_dataset,
                              remap_labels)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def test_remap_labels_by_hand():
    y = torch.tensor([0, 1, 3, 4, 9])
    assert remap_labels(y, 2).tolist() == [0, 1, 2, 3, 8]


def test_exclude_class_drops_and_remaps():
    x = torch.arange(6, dtype=torch.uint8).view(6, 1, 1, 1)
    y = torch.tensor([0, 1, 2, 1, 0, 2])
    x2, y2 = exclude_class(x, y, 1)
    assert x2.flatten().tolist() == [0, 2, 4, 5]
    assert y2.tolist() == [0, 1, 0, 1]
    x3, y3 = exclude_class(x, y, None)
    assert torch.equal(x3, x) and torch.equal(y3, y)


def _splits():
    tr_x = torch.arange(8, dtype=torch.uint8).view(8, 1, 1, 1)
    te_x = torch.arange(100, 104, dtype=torch.uint8).view(4, 1, 1, 1)
    return ImageSplits(tr_x, torch.tensor([0, 1, 2, 0, 1, 2, 0, 1]), te_x, torch.tensor([2, 0, 1, 2]), ["a", "b", "c"])


def test_evaluation_set_takes_train_and_test():
    e = evaluation_set(_splits(), 2)
    assert e.flatten().tolist() == [2, 5, 100, 103]


def test_loaders_follow_the_protocol():
    s = _splits()
    batches = list(s.train_loader(1, batch_size=3, seed=0))
    ys = torch.cat([b[1] for b in batches])
    assert sorted(ys.tolist()) == [0, 0, 0, 1, 1]  # classes 0 and 2 → 0 and 1
    xs = torch.cat([b[0] for b in batches])
    assert xs.dtype == torch.float32 and xs.max() <= 7 / 255 + 1e-6
    # a shuffled pass skips a last batch of one image (batch norm cannot train on it); tests keep all
    assert [len(b[1]) for b in s.train_loader(1, batch_size=2, seed=0)] == [2, 2]
    assert len(s.train_loader(1, batch_size=2)) == 2
    test = torch.cat([b[1] for b in s.test_loader(0, batch_size=3)])
    assert test.tolist() == [1, 0, 1]
    # the same seed and epoch give the same order (a resumed run sees the same batches)
    a = [b[1].tolist() for b in s.train_loader(None, 3, seed=5)]
    b = [b[1].tolist() for b in s.train_loader(None, 3, seed=5)]
    assert a == b


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


def test_unknown_dataset_lists_known_ones():
    with pytest.raises(KeyError, match="known: .*digits"):
        load_dataset("imagenet21k")


@pytest.mark.skipif(not (SHARED / "fashion-mnist").exists(), reason="needs the shared Fashion-MNIST files")
def test_fashion_mnist_offline_from_official_files(tmp_path):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for f in (SHARED / "fashion-mnist").iterdir():
        (raw / f.name).symlink_to(f)
    s = load_dataset("fashion_mnist", tmp_path, download=True, train_limit=1000, test_limit=100)
    assert (len(s.train_y), len(s.test_y)) == (1000, 100)
    assert s.class_names[0] == "T-shirt/top" and s.image_size == 28


def test_atomic_outputs_have_the_usual_mode(tmp_path):
    import os

    from advtransfer.io import atomic_path

    with atomic_path(tmp_path / "out.csv") as tmp:
        tmp.write_text("a\n")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "out.csv").stat().st_mode & 0o777 == 0o666 & ~mask
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]  # no temporary file left behind


def _link_fashion_mnist(data_dir: Path) -> Path:
    raw = data_dir / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for f in (SHARED / "fashion-mnist").iterdir():
        (raw / f.name).symlink_to(f)
    return raw


@pytest.mark.skipif(not (SHARED / "fashion-mnist").exists(), reason="needs the shared Fashion-MNIST files")
@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs Linux's list of file locks")
def test_jobs_starting_together_take_turns_unpacking(tmp_path):
    """A job that finds another unpacking the dataset waits for it instead of reading half-written files."""
    import subprocess
    import sys

    from advtransfer.io import file_lock
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
    assert proc.returncode == 0 and out.split() == ["60000"]
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


@pytest.mark.skipif(not (SHARED / "fashion-mnist").exists(), reason="needs the shared Fashion-MNIST files")
def test_a_cut_unpacked_idx_file_is_unpacked_again_or_named(tmp_path):
    raw = _link_fashion_mnist(tmp_path)
    full = load_dataset("fashion_mnist", tmp_path, download=False)
    unpacked = raw / "t10k-images-idx3-ubyte"
    unpacked.write_bytes(unpacked.read_bytes()[:5000])  # a copy cut short
    again = load_dataset("fashion_mnist", tmp_path, download=False)
    assert torch.equal(again.test_x, full.test_x) and unpacked.stat().st_size == 16 + 10_000 * 28 * 28

    (raw / "t10k-images-idx3-ubyte.gz").unlink()  # nothing to unpack it from: the error names the file
    unpacked.write_bytes(unpacked.read_bytes()[:5000])
    with pytest.raises(DatasetNotFoundError, match=f"{unpacked} is damaged .*delete it"):
        load_dataset("fashion_mnist", tmp_path, download=False)
