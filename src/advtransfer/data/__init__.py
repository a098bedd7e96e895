"""Datasets (method §1–2): one registry of image sources, and the Raw Zero-Shot class removal.

A source loader returns ``ImageSplits``: uint8 images (n, C, H, W) and int64 labels for the train
and test splits. Small datasets live in memory as tensors; ``TensorLoader`` batches them without
per-sample Python work. Register a source with ``@DATASETS.register("name")`` on
``f(data_dir: Path, download: bool) -> ImageSplits``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from advtransfer import catalog
from advtransfer.registry import Registry


class DatasetNotFoundError(FileNotFoundError):
    """A dataset that is not on disk and could not be downloaded; the message says how to get it."""


@dataclass
class ImageSplits:
    train_x: torch.Tensor  # uint8 (n, C, H, W)
    train_y: torch.Tensor  # int64 (n,)
    test_x: torch.Tensor
    test_y: torch.Tensor
    class_names: list[str]
    fingerprint: str | None = None  # what was loaded (name, limits): checkpoints are matched against it

    def __post_init__(self) -> None:
        for name in ("train_x", "test_x"):
            x = getattr(self, name)
            if x.dtype != torch.uint8 or x.ndim != 4:
                raise ValueError(f"{name} must be uint8 (n, C, H, W), got {x.dtype} {tuple(x.shape)}")
        for xs, ys in ((self.train_x, self.train_y), (self.test_x, self.test_y)):
            if len(xs) != len(ys):
                raise ValueError("images and labels differ in length")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def in_channels(self) -> int:
        return self.train_x.shape[1]

    @property
    def image_size(self) -> int:
        return self.train_x.shape[-1]

    def channel_stats(self) -> tuple[list[float], list[float]]:
        """Per-channel mean and std of the training images on the [0, 1] scale."""
        x = self.train_x.float().div_(255)
        return x.mean(dim=(0, 2, 3)).tolist(), x.std(dim=(0, 2, 3)).clamp_min(1e-6).tolist()

    def limit(self, train: int | None = None, test: int | None = None) -> "ImageSplits":
        """The first ``train`` / ``test`` samples of each split (a quick subset; None keeps all)."""
        return ImageSplits(
            self.train_x[:train], self.train_y[:train], self.test_x[:test], self.test_y[:test],
            self.class_names, self.fingerprint,
        )


    # The loader protocol the training and evaluation code uses (a folder-backed source such as
    # Sub-ImageNet implements the same five methods with torch DataLoaders).
    def train_loader(self, excluded: int | None, batch_size: int, seed: int = 0, transform_set=None,
                     batches: int | None = None) -> "TensorLoader":
        """Shuffled batches of the training split without class ``excluded``, labels remapped.

        ``transform_set(x, y) -> (x, y)`` changes the uint8 training set first (e.g. Gaussian
        augmentation); ``batches``: batches per epoch (``TensorLoader``).
        """
        x, y = exclude_class(self.train_x, self.train_y, excluded)
        if transform_set is not None:
            x, y = transform_set(x, y)
        return TensorLoader(x, y, batch_size, shuffle=True, seed=seed, batches=batches)

    def test_loader(self, excluded: int | None, batch_size: int) -> "TensorLoader":
        """The test split without class ``excluded``, labels remapped, in order."""
        x, y = exclude_class(self.test_x, self.test_y, excluded)
        return TensorLoader(x, y, batch_size)

    def evaluation_loader(self, excluded: int, batch_size: int) -> "TensorLoader":
        """Eᵢ (method §1) in order; its labels are all ``excluded``."""
        x = evaluation_set(self, excluded)
        return TensorLoader(x, torch.full((len(x),), excluded, dtype=torch.long), batch_size)


DATASETS: Registry = Registry("dataset", catalog.DATASETS)


def load_dataset(
    name: str, data_dir: str | Path = "data", download: bool = True,
    train_limit: int | None = None, test_limit: int | None = None, options: dict | None = None,
) -> ImageSplits:
    """Load a registered dataset, optionally cut to its first samples.

    ``options`` are the source's own keyword arguments (e.g. Sub-ImageNet's ``mapping``).
    """
    splits = DATASETS.get(name)(Path(data_dir), download, **(options or {}))
    if train_limit or test_limit:
        splits = splits.limit(train_limit, test_limit)
    splits.fingerprint = f"{name}:{train_limit}:{test_limit}:{sorted((options or {}).items())}"
    return splits


def for_architecture(splits, architecture: str):
    """Set a folder-backed source's image size to what ``architecture`` expects (e.g. 299 for InceptionV3)."""
    from advtransfer.models.imagenet import INPUT_SIZES

    if architecture in INPUT_SIZES and not isinstance(splits, ImageSplits):
        splits.image_size = INPUT_SIZES[architecture]
    return splits


def remap_labels(y: torch.Tensor, excluded: int) -> torch.Tensor:
    """method §1: y → y if y < i, else y − 1 (for labels ≠ i)."""
    return torch.where(y > excluded, y - 1, y)


def exclude_class(x: torch.Tensor, y: torch.Tensor, excluded: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Drop every sample of class ``excluded`` and remap the rest to 0..N−2 (None: unchanged)."""
    if excluded is None:
        return x, y
    keep = y != excluded
    return x[keep], remap_labels(y[keep], excluded)


def evaluation_set(splits: ImageSplits, excluded: int) -> torch.Tensor:
    """Eᵢ of method §1: every image of class i from the train and the test split, uint8."""
    if not 0 <= excluded < splits.num_classes:
        raise ValueError(f"class {excluded} is outside 0..{splits.num_classes - 1}")
    return torch.cat([splits.train_x[splits.train_y == excluded], splits.test_x[splits.test_y == excluded]])


def to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 pixels 0–255 → float in [0, 1], the scale every classifier takes."""
    return x.float().div(255)  # not in place: float inputs (Gaussian augmentation) must stay intact


def ddp_rank_and_size() -> tuple[int, int]:
    """This process's rank and the number of processes when training with DDP, else (0, 1)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


class TensorLoader:
    """Batches of (float images in [0, 1], labels) from in-memory uint8 tensors.

    Shuffling uses a generator seeded by (seed, pass), so a resumed run sees the same order. Under
    DDP each process takes its equal share of a shuffled (training) pass. With ``batches`` an epoch
    is that many batches of consecutive shuffled passes (a training of a set number of iterations,
    method §4.10), so epochs need not end with a pass.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, shuffle: bool = False, seed: int = 0,
                 batches: int | None = None):
        if batch_size < 1 or (batches is not None and batches < 1):
            raise ValueError("batch_size and batches must be ≥ 1")
        self.x, self.y, self.batch_size, self.shuffle, self.seed = x, y, batch_size, shuffle, seed
        self.batches = batches if shuffle else None
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def to(self, device) -> "TensorLoader":
        """Keep the images on ``device`` (e.g. a GPU): batches are then cut there, with no copies."""
        self.x, self.y = self.x.to(device), self.y.to(device)
        return self

    def _size(self) -> int:
        return len(self.y) // ddp_rank_and_size()[1] if self.shuffle else len(self.y)

    def _batch_starts(self) -> range:
        # A shuffled (training) pass skips a last batch of one image: batch norm cannot train on it.
        n = self._size()
        end = n - 1 if self.shuffle and n > 1 and n % self.batch_size == 1 else n
        return range(0, end, self.batch_size)

    def _order(self, shuffled_pass: int) -> torch.Tensor:
        """This process's share of the shuffled pass ``shuffled_pass``."""
        g = torch.Generator().manual_seed(self.seed * 100_003 + shuffled_pass)
        rank, size = ddp_rank_and_size()
        return torch.randperm(len(self.y), generator=g)[rank::size][:self._size()].to(self.x.device)

    def __len__(self) -> int:
        return self.batches or len(self._batch_starts())

    def __iter__(self):
        starts = self._batch_starts()
        if not self.shuffle:
            for start in starts:
                yield to_float(self.x[start:start + self.batch_size]), self.y[start:start + self.batch_size]
            return
        first = self.epoch * len(self) if self.batches else self.epoch * len(starts)
        self.epoch += 1
        order, current = None, None
        for k in range(first, first + len(self)):
            shuffled_pass, j = divmod(k, len(starts))
            if shuffled_pass != current:
                order, current = self._order(shuffled_pass), shuffled_pass
            idx = order[starts[j]:starts[j] + self.batch_size]
            yield to_float(self.x[idx]), self.y[idx]
