"""DDN, decoupled direction and norm, L2 (adv-lib's implementation)."""

from __future__ import annotations

import torch
from torch import nn

from advtransfer.attacks import ATTACKS
from advtransfer.attacks.base import check_flag, check_number, to_unit_scale
from advtransfer.attacks.library import LibraryAttack


@ATTACKS.register("ddn")
class DDN(LibraryAttack):
    r"""
    DDN in the paper 'Decoupling Direction and Norm for Efficient Gradient-Based L2 Adversarial
    Attacks and Defenses' [https://arxiv.org/abs/1811.09600], adv-lib's ``ddn``: ``max_iter`` steps
    along the normalised gradient of the cross-entropy (step length on a cosine schedule from 1 to
    0.01), each followed by rescaling the perturbation to the L2 norm ε, with ε shrunk by a factor
    (1 − γ) while the iterate is adversarial and grown by (1 + γ) while it is not. Returns, per
    sample, the smallest adversarial iterate seen (the clean image if none was).

    Distance Measure : L2

    Arguments:
        model (nn.Module): model to attack; images in [0, 1] → class scores.
        max_iter (int): number of steps. (Default: 100)
        gamma (float): relative change of ε per step, in (0, 1). (Default: 0.05)
        init_norm (float): the first ε, L2 on the 0–255 pixel scale (adv-lib's 1 on [0, 1]). (Default: 255)
        quantize (bool): round every iterate to the 256 pixel levels, so that the adversarial image
            stays adversarial when saved as 8-bit. (Default: True)

    Shape: images (N, C, H, W), float in [0, 1]; labels (N,), the true classes; output like images.

    Examples::
        >>> attack = DDN(model, max_iter=100, gamma=0.05)
        >>> adv_images = attack(images, labels)
    """

    def __init__(self, model: nn.Module, max_iter: int = 100, gamma: float = 0.05, init_norm: float = 255.0,
                 quantize: bool = True):
        super().__init__(model)
        check_number("max_iter", max_iter, integer=True)
        check_number("gamma", gamma)
        if gamma >= 1:
            raise ValueError(f"gamma must be < 1, got {gamma!r}")
        check_number("init_norm", init_norm)
        check_flag("quantize", quantize)
        self.max_iter, self.gamma, self.init_norm, self.quantize = max_iter, gamma, init_norm, quantize

    def run(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        from adv_lib.attacks import ddn

        return ddn(model, x, y, steps=self.max_iter, γ=self.gamma, init_norm=to_unit_scale(self.init_norm),
                   levels=256 if self.quantize else None)
