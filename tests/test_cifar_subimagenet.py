"""The CIFAR-10 and Sub-ImageNet sources (method §1–2) on tiny folders made here."""

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from advtransfer.data import DatasetNotFoundError, load_dataset
from advtransfer.data import cifar10 as cifar10_module
from advtransfer.data.cifar10 import CLASSES
from advtransfer.data.subimagenet import DEFAULT_MAPPING, SubImageNetSplits, load_image, read_mapping
from workflow_helpers import cifar10_folder

# ---------------------------------------------------------------- CIFAR-10 image folder

def make_cifar_folder(data_dir: Path, train_per_class: int = 2, test_per_class: int = 1) -> Path:
    """PNG images (lossless): red = 20·class + index, green = 7, blue = 200."""
    root = data_dir / "cifar10"
    for split, n in (("train", train_per_class), ("test", test_per_class)):
        for c, name in enumerate(CLASSES):
            (root / split / name).mkdir(parents=True)
            for i in range(n):
                a = np.zeros((32, 32, 3), np.uint8)
                a[..., 0], a[..., 1], a[..., 2] = 20 * c + i, 7, 200
                Image.fromarray(a).save(root / split / name / f"{i:04d}.png")
    return root


def test_cifar10_image_folder_gives_official_class_order(tmp_path):
    make_cifar_folder(tmp_path)
    s = load_dataset("cifar10", tmp_path, download=False)
    assert s.class_names == list(CLASSES)
    assert s.train_x.shape == (20, 3, 32, 32) and s.test_x.shape == (10, 3, 32, 32)
    assert s.train_y.bincount().tolist() == [2] * 10 and s.test_y.bincount().tolist() == [1] * 10
    # each image still carries its own label (red = 20·class + index), channels first in RGB order
    assert torch.equal(s.train_x[:, 0, 0, 0].long() // 20, s.train_y)
    assert (s.train_x[:, 1] == 7).all() and (s.train_x[:, 2] == 200).all()
    # a fixed shuffled order: the first samples mix the classes
    assert len(set(s.train_y[:10].tolist())) > 3
    assert torch.equal(load_dataset("cifar10", tmp_path, download=False).train_y, s.train_y)


def test_cifar10_cache_is_used_and_rebuilt_when_files_change(tmp_path, monkeypatch):
    root = make_cifar_folder(tmp_path)
    first = load_dataset("cifar10", tmp_path, download=False)
    assert (root / "cache.pt").exists()

    def no_decoding(items):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(cifar10_module, "_decode", no_decoding)
    cached = load_dataset("cifar10", tmp_path, download=False)
    assert torch.equal(cached.train_x, first.train_x) and torch.equal(cached.test_y, first.test_y)

    monkeypatch.undo()
    Image.fromarray(np.full((32, 32, 3), 9, np.uint8)).save(root / "test" / "cat" / "0099.png")
    rebuilt = load_dataset("cifar10", tmp_path, download=False)
    assert len(rebuilt.test_y) == 11 and rebuilt.test_y.bincount()[CLASSES.index("cat")] == 2


@pytest.mark.parametrize("how", ["cut", "garbled"])
def test_a_damaged_cifar10_cache_is_rebuilt(tmp_path, capsys, how):
    """A cache.pt cut short (a full disk, a killed copy) or garbled is rebuilt with a warning naming it,
    not an error in every job."""
    root = make_cifar_folder(tmp_path)
    first = load_dataset("cifar10", tmp_path, download=False)
    cache = root / "cache.pt"
    data = cache.read_bytes()
    cache.write_bytes(data[:len(data) // 2] if how == "cut" else np.random.default_rng(0).bytes(len(data)))
    capsys.readouterr()
    again = load_dataset("cifar10", tmp_path, download=False)
    assert torch.equal(again.train_x, first.train_x) and torch.equal(again.test_y, first.test_y)
    assert f"warning: {cache}" in capsys.readouterr().err
    assert torch.equal(torch.load(cache, weights_only=True)["train_x"], first.train_x)  # written anew


@pytest.mark.parametrize("how", ["cut", "garbled"])
def test_a_damaged_image_of_the_cifar10_folder_is_named(tmp_path, how):
    root = make_cifar_folder(tmp_path)
    bad = root / "train" / "dog" / "0001.png"
    data = bad.read_bytes()
    bad.write_bytes(data[:len(data) // 2] if how == "cut" else data[:40] + bytes(len(data) - 40))
    with pytest.raises(ValueError, match=f"{bad}: .*replace it .* or delete it"):
        load_dataset("cifar10", tmp_path, download=False)


def test_cifar10_missing_or_incomplete_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="cifar-10-batches-py") as err:
        load_dataset("cifar10", tmp_path, download=False)
    assert "cifar10" in str(err.value) and "<class>" in str(err.value)
    root = make_cifar_folder(tmp_path)
    for f in (root / "train" / "frog").iterdir():
        f.unlink()
    (root / "train" / "frog").rmdir()
    with pytest.raises(DatasetNotFoundError, match="frog"):
        load_dataset("cifar10", tmp_path, download=False)


def test_cifar10_refuses_images_that_are_not_32x32(tmp_path):
    root = make_cifar_folder(tmp_path)
    Image.fromarray(np.zeros((28, 28, 3), np.uint8)).save(root / "train" / "dog" / "big.png")
    with pytest.raises(ValueError, match="32×32"):
        load_dataset("cifar10", tmp_path, download=False)


def test_cifar10_on_a_handful_of_real_jpeg_files(tmp_path):
    root = cifar10_folder(tmp_path)
    counts = {(split, c): len(list((root / split / c).glob("*.jpg"))) for split in ("train", "test") for c in CLASSES}
    assert set(counts.values()) == {2}, "the test data lack some split/class folders"
    s = load_dataset("cifar10", tmp_path, download=False)
    assert s.train_x.shape == (20, 3, 32, 32) and s.test_y.bincount().tolist() == [2] * 10
    mean, std = s.channel_stats()
    assert all(0.2 < m < 0.8 for m in mean) and all(0.1 < d < 0.45 for d in std)


# ---------------------------------------------------------------- Sub-ImageNet

COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]  # one solid colour per superclass


def make_imagenet(tmp_path: Path) -> tuple[Path, Path]:
    """An ImageFolder-style ImageNet with 2 wnids per superclass for 3 of the shipped superclasses;
    2 train and 1 val JPEG per wnid, of odd sizes, filled with the superclass's colour."""
    rows = list(csv.DictReader(open(DEFAULT_MAPPING)))
    chosen = [r for s in ("Automobile", "Ball", "Bird") for r in [r for r in rows if r["superclass"] == s][:2]]
    mapping = tmp_path / "mapping.csv"
    with open(mapping, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["wnid", "name", "superclass"])
        writer.writeheader()
        writer.writerows(chosen)
    root = tmp_path / "data" / "imagenet"
    for k, row in enumerate(chosen):
        colour = COLOURS[k // 2]
        for split, n in (("train", 2), ("val", 1)):
            folder = root / split / row["wnid"]
            folder.mkdir(parents=True)
            for i in range(n):
                Image.new("RGB", (40 + 7 * i, 30), colour).save(folder / f"{row['wnid']}_{i}.JPEG", quality=95)
    return root, mapping


def collect(loader) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ys = zip(*loader)
    return torch.cat(xs), torch.cat(ys)


def colour_class(x: torch.Tensor) -> torch.Tensor:
    """Index of the dominant channel of each image (0 red, 1 green, 2 blue)."""
    return x.mean(dim=(2, 3)).argmax(dim=1)


def test_shipped_mapping_has_100_classes_in_10_superclasses():
    names, wnid_to_class = read_mapping(DEFAULT_MAPPING)
    assert names == ["Automobile", "Ball", "Bird", "Dog", "Feline", "Fruit", "Insect", "Snake", "Primate", "Vegetable"]
    assert len(wnid_to_class) == 100
    assert torch.tensor(list(wnid_to_class.values())).bincount().tolist() == [10] * 10


def test_load_image_resizes_the_short_side_and_crops_the_centre(tmp_path):
    # a horizontal ramp, red = 255·(i + ½)/100 at column i of a 100×50 image
    ramp = np.broadcast_to((255 * (np.arange(100) + 0.5) / 100)[None, :, None], (50, 100, 3))
    Image.fromarray(np.rint(ramp).astype(np.uint8)).save(tmp_path / "ramp.png")
    x = load_image(tmp_path / "ramp.png", 16)
    assert x.dtype == torch.uint8 and x.shape == (3, 16, 16)
    # short side 50 → 16·256/224 ≈ 18, so the width becomes 36 and the crop keeps columns 10..25:
    # their centres sit at (10.5 / 36) and (25.5 / 36) of the ramp
    assert x[0, :, 0].float().mean().item() == pytest.approx(255 * 10.5 / 36, abs=2)
    assert x[0, :, 15].float().mean().item() == pytest.approx(255 * 25.5 / 36, abs=2)


def test_subimagenet_maps_wnids_to_superclasses(tmp_path):
    root, mapping = make_imagenet(tmp_path)
    s = SubImageNetSplits(root, mapping=mapping, image_size=16, num_workers=0)
    assert s.class_names == ["Automobile", "Ball", "Bird"] and s.num_classes == 3 and s.in_channels == 3
    x, y = collect(s.train_loader(None, batch_size=4, seed=0))
    assert x.shape == (12, 3, 16, 16) and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
    assert y.bincount().tolist() == [4, 4, 4]
    assert torch.equal(colour_class(x), y)
    # the same seed and epoch give the same order
    assert torch.equal(collect(s.train_loader(None, batch_size=4, seed=0))[1], y)
    mean, std = s.channel_stats()
    assert mean == pytest.approx([0.485, 0.456, 0.406]) and std == pytest.approx([0.229, 0.224, 0.225])


def test_subimagenet_class_exclusion_and_evaluation_set(tmp_path):
    root, mapping = make_imagenet(tmp_path)
    s = SubImageNetSplits(root, mapping=mapping, image_size=16, num_workers=0)
    x, y = collect(s.train_loader(1, batch_size=5, seed=3))
    assert y.bincount().tolist() == [4, 4]  # Ball removed, Bird remapped 2 → 1
    assert torch.equal(colour_class(x), torch.where(y == 1, 2, 0))
    x, y = collect(s.test_loader(0, batch_size=3))
    assert y.tolist().count(0) == 2 and y.tolist().count(1) == 2
    assert torch.equal(colour_class(x), y + 1)
    x, y = collect(s.evaluation_loader(2, batch_size=4))
    assert len(y) == 6 and (y == 2).all() and (colour_class(x) == 2).all()  # 4 train + 2 val images
    with pytest.raises(ValueError):
        s.evaluation_loader(3, batch_size=4)


def test_subimagenet_input_size_limit_transform_and_workers(tmp_path):
    root, mapping = make_imagenet(tmp_path)
    s = SubImageNetSplits(root, mapping=mapping, image_size=16, num_workers=0)
    s.image_size = 24
    doubled = s.train_loader(None, batch_size=4, transform_set=lambda x, y: (torch.cat([x, x]), torch.cat([y, y])))
    sizes = [tuple(x.shape) for x, _ in doubled]
    assert sizes == [(8, 3, 24, 24)] * 3
    assert len(s.limit(train=5).train_paths) == 5 and len(s.limit(train=5).test_paths) == 6
    s.num_workers = 2
    x, y = collect(s.test_loader(None, batch_size=2))
    assert x.shape == (6, 3, 24, 24) and torch.equal(colour_class(x), y)


def test_subimagenet_missing_folders_are_clear_errors(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"train/<wnid>/\*\.JPEG"):
        load_dataset("subimagenet", tmp_path / "nowhere")
    root, mapping = make_imagenet(tmp_path)
    wnid = next(csv.DictReader(open(mapping)))["wnid"]
    for f in (root / "val" / wnid).iterdir():
        f.unlink()
    (root / "val" / wnid).rmdir()
    with pytest.raises(DatasetNotFoundError, match=wnid):
        SubImageNetSplits(root, mapping=mapping, num_workers=0)
    # the registered source reads <data_dir>/imagenet with the shipped 100-class mapping
    with pytest.raises(DatasetNotFoundError, match="lacks the class folders"):
        load_dataset("subimagenet", tmp_path / "data")
