"""Image sources: scikit-learn's 8×8 digits and torchvision's MNIST / Fashion-MNIST."""

from __future__ import annotations

import gzip
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

from advtransfer.constants import PIXEL_MAX
from advtransfer.data import DATASETS, DatasetNotFoundError, ImageSplits
from advtransfer.files import atomic_path, file_lock, load_torch

DIGITS_TEST_FRACTION = 0.2
DIGITS_SPLIT_SEED = 0


@DATASETS.register("digits")
def digits(data_dir: Path, download: bool) -> ImageSplits:
    """scikit-learn's real 8×8 digits (1797 images, shipped with the library: offline everywhere).

    Pixel values 0–16 are scaled to 0–255. A fixed stratified split (seed 0): 80% train, 20% test.
    The split is kept in ``<data_dir>/digits/`` (one file per scikit-learn version): the jobs that
    read it then skip importing scikit-learn, a second of each job's start.
    """
    from importlib.metadata import version

    cache = (data_dir / "digits" /
             f"split-{DIGITS_SPLIT_SEED}-{DIGITS_TEST_FRACTION}-scikit-learn-{version('scikit-learn')}.pt")
    stored = load_torch(cache, remake=True) if cache.exists() else None  # a damaged split is made again
    if stored is not None:
        try:
            return ImageSplits(**stored)
        except (TypeError, ValueError) as err:  # not the fields of a split: made again
            print(f"warning: {cache} is not a digits split ({err}); making it again", file=sys.stderr)
    splits = _split_digits()
    try:
        with atomic_path(cache) as tmp:  # jobs starting together each write the same file
            torch.save({k: getattr(splits, k) for k in ("train_x", "train_y", "test_x", "test_y", "class_names")}, tmp)
    except OSError as err:  # a read-only data folder: the split is made again next time
        print(f"warning: could not keep the digits split in {cache}: {err}", file=sys.stderr)
    return splits


def _split_digits() -> ImageSplits:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    x = np.rint(bunch.images * (PIXEL_MAX / 16.0)).astype(np.uint8)[:, None]
    y = bunch.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=DIGITS_TEST_FRACTION, random_state=DIGITS_SPLIT_SEED, stratify=y)
    return ImageSplits(torch.from_numpy(x_tr), torch.from_numpy(y_tr), torch.from_numpy(x_te),
                       torch.from_numpy(y_te), [str(d) for d in range(10)])


def _torchvision_idx(cls, folder: str, data_dir: Path, download: bool) -> ImageSplits:
    raw = data_dir / folder / "raw"
    files = [f"{s}-{k}-idx{d}-ubyte.gz" for s in ("train", "t10k") for k, d in (("images", 3), ("labels", 1))]
    hint = (f"expected the four official files {', '.join(files)} in {raw}/ "
            f"(torchvision downloads them there when `download: true` and the machine is online; "
            f"otherwise copy them there by hand)")
    try:
        # Jobs that start together on a fresh data folder take turns: one unpacks (or downloads), the
        # others then find the files ready instead of reading them half written.
        with file_lock(data_dir / f".{folder}.lock"):
            for name in files:  # a damaged unpacked file is unpacked again (or named, to be replaced)
                check_idx(raw / name.removesuffix(".gz"), raw / name)
            unpack_gz(raw, files)
            if download and not all((raw / f.removesuffix(".gz")).exists() for f in files):
                cls(str(data_dir), train=True, download=True)  # fetches and unpacks what is missing
        train = cls(str(data_dir), train=True, download=False)
        test = cls(str(data_dir), train=False, download=False)
    except DatasetNotFoundError:
        raise
    except RuntimeError as err:  # torchvision: "Dataset not found" or a failed download
        raise DatasetNotFoundError(f"{folder} not found: {hint}. ({err})") from err
    except OSError as err:  # network errors while downloading
        raise DatasetNotFoundError(f"{folder} could not be downloaded: {hint}. ({err})") from err
    return ImageSplits(train.data[:, None].contiguous(), train.targets.long(), test.data[:, None].contiguous(),
                       test.targets.long(), list(train.classes))


def check_idx(path: Path, packed: Path) -> None:
    """Remove an unpacked idx file whose size disagrees with its header (cut short, or damaged) so that
    it is unpacked again from ``packed``; without ``packed`` raise ``DatasetNotFoundError`` naming it."""
    if not path.exists():
        return
    with open(path, "rb") as f:
        header = f.read(4)
        ndim = header[3] if len(header) == 4 else 0
        dims = np.frombuffer(f.read(4 * ndim), dtype=">u4") if ndim else np.array([], dtype=">u4")
    expected = 4 + 4 * ndim + int(np.prod(dims.astype(np.int64))) if len(dims) == ndim and ndim else -1
    if path.stat().st_size == expected and header[:3] == b"\x00\x00\x08":
        return
    if packed.exists():
        print(f"warning: {path} is damaged ({path.stat().st_size} bytes, header says {expected}); unpacking "
              f"it again from {packed.name}", file=sys.stderr)
        path.unlink()
        return
    raise DatasetNotFoundError(f"{path} is damaged ({path.stat().st_size} bytes, its header says {expected}): "
                               f"delete it and put the official {packed.name} beside it (or set download: true)")


def unpack_gz(folder: Path, names: list[str]) -> None:
    """Unpack each ``folder/<name>.gz`` that has no unpacked copy yet, atomically (a killed job leaves none)."""
    for name in names:
        packed, unpacked = folder / name, folder / name.removesuffix(".gz")
        if packed.exists() and not unpacked.exists():
            try:
                with gzip.open(packed, "rb") as src, atomic_path(unpacked) as tmp, open(tmp, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
            except (OSError, EOFError) as err:
                raise DatasetNotFoundError(f"could not unpack {packed} into {folder}/: {err}") from err


@DATASETS.register("mnist")
def mnist(data_dir: Path, download: bool) -> ImageSplits:
    """MNIST through torchvision (``<data_dir>/MNIST/raw/``)."""
    from torchvision.datasets import MNIST

    return _torchvision_idx(MNIST, "MNIST", data_dir, download)


@DATASETS.register("fashion_mnist")
def fashion_mnist(data_dir: Path, download: bool) -> ImageSplits:
    """Fashion-MNIST through torchvision (``<data_dir>/FashionMNIST/raw/``)."""
    from torchvision.datasets import FashionMNIST

    return _torchvision_idx(FashionMNIST, "FashionMNIST", data_dir, download)
