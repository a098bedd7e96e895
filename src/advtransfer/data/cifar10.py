"""CIFAR-10 (Krizhevsky 2009; method §2): 32×32 colour images, 10 classes, 50,000 + 10,000.

``load_dataset("cifar10", data_dir)`` takes the first source it finds:

1. ``<data_dir>/cifar-10-batches-py/``: the official python archive, read (and md5-checked) by
   torchvision;
2. ``<data_dir>/cifar10/{train,test}/<class>/*.jpg|*.png``: an image-folder copy (class folders named
   as in ``CLASSES``). Decoding 60,000 files takes a while, so the decoded images are cached in
   ``<data_dir>/cifar10/cache.pt``, rebuilt whenever the files change (names, sizes, times) and when
   it is damaged (a warning names it); an image that cannot be decoded is named
   (``data.DamagedImageError``);
3. with ``download`` on: torchvision downloads the official archive into (1).

Labels follow CIFAR-10's official class order. The image-folder copy is put in a fixed pseudo-random
order (seed 0), so that the first n samples (``load_dataset(..., train_limit=n)``) cover every class
as the official archive's do.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import numpy as np
import torch

from advtransfer.data import DATASETS, DatasetNotFoundError, ImageSplits, decode_all, open_image
from advtransfer.files import atomic_path, file_lock, load_torch

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
FOLDER_ORDER_SEED = 0
CACHE_VERSION = 1


def image_files(folder: Path) -> list[Path]:
    """The image files (.jpg, .jpeg, .png in any case) directly in ``folder``, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


@DATASETS.register("cifar10")
def cifar10(data_dir: Path, download: bool) -> ImageSplits:
    """CIFAR-10 from the official archive, an image-folder copy, or a download (see the module doc)."""
    if (data_dir / "cifar-10-batches-py").is_dir():
        return _torchvision_cifar10(data_dir, download=False)
    if (data_dir / "cifar10").is_dir():
        return load_image_folder(data_dir / "cifar10")
    if download:
        with file_lock(data_dir / ".cifar10.lock"):  # jobs starting together download once
            return _torchvision_cifar10(data_dir, download=True)
    raise DatasetNotFoundError(f"CIFAR-10 not found: {_hint(data_dir)}")


def _hint(data_dir: Path) -> str:
    return (f"expected torchvision's official archive unpacked in {data_dir / 'cifar-10-batches-py'}/ "
            f"(downloaded there when `download` is on and the machine is online), or an image-folder copy "
            f"{data_dir / 'cifar10'}/{{train,test}}/<class>/*.jpg|*.png with the classes {', '.join(CLASSES)}")


def _torchvision_cifar10(data_dir: Path, download: bool) -> ImageSplits:
    from torchvision.datasets import CIFAR10

    try:
        train = CIFAR10(str(data_dir), train=True, download=download)
        test = CIFAR10(str(data_dir), train=False, download=download)
    except (RuntimeError, OSError) as err:  # "Dataset not found or corrupted", or a failed download
        raise DatasetNotFoundError(f"CIFAR-10 could not be loaded: {_hint(data_dir)}. ({err})") from err
    if tuple(train.classes) != CLASSES:
        raise ValueError(f"unexpected CIFAR-10 classes {train.classes}")

    def tensors(ds) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous(), torch.tensor(ds.targets, dtype=torch.long)

    return ImageSplits(*tensors(train), *tensors(test), list(CLASSES))


def load_image_folder(root: Path) -> ImageSplits:
    """CIFAR-10 from ``root/{train,test}/<class>/*`` through the decoded-image cache ``root/cache.pt``."""
    files = {split: _split_files(root, split) for split in ("train", "test")}
    fingerprint = _fingerprint(root, files)
    cache = root / "cache.pt"
    splits = _read_cache(cache, fingerprint)
    if splits is None:
        with file_lock(root / ".cache.lock"):  # one job decodes; the others wait and read its cache
            splits = _read_cache(cache, fingerprint) or _build_cache(cache, fingerprint, files)
    return splits


def _read_cache(cache: Path, fingerprint: str) -> ImageSplits | None:
    stored = load_torch(cache, remake=True) if cache.exists() else None  # a damaged cache is made again
    if stored is None:
        return None
    if stored.get("fingerprint") != fingerprint or stored.get("version") != CACHE_VERSION:
        return None
    return ImageSplits(stored["train_x"], stored["train_y"], stored["test_x"], stored["test_y"], list(CLASSES))


def _build_cache(cache: Path, fingerprint: str, files: dict[str, list[tuple[Path, int]]]) -> ImageSplits:
    tensors = {}
    for split, items in files.items():
        x, y = _decode(items)
        order = torch.randperm(len(y), generator=torch.Generator().manual_seed(FOLDER_ORDER_SEED))
        tensors[f"{split}_x"], tensors[f"{split}_y"] = x[order], y[order]
    try:
        with atomic_path(cache) as tmp:
            torch.save({"version": CACHE_VERSION, "fingerprint": fingerprint, **tensors}, tmp)
            tmp.chmod(0o644)  # readable like the images it caches (temporary files start private)
    except OSError as err:  # a read-only copy still loads, only slower
        print(f"warning: could not write the CIFAR-10 cache {cache}: {err}", file=sys.stderr)
    return ImageSplits(tensors["train_x"], tensors["train_y"], tensors["test_x"], tensors["test_y"], list(CLASSES))


def _split_files(root: Path, split: str) -> list[tuple[Path, int]]:
    missing = [c for c in CLASSES if not (root / split / c).is_dir()]
    if missing:
        raise DatasetNotFoundError(
            f"CIFAR-10 image folder {root} lacks {split}/ class folders {', '.join(missing)}: {_hint(root.parent)}")
    items = [(path, label) for label, c in enumerate(CLASSES) for path in image_files(root / split / c)]
    if not items:
        raise DatasetNotFoundError(f"no images in {root / split}/<class>/: {_hint(root.parent)}")
    return items


def _fingerprint(root: Path, files: dict[str, list[tuple[Path, int]]]) -> str:
    """Hash of every file's relative path, size and modification time."""
    h = hashlib.sha256()
    for items in files.values():
        for path, _ in items:
            st = os.stat(path)
            h.update(f"{path.relative_to(root)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _decode(items: list[tuple[Path, int]]) -> tuple[torch.Tensor, torch.Tensor]:
    images = decode_all([path for path, _ in items], lambda path: np.asarray(open_image(path, "RGB")))
    for (path, _), a in zip(items, images):
        if a.shape != (32, 32, 3):
            raise ValueError(f"{path} is {a.shape[1]}×{a.shape[0]}, CIFAR-10 images are 32×32")
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    return x, torch.tensor([label for _, label in items], dtype=torch.long)
