"""Make the small real data sets the tests use, from the official files (run once; the results are
committed): the first images of MNIST's and Fashion-MNIST's train and test splits, in the official idx
format and file names, and a few CIFAR-10 JPEG files of each class.

    python tests/data/make_subsets.py OFFICIAL_DIR    # OFFICIAL_DIR/mnist, /fashion-mnist, /cifar10-jpeg-q75.tar.gz
"""

from __future__ import annotations

import gzip
import hashlib
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZES = {"mnist": (5000, 1000), "fashion-mnist": (3000, 1000)}  # (train, test) images
CIFAR_PER_CLASS = 2  # JPEG files per class and split


def subset(source: Path, target: Path, n: int) -> None:
    """The first ``n`` items of an idx file (``.gz``), header rewritten, gzipped without a timestamp."""
    data = gzip.decompress(source.read_bytes())
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    item = 1
    for d in dims[1:]:
        item *= d
    header = data[:4] + n.to_bytes(4, "big") + data[8: 4 + 4 * ndim]
    body = data[4 + 4 * ndim: 4 + 4 * ndim + n * item]
    target.write_bytes(gzip.compress(header + body, mtime=0))


def main(official: Path) -> None:
    for name, (n_train, n_test) in SIZES.items():
        out = HERE / name
        out.mkdir(exist_ok=True)
        for split, n in (("train", n_train), ("t10k", n_test)):
            for kind, d in (("images", 3), ("labels", 1)):
                file = f"{split}-{kind}-idx{d}-ubyte.gz"
                subset(official / name / file, out / file, n)
    wanted = {}
    with tarfile.open(official / "cifar10-jpeg-q75.tar.gz") as tar:
        for member in tar:
            key = tuple(member.name.split("/")[:2])
            if member.isfile() and wanted.get(key, 0) < CIFAR_PER_CLASS:
                wanted[key] = wanted.get(key, 0) + 1
                tar.extract(member, HERE / "cifar10", filter="data")
    for path in sorted(p for p in HERE.rglob("*") if p.is_file() and p.suffix in (".gz", ".jpg")):
        print(hashlib.md5(path.read_bytes()).hexdigest(), path.relative_to(HERE))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
