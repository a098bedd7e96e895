"""Sub-ImageNet (method §2): 10 superclasses of 10 ILSVRC2012 classes each, read from an ImageNet folder.

The 100 ImageNet classes and their superclasses come from a mapping file, a CSV with the columns
``wnid,name,superclass``; the shipped ``subimagenet_classes.csv`` is our choice (the paper does not
list its classes). Superclass indices follow the order in which the file first names them (the
shipped file: Automobile, Ball, Bird, Dog, Feline, Fruit, Insect, Snake, Primate, Vegetable).

The images stay on disk, in the layout of torchvision's ``ImageFolder`` (the validation images sorted
into class folders too)::

    <data_dir>/imagenet/train/<wnid>/*.JPEG      # ILSVRC2012 train split → Sub-ImageNet train
    <data_dir>/imagenet/val/<wnid>/*.JPEG        # ILSVRC2012 validation split → Sub-ImageNet test

``SubImageNetSplits`` is a ``Splits`` like the in-memory sources (the same class removal, Eᵢ and
loaders; ``channel_stats``), decoding the files in DataLoader worker processes. Every image is
resized so that its shorter side is image_size · 256/224, then centre-cropped to image_size ×
image_size, at training time as well (no augmentation, as method §2's default; our choice).

How the options reach it: ``load_dataset("subimagenet", data_dir)`` builds
``SubImageNetSplits(data_dir / "imagenet")`` with the shipped mapping and ``image_size`` 224. Set
``splits.image_size`` to the architecture's input size before building loaders (e.g.
``advtransfer.models.imagenet.INPUT_SIZES["inception_v3"]`` = 299); pass another mapping file as
``SubImageNetSplits(root, mapping=path)``.
"""

from __future__ import annotations

import copy
import csv
import os
import re
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, Sampler, default_collate

from advtransfer.data import DATASETS, DatasetNotFoundError, Splits, open_image, own_generator, to_float
from advtransfer.data.cifar10 import image_files

DEFAULT_MAPPING = Path(__file__).with_name("subimagenet_classes.csv")
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
RESIZE_RATIO = 256 / 224
ORDER_SEED = 0


def read_mapping(path: str | Path) -> tuple[list[str], dict[str, int]]:
    """(superclass names in order of first appearance, wnid → superclass index) from a mapping CSV."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or not {"wnid", "superclass"} <= set(rows[0]):
        raise ValueError(f"{path}: expected a CSV with the columns wnid,name,superclass")
    names: list[str] = []
    wnid_to_class: dict[str, int] = {}
    for row in rows:
        wnid, superclass = row["wnid"].strip(), row["superclass"].strip()
        if not re.fullmatch(r"n\d{8}", wnid):
            raise ValueError(f"{path}: {wnid!r} is not a WordNet id like n01530575")
        if wnid in wnid_to_class:
            raise ValueError(f"{path}: {wnid} is listed twice")
        if superclass not in names:
            names.append(superclass)
        wnid_to_class[wnid] = names.index(superclass)
    if len(names) < 2:
        raise ValueError(f"{path}: a mapping needs at least two superclasses")
    return names, wnid_to_class


def load_image(path: str | Path, size: int) -> torch.Tensor:
    """uint8 (3, size, size): shorter side resized to size · 256/224, then the centre crop."""
    short = round(size * RESIZE_RATIO)
    im = open_image(path, "RGB", draft=(short, short))  # JPEG: decoded at a reduced scale still large enough
    w, h = im.size
    scale = short / min(w, h)
    im = im.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BILINEAR)
    left, top = (im.width - size) // 2, (im.height - size) // 2
    im = im.crop((left, top, left + size, top + size))
    return torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1)


class ImageFiles(Dataset):
    """(uint8 image, label) pairs decoded from files; its loader's batches are (float images in [0, 1],
    labels), each changed by ``transform_set(x, y) -> (x, y)`` first when one is set."""

    def __init__(self, paths: list[str], labels: torch.Tensor, image_size: int, num_workers: int = 0,
                 transform_set=None):
        self.paths, self.labels, self.image_size = paths, labels, image_size
        self.num_workers, self.transform_set = num_workers, transform_set

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return load_image(self.paths[i], self.image_size), self.labels[i]

    def transformed(self, transform_set) -> "ImageFiles":
        """The same files, each uint8 batch changed by ``transform_set`` (a folder cannot change as a whole)."""
        return ImageFiles(self.paths, self.labels, self.image_size, self.num_workers, transform_set)

    def collate(self, samples: list) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = default_collate(samples)
        if self.transform_set is not None:
            x, y = self.transform_set(x, y)
        return to_float(x), y

    def loader(self, batch_size: int, sampler: Sampler, drop_last: bool = False) -> DataLoader:
        return DataLoader(self, batch_size, sampler=sampler, drop_last=drop_last, num_workers=self.num_workers,
                          collate_fn=self.collate, generator=own_generator())


class SubImageNetSplits(Splits):
    """Sub-ImageNet's train and test splits as file lists, a ``Splits`` like ``ImageSplits``.

    ``root`` holds ``train/<wnid>/`` and ``val/<wnid>/``; ``mapping`` is a CSV (see the module doc);
    ``image_size`` is the side the loaders crop to (settable); ``num_workers`` decode in parallel.
    Samples are kept in a fixed pseudo-random order (seed 0), so ``limit`` keeps every class.
    """

    in_channels = 3

    def __init__(self, root: str | Path, mapping: str | Path = DEFAULT_MAPPING, image_size: int = 224,
                 num_workers: int | None = None):
        self.root = Path(root)
        self.class_names, self.wnid_to_class = read_mapping(mapping)
        self.image_size = image_size
        self.num_workers = min(4, os.cpu_count() or 1) if num_workers is None else num_workers
        self.train_paths, self.train_y = self._samples("train")
        self.test_paths, self.test_y = self._samples("val")

    def _samples(self, split: str) -> tuple[list[str], torch.Tensor]:
        folder = self.root / split
        missing = [w for w in self.wnid_to_class if not (folder / w).is_dir()]
        if missing:
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            problem = (f"{folder}/ lacks the class folders {shown}" if folder.is_dir()
                       else f"{folder}/ does not exist")
            raise DatasetNotFoundError(
                f"Sub-ImageNet: {problem}. Expected ILSVRC2012 in "
                f"torchvision's ImageFolder layout, {self.root}/train/<wnid>/*.JPEG and "
                f"{self.root}/val/<wnid>/*.JPEG (validation images sorted into class folders). ImageNet "
                f"cannot be downloaded automatically: get ILSVRC2012 from https://image-net.org/ and "
                f"unpack it there.")
        samples = [(str(p), c) for w, c in self.wnid_to_class.items() for p in image_files(folder / w)]
        if not samples:
            raise DatasetNotFoundError(f"Sub-ImageNet: no images in {folder}/<wnid>/")
        order = torch.randperm(len(samples), generator=torch.Generator().manual_seed(ORDER_SEED)).tolist()
        return [samples[i][0] for i in order], torch.tensor([samples[i][1] for i in order], dtype=torch.long)

    def channel_stats(self) -> tuple[list[float], list[float]]:
        """ImageNet's usual per-channel mean and std on the [0, 1] scale (not recomputed)."""
        return list(IMAGENET_MEAN), list(IMAGENET_STD)

    def limit(self, train: int | None = None, test: int | None = None) -> "SubImageNetSplits":
        """A copy keeping the first ``train`` / ``test`` samples (None keeps all)."""
        cut = copy.copy(self)
        cut.train_paths, cut.train_y = self.train_paths[:train], self.train_y[:train]
        cut.test_paths, cut.test_y = self.test_paths[:test], self.test_y[:test]
        return cut

    def samples(self, parts: list[tuple[str, torch.Tensor, torch.Tensor]]) -> ImageFiles:
        paths = [getattr(self, f"{split}_paths")[i] for split, index, _ in parts for i in index.tolist()]
        labels = torch.cat([labels for _, _, labels in parts])
        return ImageFiles(paths, labels, self.image_size, self.num_workers)


@DATASETS.register("subimagenet")
def subimagenet(data_dir: Path, download: bool, mapping: str | Path = DEFAULT_MAPPING,
                num_workers: int | None = None) -> SubImageNetSplits:
    """Sub-ImageNet from ``<data_dir>/imagenet`` with the shipped (or the config's ``options.mapping``)
    mapping, image_size 224 until ``data.for_architecture`` sets it. ``download`` is ignored: ImageNet
    needs a licence."""
    kwargs = {} if num_workers is None else {"num_workers": num_workers}
    return SubImageNetSplits(Path(data_dir) / "imagenet", mapping=mapping, **kwargs)
