"""Paper 1's attacks (method §2): FGM (minimal), BIM, PGD, DeepFool, NewtonFool; and, beyond the papers,
the minimum-norm attacks FMN (L2, L∞) and DDN and AutoAttack's APGD-CE (the project's own code, following
the authors' algorithms as adv-lib implements them).

Register an attack with ``@ATTACKS.register("name")`` (and its module in ``advtransfer.catalog.ATTACKS``)
on an ``Attack`` subclass whose constructor takes ``model`` and then the attack's config parameters as
keyword arguments (magnitudes on the 0–255 pixel scale); ``build_attack`` instantiates one from the
config. An attack that needs more than its parameters gets it as constructor arguments too (LOTS's
``targets``, class attribute ``needs_targets``): nothing is set on an attack after it is built.
Conventions shared by all attacks are in ``advtransfer.attacks.base``.
"""

from __future__ import annotations

from torch import nn

from advtransfer import catalog
from advtransfer.registry import Registry

ATTACKS: Registry = Registry("attack", catalog.ATTACKS)


def build_attack(name: str, model: nn.Module, targets=None, **params):
    """The registered attack ``name`` on ``model`` with its config ``params``, and ``targets`` for an
    attack that ``needs_targets`` (LOTS: one target image per class).

    An unknown name raises ``UnknownNameError`` (a ``KeyError`` listing the known attacks); an
    unknown parameter or a bad value raises ``ValueError``.
    """
    cls = ATTACKS.get(name)
    try:
        return cls(model, **params, **({} if targets is None else {"targets": targets}))
    except (TypeError, ValueError) as err:
        raise ValueError(f"attack {name!r}: bad parameters {params!r} ({err})") from None


# The classes, imported on first use (``from advtransfer.attacks import PGD``): a job imports only its attack.
_CLASSES = {"Attack": "base", "to_unit_scale": "base", "BIM": "bim", "DeepFool": "deepfool", "FGM": "fgm",
            "NewtonFool": "newtonfool", "PGD": "pgd", "APGD": "apgd", "DDN": "ddn", "FMNL2": "fmn", "FMNLinf": "fmn"}


def __getattr__(name: str):
    if name in _CLASSES:
        import importlib

        return getattr(importlib.import_module(f"advtransfer.attacks.{_CLASSES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
