"""An image folder of one's own for the tests: PNGs of scikit-learn's real 8×8 digits."""

from pathlib import Path

import numpy as np
from PIL import Image


def write_digit_folder(root: Path, digits=(0, 1, 2, 3), train: int = 40, test: int = 10, names=None) -> Path:
    """``root/{train,test}/<name>/*.png``: ``train`` and ``test`` images of each digit (class folder
    ``names[k]``, default ``digit<d>``), taken in order from scikit-learn's digits."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)
    for k, digit in enumerate(digits):
        name = names[k] if names else f"digit{digit}"
        chosen = images[bunch.target == digit][:train + test]
        for split, part in (("train", chosen[:train]), ("test", chosen[train:])):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i, image in enumerate(part):
                Image.fromarray(image, mode="L").save(folder / f"{i:03d}.png")
    return root


class FakeDigits:
    """A torchvision-style dataset class (``root``, ``train``, ``download``; items (PIL image, label))
    of the first 60 / 20 digits 0–2, read from scikit-learn, never downloaded."""

    classes = ["zero", "one", "two"]

    def __init__(self, root: str, train: bool = True, download: bool = False, scale: int = 1):
        from sklearn.datasets import load_digits

        bunch = load_digits()
        keep = bunch.target < 3
        images = np.rint(bunch.images[keep] * (255.0 / 16.0)).astype(np.uint8)
        part = slice(0, 60) if train else slice(60, 80)
        self.images, self.targets = images[part].repeat(scale, 1).repeat(scale, 2), bunch.target[keep][part]

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i):
        return Image.fromarray(self.images[i], mode="L"), int(self.targets[i])


class SplitDigits(FakeDigits):
    """As ``FakeDigits``, asked for a split by ``split="train"|"test"`` (as torchvision's SVHN)."""

    def __init__(self, root: str, split: str = "train"):
        super().__init__(root, train=split == "train")
