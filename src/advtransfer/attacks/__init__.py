"""Paper 1's attacks (method §2): FGM (minimal), BIM, PGD, DeepFool, NewtonFool.

Register an attack with ``@ATTACKS.register("name")`` on an ``Attack`` subclass whose constructor
takes ``model`` and then the attack's config parameters as keyword arguments (magnitudes on the
0–255 pixel scale); ``build_attack`` instantiates one from the config. Conventions shared by all
attacks are in ``advtransfer.attacks.base``.
"""

from __future__ import annotations

from torch import nn

from advtransfer.registry import Registry

ATTACKS: Registry = Registry("attack")


def build_attack(name: str, model: nn.Module, **params):
    """The registered attack ``name`` on ``model`` with its config ``params``.

    An unknown name raises ``UnknownNameError`` (a ``KeyError`` listing the known attacks); an
    unknown parameter or a bad value raises ``ValueError``.
    """
    cls = ATTACKS.get(name)
    try:
        return cls(model, **params)
    except (TypeError, ValueError) as err:
        raise ValueError(f"attack {name!r}: bad parameters {params!r} ({err})") from None


# Import the attack modules so they register themselves.
from advtransfer.attacks import bim, deepfool, fgm, newtonfool, pgd  # noqa: E402,F401
from advtransfer.attacks.base import Attack, to_unit_scale  # noqa: E402,F401
from advtransfer.attacks.bim import BIM  # noqa: E402,F401
from advtransfer.attacks.deepfool import DeepFool  # noqa: E402,F401
from advtransfer.attacks.fgm import FGM  # noqa: E402,F401
from advtransfer.attacks.newtonfool import NewtonFool  # noqa: E402,F401
from advtransfer.attacks.pgd import PGD  # noqa: E402,F401
