"""Which shipped preset a run uses (README "Configuration"), told by the config files' contents, so
that the same config under another name or path is the same study. Standard library only: the
Snakefile calls it while it is parsed."""

from __future__ import annotations

from pathlib import Path

CUSTOM = "a custom config file"


def preset_names(configfiles, root: str | Path) -> str:
    """The run's config files as the presets they equal byte for byte (``config/config.yaml``,
    ``config/mnist.yaml``, ...), else ``a custom config file``; comma-separated, in order."""
    root = Path(root)
    shipped = sorted((root / "config").glob("*.yaml"))
    by_content = {p.read_bytes(): p.relative_to(root).as_posix() for p in shipped if p.is_file()}
    names = [by_content.get(Path(f).read_bytes(), CUSTOM) if Path(f).is_file() else CUSTOM for f in configfiles]
    return ", ".join(names) or CUSTOM
