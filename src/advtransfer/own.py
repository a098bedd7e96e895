"""Your own models and data, named in the config (README, "Your own models and data").

* An architecture ``datasets.<d>.architectures.<a>`` with ``model: "package.module:Name"`` (or
  ``"path/to/file.py:Name"``, relative to the working directory) and ``model_kwargs: {...}`` is
  built as ``Name(num_classes=N, input_shape=(C, H, W), **model_kwargs)``: N outputs (the classes
  its training sees), inputs of C channels, H × W pixels, standardised per channel (H = W: the
  study's images are square). ``advtransfer.models.own`` wraps it like a registered architecture.
* A dataset with ``image_folder: <root>`` reads ``<root>/train/<class>/*`` and
  ``<root>/test/<class>/*`` (.png, .jpg, .jpeg); the classes are the folder names, sorted. One with
  ``dataset_class: "package.module:Name"`` and ``dataset_kwargs: {...}`` builds a torchvision-style
  dataset, e.g. ``torchvision.datasets:SVHN`` (``advtransfer.data.folders``).

This module reads these keys and checks image folders with the standard library only: the
Snakefile uses it while it is parsed, without torch.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import sys
from pathlib import Path

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
SPLITS = ("train", "test")
MODEL_MODULE = "advtransfer.models.own"  # builds own architectures
DATA_MODULE = "advtransfer.data.folders"  # loads image folders and dataset classes
SOURCE_KEYS = ("image_folder", "dataset_class")


# ----------------------------------------------------------------------------- config


def model_spec(dataset_cfg: dict, architecture: str) -> dict | None:
    """The own model of ``architecture`` ({"model", "model_kwargs"}); None for a registered one."""
    spec = dataset_cfg["architectures"][architecture]
    if "model" not in spec:
        return None
    return {"model": spec["model"], "model_kwargs": dict(spec.get("model_kwargs") or {})}


def source_spec(dataset_cfg: dict) -> dict | None:
    """The own data source of a dataset (its ``image_folder`` or ``dataset_class`` keys); None for a
    registered dataset."""
    if "image_folder" in dataset_cfg:
        spec = {"image_folder": str(dataset_cfg["image_folder"])}
    elif "dataset_class" in dataset_cfg:
        spec = {"dataset_class": dataset_cfg["dataset_class"],
                "dataset_kwargs": dict(dataset_cfg.get("dataset_kwargs") or {})}
    else:
        return None
    if dataset_cfg.get("image_size"):
        spec["image_size"] = int(dataset_cfg["image_size"])
    return spec


def split_ref(ref: str) -> tuple[str, str]:
    """``"module:Name"`` → (module, Name); a ``ValueError`` saying the form otherwise."""
    module, sep, attr = str(ref).rpartition(":")
    if not sep or not module or not attr.isidentifier():
        raise ValueError("give it as 'package.module:Name' or 'path/to/file.py:Name'")
    return module, attr


def is_file_ref(module: str) -> bool:
    return module.endswith(".py") or "/" in module or os.sep in module


# ----------------------------------------------------------------------------- finding and importing


def search_path() -> list[Path]:
    """Where a dotted module is looked for, in order: PYTHONPATH, this Python's path, the working directory."""
    entries = [*os.environ.get("PYTHONPATH", "").split(os.pathsep), *sys.path, os.getcwd()]
    return [Path(e).resolve() for e in dict.fromkeys(e for e in entries if e)]


def file_under(root: Path, name: str) -> Path | None:
    """The source file of module ``name`` below import root ``root`` (None when it has none there)."""
    base = root.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def installed(path: Path) -> bool:
    """Whether ``path`` belongs to an installed distribution (site-packages): a library, not your code."""
    return any(part in ("site-packages", "dist-packages") for part in path.parts)


def locate(module: str) -> tuple[str, Path, Path] | None:
    """(name, source file, import root) of ``module`` (a dotted name or a .py path), found without
    importing it; None when no source file is found (a compiled module, or none at all)."""
    if is_file_ref(module):
        path = Path(module).resolve()
        return (path.stem, path, path.parent) if path.is_file() else None
    for root in search_path():
        path = file_under(root, module)
        if path is not None:
            return module, path, root
    return None


def module_missing(module: str) -> bool:
    """Whether ``module`` certainly cannot be imported (checked without importing anything of it)."""
    if locate(module) is not None:
        return False
    if is_file_ref(module):
        return True
    top = module.split(".")[0]
    return all(file_under(root, top) is None and not (root / top).is_dir() for root in search_path()) \
        and importlib.util.find_spec(top) is None


def load_object(ref: str):
    """The object ``ref`` ("package.module:Name" or "path/to/file.py:Name") names, imported.

    A file is imported as a module named after it, its folder added to the import path (so that it
    can import the files beside it); a dotted module not on the import path is also looked for in the
    working directory.
    """
    module, attr = split_ref(ref)
    if is_file_ref(module):
        path = Path(module).resolve()
        if not path.is_file():
            raise ModuleNotFoundError(f"no file {path}")
        loaded = sys.modules.get(path.stem)
        if loaded is None or Path(getattr(loaded, "__file__", "") or "").resolve() != path:
            if str(path.parent) not in sys.path:
                sys.path.append(str(path.parent))
            spec = importlib.util.spec_from_file_location(path.stem, path)
            loaded = importlib.util.module_from_spec(spec)
            sys.modules[path.stem] = loaded
            try:
                spec.loader.exec_module(loaded)
            except BaseException:
                del sys.modules[path.stem]
                raise
    else:
        try:
            loaded = importlib.import_module(module)
        except ModuleNotFoundError as err:
            if os.getcwd() in sys.path or err.name != module.split(".")[0]:
                raise
            sys.path.append(os.getcwd())
            loaded = importlib.import_module(module)
    try:
        return getattr(loaded, attr)
    except AttributeError:
        raise AttributeError(f"module {module} has no {attr!r}") from None


# ----------------------------------------------------------------------------- image folders


def image_files(folder: Path) -> list[Path]:
    """The image files (.jpg, .jpeg, .png in any case) directly in ``folder``, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def folder_layout(root: str | Path) -> dict:
    """The classes (sorted folder names) and each split's image files of an image folder, with a
    ``ValueError`` saying what to fix: a missing ``train/`` or ``test/``, class folders that differ
    between them, an empty class folder. Read again only when a folder in it changes (its time)."""
    return _layout(Path(root), _stamp(Path(root)))


def _stamp(root: Path) -> tuple:
    folders = [root, *(root / s for s in SPLITS)]
    folders += [p for s in SPLITS if (root / s).is_dir() for p in (root / s).iterdir()]
    return tuple((str(f), f.stat().st_mtime_ns) for f in folders if f.is_dir())


@functools.lru_cache(maxsize=None)
def _layout(root: Path, stamp: tuple) -> dict:
    if not root.is_dir():
        raise ValueError(f"no folder {root}; give a folder holding train/<class>/ and test/<class>/")
    classes = {}
    for split in SPLITS:
        if not (root / split).is_dir():
            raise ValueError(f"{root} has no {split}/ folder; put the {split} images in {root}/{split}/<class>/")
        classes[split] = sorted(p.name for p in (root / split).iterdir() if p.is_dir())
        if not classes[split]:
            raise ValueError(f"{root / split} has no class folders; put the images in {root}/{split}/<class>/")
    if classes["train"] != classes["test"]:
        only = {s: sorted(set(classes[s]) - set(classes[o])) for s, o in (("train", "test"), ("test", "train"))}
        raise ValueError(f"train/ and test/ have different class folders (only in train/: {only['train']}, "
                         f"only in test/: {only['test']}); give both the same classes")
    files = {}
    for split in SPLITS:
        per_class = [image_files(root / split / c) for c in classes["train"]]
        empty = [c for c, found in zip(classes["train"], per_class) if not found]
        if empty:
            raise ValueError(f"{root / split / empty[0]} holds no images ({', '.join(IMAGE_SUFFIXES)}); add some "
                             f"or remove the class {empty[0]!r} from train/ and test/")
        files[split] = [(path, label) for label, found in enumerate(per_class) for path in found]
    return {"classes": classes["train"], "files": files}
