"""Data sources given in the config (``advtransfer.own``): an image folder or a dataset class.

* ``image_folder: <root>``: ``<root>/{train,test}/<class>/*.png|*.jpg|*.jpeg``, the classes in
  sorted order of their folder names. Greyscale when every image is, else RGB; every image of one
  size (square) unless ``image_size`` resizes them. Each split is put in a fixed pseudo-random order
  (seed 0), so that the first n samples (``train_limit``) cover every class.
* ``dataset_class: "package.module:Name"`` with ``dataset_kwargs``: a torchvision-style dataset,
  ``Name(root=<data_dir>, train=True|False or split="train"|"test", download=..., **dataset_kwargs)``
  whose items are (PIL image, label), e.g. ``torchvision.datasets:SVHN``; the classes are its
  ``classes`` (else 0..max label).

Both are decoded once into uint8 tensors kept in ``<data_dir>/own/`` (rebuilt when an image folder's
files change: names, sizes, times, or when the kept copy is damaged), under a lock: jobs starting
together decode once. An image that cannot be decoded is named (``data.DamagedImageError``).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from advtransfer.data import DamagedImageError, DatasetNotFoundError, ImageSplits, decode_all, open_image
from advtransfer.files import atomic_path, file_lock, load_torch
from advtransfer.own import SPLITS, folder_layout, load_object

CACHE_VERSION = 1
ORDER_SEED = 0
GREY_MODES = ("1", "L", "I", "I;16", "F")


def load_source(source: dict, data_dir: Path, download: bool) -> ImageSplits:
    """The splits of an own source (``advtransfer.own.source_spec``)."""
    if "image_folder" in source:
        root = Path(source["image_folder"])
        layout = folder_layout(root.resolve())
        stats = [(str(p.relative_to(root.resolve())), os.stat(p).st_size, os.stat(p).st_mtime_ns)
                 for split in SPLITS for p, _ in layout["files"][split]]
        return cached(data_dir, f"{root.resolve().name}", {**source, "image_folder": str(root.resolve())}, stats,
                      lambda: _decode_folder(layout, source.get("image_size")))
    return cached(data_dir, source["dataset_class"].rpartition(":")[2], source, None,
                  lambda: _dataset_class(source, data_dir, download))


def cached(data_dir: Path, label: str, source: dict, files, build) -> ImageSplits:
    """The splits ``build()`` makes, kept in ``<data_dir>/own/<label>-<hash>.pt`` (``files``: what
    makes a kept copy stale besides the source)."""
    key = hashlib.sha256(json.dumps([source, files], sort_keys=True, default=str).encode()).hexdigest()
    cache = data_dir / "own" / f"{label}-{key[:16]}.pt"
    splits = _read(cache, key)
    if splits is None:
        with file_lock(cache.with_suffix(".lock")):  # one job decodes; the others wait and read its copy
            splits = _read(cache, key)
            if splits is None:
                splits = build()
                _write(cache, key, splits)
    return splits


def _read(cache: Path, key: str) -> ImageSplits | None:
    stored = (load_torch(cache, remake=True) if cache.exists() else None) or {}  # a damaged copy is made again
    if stored.get("key") != key or stored.get("version") != CACHE_VERSION:
        return None
    return ImageSplits(**{k: stored[k] for k in ("train_x", "train_y", "test_x", "test_y", "class_names")})


def _write(cache: Path, key: str, splits: ImageSplits) -> None:
    fields = {k: getattr(splits, k) for k in ("train_x", "train_y", "test_x", "test_y", "class_names")}
    try:
        with atomic_path(cache) as tmp:
            torch.save({"version": CACHE_VERSION, "key": key, **fields}, tmp)
    except OSError as err:  # a read-only data folder: decoded again next time
        print(f"warning: could not keep the decoded images in {cache}: {err}", file=sys.stderr)


def pixels(image: Image.Image, mode: str, size: int | None, where) -> np.ndarray:
    """``image`` as uint8 (C, H, W) in ``mode`` ("L" or "RGB"), resized to ``size``² if given."""
    image = image.convert(mode)
    if size:
        image = image.resize((size, size), Image.BILINEAR)
    if image.width != image.height:
        raise ValueError(f"{where} is {image.width}×{image.height}: the study takes square images; set the "
                         f"dataset's image_size to resize them")
    a = np.asarray(image, dtype=np.uint8)
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


def folder_shape(layout: dict, image_size: int | None = None) -> tuple[int, int, int]:
    """(channels, height, width) the images of an image folder get, read from the files' headers."""
    modes, sizes, bad = set(), set(), []
    for split in SPLITS:
        for path, _ in layout["files"][split]:
            try:
                with Image.open(path) as im:
                    modes.add(im.mode)
                    sizes.add(im.size)
            except (OSError, SyntaxError, ValueError) as err:  # a header that cannot be read
                bad.append((path, " ".join(str(err).split()) or type(err).__name__))
    if bad:
        raise DamagedImageError(bad)
    channels = 1 if modes <= set(GREY_MODES) else 3
    if image_size:
        return channels, image_size, image_size
    if len(sizes) > 1:
        raise ValueError(f"its images differ in size ({', '.join(f'{w}×{h}' for w, h in sorted(sizes)[:4])}); "
                         f"set the dataset's image_size to resize them to one")
    (w, h), = sizes
    return channels, h, w


def _decode_folder(layout: dict, image_size: int | None) -> ImageSplits:
    channels, size, _ = folder_shape(layout, image_size)
    mode = "L" if channels == 1 else "RGB"
    tensors = {}
    for split in SPLITS:
        items = layout["files"][split]
        images = decode_all([path for path, _ in items],
                            lambda path: pixels(open_image(path, mode), mode, size if image_size else None, path))
        order = torch.randperm(len(items), generator=torch.Generator().manual_seed(ORDER_SEED))
        tensors[f"{split}_x"] = torch.from_numpy(np.stack(images))[order]
        tensors[f"{split}_y"] = torch.tensor([label for _, label in items], dtype=torch.long)[order]
    return ImageSplits(**tensors, class_names=list(layout["classes"]))


def split_kwargs(cls, split: str) -> dict:
    """How ``cls`` is asked for a split: ``train=`` or ``split=``."""
    params = inspect.signature(cls).parameters
    if "train" in params:
        return {"train": split == "train"}
    if "split" in params:
        return {"split": split}
    raise TypeError(f"{cls.__name__} takes neither train= nor split=: it cannot be asked for its train and test split")


def _dataset_class(source: dict, data_dir: Path, download: bool) -> ImageSplits:
    cls = load_object(source["dataset_class"])
    kwargs = dict(source.get("dataset_kwargs", {}))
    if "download" in inspect.signature(cls).parameters:
        kwargs.setdefault("download", download)
    tensors, names = {}, None
    for split in SPLITS:
        try:
            ds = cls(root=str(data_dir), **split_kwargs(cls, split), **kwargs)
        except (RuntimeError, OSError) as err:  # torchvision: "Dataset not found", a failed download
            raise DatasetNotFoundError(f"{source['dataset_class']} ({split}) could not be loaded from {data_dir}: "
                                       f"{err}") from err
        first = ds[0][0] if len(ds) else None
        mode = "L" if getattr(first, "mode", "L") in GREY_MODES else "RGB"
        items = [ds[i] for i in range(len(ds))]
        images = [pixels(item[0], mode, source.get("image_size"), f"{source['dataset_class']} {split} image {i}")
                  for i, item in enumerate(items)]
        tensors[f"{split}_x"] = torch.from_numpy(np.stack(images))
        tensors[f"{split}_y"] = torch.tensor([int(item[1]) for item in items], dtype=torch.long)
        names = names or getattr(ds, "classes", None)
    top = int(max(tensors["train_y"].max(), tensors["test_y"].max()))
    names = [str(c) for c in names] if names else [str(i) for i in range(top + 1)]
    return ImageSplits(**tensors, class_names=names)
