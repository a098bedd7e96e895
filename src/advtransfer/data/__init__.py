"""Datasets (method §1–2): one registry of image sources, and the Raw Zero-Shot class removal.

A source is a ``Splits``: labels of a train and a test split, and a way to turn chosen samples of
them into a torch ``Dataset``. Class removal and the evaluation set Eᵢ are written once, in
``Splits``, for every source; its loaders are plain ``DataLoader``s. Small datasets live in memory
as tensors (``ImageSplits``, whose ``TensorImages`` hands out whole batches at once); Sub-ImageNet
decodes image files (``advtransfer.data.subimagenet``). Register a source with
``@DATASETS.register("name")`` on ``f(data_dir: Path, download: bool) -> Splits``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, DistributedSampler, Sampler, SequentialSampler

from advtransfer import catalog
from advtransfer.constants import PIXEL_MAX, shuffle_seed
from advtransfer.files import FileProblem
from advtransfer.own import DATA_MODULE
from advtransfer.registry import Registry


class DatasetNotFoundError(FileNotFoundError):
    """A dataset that is not on disk and could not be downloaded; the message says how to get it."""


class DamagedImageError(FileProblem, ValueError):
    """Image files that cannot be decoded (cut short, garbled): ``found`` holds (file, reason) pairs;
    the message names them and says to replace or delete them."""

    def __init__(self, found: list[tuple[Path, str]]):
        self.found = list(found)
        (path, reason), more = self.found[0], self.found[1:]
        others = "" if not more else (f" ({len(more)} more: {', '.join(str(p) for p, _ in more[:4])}"
                                      f"{', …' if len(more) > 4 else ''})")
        super().__init__(f"{path}: cannot be decoded ({reason}): replace it with a good copy or delete it, then "
                         f"run the workflow again{others}")


def open_image(path: str | Path, mode: str, draft: tuple[int, int] | None = None):
    """The image file at ``path`` decoded in full and converted to ``mode`` ("L", "RGB"; ``draft``: a
    JPEG may be decoded at a reduced scale at least this large); a file that cannot be decoded raises
    ``DamagedImageError`` naming it."""
    import zlib

    from PIL import Image

    try:
        with Image.open(path) as im:
            if draft:
                im.draft(mode, draft)
            return im.convert(mode)  # decodes every pixel: a truncated file fails here, not in a later job
    except (OSError, SyntaxError, ValueError, zlib.error, Image.DecompressionBombError) as err:
        raise DamagedImageError([(Path(path), " ".join(str(err).split()) or type(err).__name__)]) from None


def decode_all(paths, decode) -> list:
    """``decode(path)`` of every path, in order; every file that cannot be decoded (``DamagedImageError``)
    is named in one error, so that one run finds them all."""
    images, bad = [], []
    for path in paths:
        try:
            images.append(decode(path))
        except DamagedImageError as err:
            bad += err.found
    if bad:
        raise DamagedImageError(bad)
    return images


# --------------------------------------------------------------------------------- loaders


def to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 pixels 0–255 → float in [0, 1], the scale every classifier takes."""
    return x.float().div(PIXEL_MAX)  # not in place: float inputs (Gaussian augmentation) must stay intact


def shuffled_sampler(dataset: Dataset, seed: int = 0, rank: int = 0, world_size: int = 1) -> DistributedSampler:
    """Process ``rank``'s equal share of a shuffled pass over ``dataset`` (all of it for one process).

    Epoch e's order is a function of (seed, e) only: ``set_epoch(e)``, which Lightning calls at the
    start of each epoch, gives a resumed run the order of an uninterrupted one. The share is
    len // world_size samples; the remainder is left out of that epoch.
    """
    # seeds spaced apart (constants.shuffle_seed): DistributedSampler shuffles with seed + epoch
    return DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=shuffle_seed(seed),
                              drop_last=True)


def own_generator() -> torch.Generator:
    """A DataLoader's own generator. Without one, every pass over a loader draws its workers' base
    seed from torch's global generator, so the dropout masks of a training would depend on how many
    passes (training, test, evaluation) came before."""
    return torch.Generator().manual_seed(0)


class PassesSampler(DistributedSampler):
    """``samples`` indices per epoch, cut from consecutive shuffled passes over ``dataset``: a training
    of a set number of iterations (method §4.10), whose epochs need not end with a pass.

    Pass p is ``shuffled_sampler``'s epoch p (process ``rank``'s equal share of a pass seeded by
    (seed, p)); epoch e takes the samples e·``samples`` … (e+1)·``samples`` − 1 of the passes laid end
    to end, so its order is a function of (seed, e) only and a resumed run (``set_epoch``) repeats it.
    """

    def __init__(self, dataset: Dataset, samples: int, seed: int = 0, rank: int = 0, world_size: int = 1):
        super().__init__(dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=shuffle_seed(seed),
                         drop_last=True)
        if samples < 1 or self.num_samples < 1:
            raise ValueError(f"an epoch of {samples} samples from a share of {self.num_samples} (≥ 1 each)")
        self.samples = samples

    def __len__(self) -> int:
        return self.samples

    def _pass(self, shuffled_pass: int) -> list[int]:
        epoch, self.epoch = self.epoch, shuffled_pass
        try:
            return list(super().__iter__())
        finally:
            self.epoch = epoch

    def __iter__(self):
        shuffled_pass, offset = divmod(self.epoch * self.samples, self.num_samples)
        left = self.samples
        while left:
            part = self._pass(shuffled_pass)[offset:offset + left]
            yield from part
            left, shuffled_pass, offset = left - len(part), shuffled_pass + 1, 0


def drop_single_last(sampler: Sampler, batch_size: int) -> bool:
    """A shuffled (training) pass skips a last batch of one image: batch norm cannot train on it."""
    return len(sampler) > 1 and len(sampler) % batch_size == 1


class EpochBatches(BatchSampler):
    """A sampler's indices in batches, each a tensor (it indexes an in-memory set with no conversion);
    ``set_epoch`` reaches the sampler inside (Lightning calls it on a loader's ``sampler``)."""

    def __iter__(self):
        order = torch.tensor(list(self.sampler), dtype=torch.long)
        end = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
        for start in range(0, end, self.batch_size):
            yield order[start:start + self.batch_size]

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)


def as_is(batch):
    return batch


class TensorImages(Dataset):
    """In-memory images (uint8 or float on the 0–255 scale) and labels.

    ``dataset[indices]`` is a whole batch (float images in [0, 1], labels): its loader takes batches
    of indices as its samples (``batch_size=None``), with no per-sample Python work.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor):
        if len(x) != len(y):
            raise ValueError("images and labels differ in length")
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, index) -> tuple[torch.Tensor, torch.Tensor]:
        return to_float(self.x[index]), self.y[index]

    def to(self, device) -> "TensorImages":
        """Keep the images on ``device`` (e.g. a GPU): batches are then cut there, with no copies."""
        self.x, self.y = self.x.to(device), self.y.to(device)
        return self

    def transformed(self, transform_set) -> "TensorImages":
        """The set changed as a whole by ``transform_set(x, y) -> (x, y)`` (e.g. Gaussian augmentation)."""
        return TensorImages(*transform_set(self.x, self.y))

    def loader(self, batch_size: int, sampler: Sampler, drop_last: bool = False) -> DataLoader:
        """Its batches: the DataLoader's samples are batches of indices (``batch_size=None``), each
        fetched by one ``dataset[indices]``, passed on as they are."""
        return DataLoader(self, sampler=EpochBatches(sampler, batch_size, drop_last), batch_size=None,
                          collate_fn=as_is, generator=own_generator())


def tensor_loader(x: torch.Tensor, y: torch.Tensor, batch_size: int, shuffle: bool = False, seed: int = 0,
                  rank: int = 0, world_size: int = 1) -> DataLoader:
    """Batches of (float images in [0, 1], labels) of in-memory tensors; ``shuffle``: as a training pass
    (``shuffled_sampler``, a last batch of one image skipped), else in order."""
    if batch_size < 1:
        raise ValueError("batch_size must be ≥ 1")
    dataset = TensorImages(x, y)
    if not shuffle:
        return dataset.loader(batch_size, SequentialSampler(dataset))
    sampler = shuffled_sampler(dataset, seed, rank, world_size)
    return dataset.loader(batch_size, sampler, drop_single_last(sampler, batch_size))


# ------------------------------------------------------------------------------- sources


def remap_labels(y: torch.Tensor, excluded: int) -> torch.Tensor:
    """method §1: y → y if y < i, else y − 1 (for labels ≠ i)."""
    return torch.where(y > excluded, y - 1, y)


def without_class(y: torch.Tensor, excluded: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(indices, labels) of the samples not of class ``excluded``, labels remapped to 0..N−2
    (method §1; None: every sample, labels unchanged)."""
    if excluded is None:
        return torch.arange(len(y)), y
    index = torch.nonzero(y != excluded).flatten()
    return index, remap_labels(y[index], excluded)


class Splits:
    """A train and a test split of labelled images, and the loaders every job uses (method §1).

    A source sets ``train_y``, ``test_y`` (int64 labels) and ``class_names``, and defines
    ``samples(parts)``: the ``Dataset`` of the samples ``(split, indices, labels)`` of each part, in
    order, carrying the given labels; the dataset has ``loader(batch_size, sampler, drop_last)`` and
    ``transformed(transform_set)``.
    """

    train_y: torch.Tensor
    test_y: torch.Tensor
    class_names: list[str]

    def samples(self, parts: list[tuple[str, torch.Tensor, torch.Tensor]]) -> Dataset:
        raise NotImplementedError

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def split_without(self, split: str, excluded: int | None) -> Dataset:
        """``split`` ("train" or "test") without class ``excluded``, labels remapped (method §1)."""
        return self.samples([(split, *without_class(getattr(self, f"{split}_y"), excluded))])

    def evaluation_samples(self, excluded: int) -> Dataset:
        """Eᵢ (method §1): every sample of class ``excluded`` from the train, then the test split."""
        if not 0 <= excluded < self.num_classes:
            raise ValueError(f"class {excluded} is outside 0..{self.num_classes - 1}")
        parts = []
        for split in ("train", "test"):
            y = getattr(self, f"{split}_y")
            index = torch.nonzero(y == excluded).flatten()
            parts.append((split, index, y[index]))
        return self.samples(parts)

    def train_loader(self, excluded: int | None, batch_size: int, seed: int = 0, transform_set=None,
                     rank: int = 0, world_size: int = 1, batches: int | None = None) -> DataLoader:
        """Shuffled batches of the training split without class ``excluded``, labels remapped; under DDP
        process ``rank``'s share (``shuffled_sampler``). With ``batches``, an epoch is that many full
        batches of consecutive shuffled passes (``PassesSampler``).

        ``transform_set(x, y) -> (x, y)`` changes the training set (e.g. Gaussian augmentation): an
        in-memory set as a whole, first; a folder-backed set batch by batch.
        """
        if batch_size < 1 or (batches is not None and batches < 1):
            raise ValueError("batch_size and batches must be ≥ 1")
        dataset = self.split_without("train", excluded)
        if transform_set is not None:
            dataset = dataset.transformed(transform_set)
        if batches is not None:
            return dataset.loader(batch_size, PassesSampler(dataset, batches * batch_size, seed, rank, world_size))
        sampler = shuffled_sampler(dataset, seed, rank, world_size)
        return dataset.loader(batch_size, sampler, drop_single_last(sampler, batch_size))

    def test_loader(self, excluded: int | None, batch_size: int) -> DataLoader:
        """The test split without class ``excluded``, labels remapped, in order (never split under DDP)."""
        dataset = self.split_without("test", excluded)
        return dataset.loader(batch_size, SequentialSampler(dataset))

    def evaluation_loader(self, excluded: int, batch_size: int) -> DataLoader:
        """Eᵢ (method §1) in order; its labels are all ``excluded``."""
        dataset = self.evaluation_samples(excluded)
        return dataset.loader(batch_size, SequentialSampler(dataset))


@dataclass
class ImageSplits(Splits):
    """An in-memory source: uint8 images (n, C, H, W) and int64 labels of each split."""

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
    def in_channels(self) -> int:
        return self.train_x.shape[1]

    @property
    def image_size(self) -> int:
        return self.train_x.shape[-1]

    def channel_stats(self) -> tuple[list[float], list[float]]:
        """Per-channel mean and std of the training images on the [0, 1] scale."""
        x = self.train_x.float().div_(PIXEL_MAX)
        return x.mean(dim=(0, 2, 3)).tolist(), x.std(dim=(0, 2, 3)).clamp_min(1e-6).tolist()

    def limit(self, train: int | None = None, test: int | None = None) -> "ImageSplits":
        """The first ``train`` / ``test`` samples of each split (a quick subset; None keeps all)."""
        return ImageSplits(
            self.train_x[:train], self.train_y[:train], self.test_x[:test], self.test_y[:test],
            self.class_names, self.fingerprint,
        )

    def samples(self, parts: list[tuple[str, torch.Tensor, torch.Tensor]]) -> TensorImages:
        x = [getattr(self, f"{split}_x")[index] for split, index, _ in parts]
        return TensorImages(torch.cat(x), torch.cat([labels for _, _, labels in parts]))


DATASETS: Registry = Registry("dataset", catalog.DATASETS)


def load_dataset(
    name: str, data_dir: str | Path = "data", download: bool = True,
    train_limit: int | None = None, test_limit: int | None = None, options: dict | None = None,
    source: dict | None = None,
) -> Splits:
    """Load a registered dataset, or the own ``source`` (an image folder or a dataset class:
    ``advtransfer.own``), optionally cut to its first samples.

    ``options`` are the source's own keyword arguments (e.g. Sub-ImageNet's ``mapping``).
    """
    if source is not None:  # imported by name: only own sources' jobs count it (advtransfer.code)
        splits = importlib.import_module(DATA_MODULE).load_source(source, Path(data_dir), download)
    else:
        splits = DATASETS.get(name)(Path(data_dir), download, **(options or {}))
    if train_limit or test_limit:
        splits = splits.limit(train_limit, test_limit)
    splits.fingerprint = f"{name}:{train_limit}:{test_limit}:{sorted((options or {}).items())}" + (
        f":{sorted(source.items())}" if source is not None else "")
    return splits


def for_architecture(splits, architecture: str):
    """Set a folder-backed source's image size to what ``architecture`` expects (e.g. 299 for InceptionV3)."""
    from advtransfer.models.imagenet import INPUT_SIZES

    if architecture in INPUT_SIZES and not isinstance(splits, ImageSplits):
        splits.image_size = INPUT_SIZES[architecture]
    return splits
