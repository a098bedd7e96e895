"""What every benchmark shares: where the data are, timing, and writing the results with their provenance.

Data: ``--data DIR`` or the environment variable ``ADVTRANSFER_DATA``, a folder with the layout of
``tests/data`` (``mnist/`` and ``fashion-mnist/`` holding the four official ``*-ubyte.gz`` files,
``cifar10/{train,test}/<class>/*.jpg`` or ``cifar10-jpeg-q75.tar.gz``); by default the small real
subsets shipped in ``tests/data`` (MNIST 5,000 / 1,000, Fashion-MNIST 3,000 / 1,000, CIFAR-10 2 JPEGs
per class and split). The benchmarks read them through a working copy in ``benchmarks/out/data/``
(links to the files, the unpacked idx files, CIFAR-10's decoded-image cache), so the data folder is
never written to.

Results: ``write_results(name, payload, params)`` writes ``benchmarks/results/<name>.json``: the
figures, the parameters, and their provenance (git commit and whether the tree had changes, the
date in UTC, the machine: CPU model, CPU count, torch threads; the torch version, the command
line, the load average at the start and the end of the run: the machine may be shared). It copies
the file to ``docs/benchmarks/<name>.json`` and refreshes the docs' quotes of it
(``docs/results/collect.py``). A run with ``--quick`` (tiny sizes, seconds to a minute: it checks
that every part of a script runs) says ``"quick": true``: its figures mean little.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOCS_COPY = ROOT / "docs" / "benchmarks"
WORK = ROOT / "benchmarks" / "out"
SHIPPED_DATA = ROOT / "tests" / "data"
DATA_ENV = "ADVTRANSFER_DATA"
# where torchvision's MNIST-like sources look for their raw files, per dataset
IDX_FOLDERS = {"mnist": ("mnist", "MNIST"), "fashion_mnist": ("fashion-mnist", "FashionMNIST")}

# the run's start, for its provenance (the helper is imported when a benchmark starts)
STARTED = {"wall": time.perf_counter(), "loadavg": os.getloadavg()}


# ---------------------------------------------------------------- command line


def parser(description: str, threads: int | None = None, data: bool = True,
           with_threads: bool = True) -> argparse.ArgumentParser:
    """An argument parser with the options the benchmarks share: ``--quick``, and ``--data`` and ``--threads``
    where the script reads data files and runs torch in its own process."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="tiny sizes: checks in seconds to a minute that every part runs (the figures mean little)")
    if data:
        p.add_argument("--data", type=Path, default=None,
                       help=f"data folder with the layout of tests/data (default: ${DATA_ENV}, else tests/data's "
                            "shipped subsets)")
    if with_threads:
        p.add_argument("--threads", type=int, default=threads,
                       help="torch threads" + (f" (default {threads})" if threads else " (default: torch's)"))
    return p


def set_threads(args: argparse.Namespace) -> int:
    """Apply ``--threads`` (when given); the number of torch threads the run uses."""
    import torch

    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    return torch.get_num_threads()


# ---------------------------------------------------------------- data


def data_root(value: str | Path | None = None) -> Path:
    """The data folder: ``value`` (``--data``), else ``$ADVTRANSFER_DATA``, else the shipped subsets."""
    return Path(value or os.environ.get(DATA_ENV) or SHIPPED_DATA).resolve()


def describe_data(root: Path) -> str:
    """The data folder as the results name it: relative to the repository when inside it."""
    root = Path(root).resolve()
    return str(root.relative_to(ROOT)) if root.is_relative_to(ROOT) else str(root)


def work_dir(root: Path) -> Path:
    """The working copy of ``root``'s data (one per data folder) under ``benchmarks/out/data``."""
    key = hashlib.sha1(str(Path(root).resolve()).encode()).hexdigest()[:8]
    return WORK / "data" / f"{Path(root).name}-{key}"


def prepare(name: str, root: Path) -> Path:
    """A data directory from which ``load_dataset(name, ..., download=False)`` reads ``root``'s copy of ``name``."""
    root, work = Path(root).resolve(), work_dir(root)
    if name in IDX_FOLDERS:
        folder, torchvision_folder = IDX_FOLDERS[name]
        files = sorted((root / folder).glob("*-ubyte.gz"))
        if len(files) != 4:
            raise SystemExit(f"{root / folder} should hold the four official {folder} *-ubyte.gz files")
        raw = work / torchvision_folder / "raw"
        raw.mkdir(parents=True, exist_ok=True)
        for f in files:
            if not (raw / f.name).exists():
                (raw / f.name).symlink_to(f)
    elif name == "cifar10":
        target = work / "cifar10"
        if not target.is_dir():
            archive = root / "cifar10-jpeg-q75.tar.gz"
            if (root / "cifar10").is_dir():  # links to the files: the decoded-image cache is written here
                shutil.copytree(root / "cifar10", target, copy_function=os.symlink,
                                ignore=shutil.ignore_patterns("cache.pt"))
            elif archive.exists():
                print(f"unpacking {archive} into {target} (once) ...", flush=True)
                with tarfile.open(archive) as tar:
                    tar.extractall(target, filter="data")
            else:
                raise SystemExit(f"{root} holds neither cifar10/ nor cifar10-jpeg-q75.tar.gz")
    else:
        raise ValueError(f"no data folder for {name!r}: the benchmarks read mnist, fashion_mnist and cifar10")
    return work


def load(name: str, root: Path, train: int | None = None, test: int | None = None):
    """``name`` (mnist, fashion_mnist, cifar10) from ``root``, cut to its first ``train`` / ``test`` images."""
    from advtransfer.data import load_dataset

    return load_dataset(name, prepare(name, root), download=False, train_limit=train, test_limit=test)


# ---------------------------------------------------------------- timing


def timed(function, *args, **kwargs):
    """``(result, wall seconds, CPU seconds)`` of ``function(*args, **kwargs)``; CPU time is the process's,
    all threads: on a shared machine it says what the work cost, where wall time also says what it waited."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


class Clock:
    """``with Clock() as c: ...`` then ``c.wall`` and ``c.cpu`` (seconds; the process's CPU time, all threads)."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu
        return False


# ---------------------------------------------------------------- provenance and results


def git_state() -> dict:
    """The commit, and whether the tree had changes (outside the results this helper writes)."""
    def git(*args: str) -> str:
        run = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return run.stdout.strip() if run.returncode == 0 else ""

    status = git("status", "--porcelain", "--", ".", ":!benchmarks/results", ":!docs/benchmarks",
                 ":!docs/benchmarks.md")
    return {"commit": git("rev-parse", "HEAD") or None, "uncommitted_changes": bool(status)}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def provenance() -> dict:
    import torch

    argv = [str(Path(sys.argv[0]).resolve().relative_to(ROOT)) if Path(sys.argv[0]).resolve().is_relative_to(ROOT)
            else sys.argv[0], *sys.argv[1:]]
    return {
        **git_state(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {"cpu": cpu_model(), "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "system": f"{platform.system()} {platform.machine()}",
                    "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None},
        "python": platform.python_version(),
        "torch": torch.__version__,
        "command": " ".join(["python", *argv]),
        "loadavg_start": [round(v, 2) for v in STARTED["loadavg"]],
        "loadavg_end": [round(v, 2) for v in os.getloadavg()],
        "wall_s": round(time.perf_counter() - STARTED["wall"], 1),
    }


def tidy(value, digits: int = 4):
    """``value`` for JSON: floats to ``digits`` significant digits, NaN and infinities as null, paths and
    tensors as plain values, tuples as lists."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return float(f"{value:.{digits}g}")
    if isinstance(value, dict):
        return {str(k): tidy(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [tidy(v, digits) for v in value]
    if isinstance(value, Path):
        return describe_data(value) if value.is_absolute() else str(value)
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:  # numpy / torch scalars
        return tidy(value.item(), digits)
    if hasattr(value, "tolist"):
        return tidy(value.tolist(), digits)
    return str(value)


def to_json(value, level: int = 0, width: int = 110) -> str:
    """JSON, one key per line, but a list of plain values, or an object of plain values that fits in
    ``width`` characters, on one line."""
    flat = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    plain = isinstance(value, (list, dict)) and not any(
        isinstance(v, (list, dict)) for v in (value.values() if isinstance(value, dict) else value))
    if not isinstance(value, (list, dict)) or not value or (plain and (isinstance(value, list)
                                                                       or len(flat) + level <= width)):
        return flat
    pad, end = " " * (level + 1), " " * level
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(k, ensure_ascii=False)}: {to_json(v, level + 1, width)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + end + "}"
    return "[\n" + ",\n".join(pad + to_json(v, level + 1, width) for v in value) + "\n" + end + "]"


def write_results(name: str, payload: dict, params: dict | argparse.Namespace | None = None) -> Path:
    """Write ``benchmarks/results/<name>.json`` (``payload``: its ``summary`` first, then the details)
    with the parameters and the provenance; copy it to ``docs/benchmarks/`` and refresh the docs'
    quotes. ``params["quick"]`` marks a quick run."""
    params = vars(params) if isinstance(params, argparse.Namespace) else dict(params or {})
    if "data" in params:
        params["data"] = describe_data(data_root(params["data"]))
    record = {"benchmark": name, "quick": bool(params.get("quick", False))}
    if "summary" in payload:
        record["summary"] = payload["summary"]
    record.update({k: v for k, v in payload.items() if k != "summary"})
    record["parameters"] = params
    record["provenance"] = provenance()
    text = to_json(tidy(record)) + "\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    DOCS_COPY.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(text)
    (DOCS_COPY / f"{name}.json").write_text(text)
    refreshed = refresh_docs()
    print(f"\nwrote {path.relative_to(ROOT)} and docs/benchmarks/{name}.json"
          + (f"; refreshed the quotes in {', '.join(refreshed)}" if refreshed else "")
          + (" (a quick run: its figures mean little)" if record["quick"] else ""))
    return path


def refresh_docs() -> list[str]:
    """Rewrite the docs' include blocks (as ``docs/results/collect.py --refresh`` does, but leaving alone a
    block whose file is not there yet, e.g. another benchmark's not yet run); the pages that changed."""
    spec = importlib.util.spec_from_file_location("collect", ROOT / "docs" / "results" / "collect.py")
    collect = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(collect)

    def quote(m):
        source = collect.DOCS / m.group(2)
        return m.group(1) + collect.quoted(source) + m.group(4) if source.is_file() else m.group(0)

    changed = []
    for page in collect.pages():
        text = page.read_text()
        new = collect.BLOCK.sub(quote, text)
        if new != text:
            page.write_text(new)
            changed.append(str(page.relative_to(ROOT)))
    return changed


def ratio(a: float, b: float) -> float:
    """a / b, NaN when b is 0."""
    return a / b if b else float("nan")
