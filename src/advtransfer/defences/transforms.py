"""Input-transform defences of method §2.5: feature squeezing, spatial smoothing, thermometer encoding.

Each transform is an ``nn.Module`` on float images in [0, 1], shape (B, C, H, W), placed in front of
the classifier at train and test time. None of the three is usefully differentiable (rounding, a
median, a step function), so each passes gradients straight through (BPDA, Athalye et al. 2018, as
ART's ``estimate_gradient`` does): the backward pass treats the transform as the identity. Attacks
on a defended classifier therefore see the gradient of the classifier behind the transform,
evaluated at the transformed input.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from advtransfer.defences import DEFENCES, Defence, check_param, is_int


def straight_through(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``y`` in the forward pass, the identity (∂/∂x = 1) in the backward pass; same shapes."""
    return x + (y - x).detach()


class FeatureSqueezing(nn.Module):
    """Colour bit-depth reduction (Xu et al. 2018): x ↦ round(x·(2^b − 1)) / (2^b − 1).

    Rounding is half to even (``torch.round``, as numpy's ``rint`` in ART). Gradient: straight-through.
    """

    def __init__(self, bits: int = 5):
        super().__init__()
        self.bits = bits
        self.levels = 2 ** bits - 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return straight_through(x, torch.round(x * self.levels) / self.levels)

    def extra_repr(self) -> str:
        return f"bits={self.bits}"


def reflect_index(n: int, pad: int, device=None) -> torch.Tensor:
    """Indices of a length-``n`` axis padded by ``pad`` on each side, scipy.ndimage's 'reflect' mode.

    'reflect' mirrors about the edge and repeats the edge pixel (d c b a | a b c d | d c b a), the
    default border of ``scipy.ndimage.median_filter`` used by ART's ``SpatialSmoothing``.
    """
    i = torch.arange(-pad, n + pad, device=device)
    period = 2 * n
    i = torch.remainder(i, period)
    return torch.where(i < n, i, period - 1 - i)


class SpatialSmoothing(nn.Module):
    """Median filter over a ``window`` × ``window`` neighbourhood, per channel (Xu et al. 2018).

    Borders: scipy.ndimage's 'reflect' padding (see ``reflect_index``), so the output equals
    ``scipy.ndimage.median_filter(x, size=(1, 1, window, window), mode="reflect")``.
    Gradient: straight-through (the median's subgradient would reach one pixel per window only).
    """

    def __init__(self, window: int = 3):
        super().__init__()
        self.window = window

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.window == 1:
            return x
        b, c, h, w = x.shape
        pad = self.window // 2
        padded = x.detach().index_select(2, reflect_index(h, pad, x.device))
        padded = padded.index_select(3, reflect_index(w, pad, x.device))
        patches = F.unfold(padded.reshape(b * c, 1, h + 2 * pad, w + 2 * pad), self.window)  # (BC, k², HW)
        median = patches.median(dim=1).values.reshape(b, c, h, w)
        return straight_through(x, median)

    def extra_repr(self) -> str:
        return f"window={self.window}"


class ThermometerEncoding(nn.Module):
    """Thermometer code of each channel (Buckman et al. 2018) with ``levels`` levels.

    Channel c of the input becomes the output channels c·levels + k, k = 0 … levels − 1, with
    τ_k(x) = 1 if x ≥ k / levels else 0 (so τ_0 = 1 always; a pixel x lights the first
    ⌊x·levels⌋ + 1 codes, capped at ``levels``). For pixels i/255 this equals ART's
    ``ThermometerEncoding`` (x > k/levels), since k/16 is never an exact i/255 for 0 < k < 16.
    The output is binary, so it is not standardised (``standardize = False``).
    Gradient: straight-through per code: each of the ``levels`` codes of a pixel passes its
    gradient to that pixel unchanged, so ∂/∂x = Σ_k ∂/∂τ_k (the slope of Σ_k τ_k ≈ levels·x).
    """

    standardize = False

    def __init__(self, levels: int = 16):
        super().__init__()
        self.levels = levels
        self.register_buffer("thresholds", torch.arange(levels, dtype=torch.float32) / levels, persistent=False)

    def out_channels(self, channels: int) -> int:
        return channels * self.levels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        repeated = x.repeat_interleave(self.levels, dim=1)  # channel c·levels + k holds x_c
        thresholds = self.thresholds.to(x.dtype).repeat(c).view(1, c * self.levels, 1, 1)
        codes = (repeated.detach() >= thresholds).to(x.dtype)
        return straight_through(repeated, codes)

    def extra_repr(self) -> str:
        return f"levels={self.levels}"


@DEFENCES.register("feature_squeezing")
class FeatureSqueezingDefence(Defence):
    """FS of method §2.5: ``bits`` colour bits (default 5) at train and test time."""

    name = "feature_squeezing"

    def __init__(self, bits: int = 5):
        check_param(self.name, "bits", bits, is_int(bits) and 1 <= bits <= 8, "an integer in 1..8")
        self.bits = bits

    def input_transforms(self) -> list[nn.Module]:
        return [FeatureSqueezing(self.bits)]


@DEFENCES.register("spatial_smoothing")
class SpatialSmoothingDefence(Defence):
    """SS of method §2.5: median filter, ``window`` × ``window`` (default 3), at train and test time."""

    name = "spatial_smoothing"

    def __init__(self, window: int = 3):
        check_param(self.name, "window", window, is_int(window) and window >= 1 and window % 2 == 1,
                    "an odd integer ≥ 1")
        self.window = window

    def input_transforms(self) -> list[nn.Module]:
        return [SpatialSmoothing(self.window)]


@DEFENCES.register("thermometer_encoding")
class ThermometerEncodingDefence(Defence):
    """TE of method §2.5: each channel → ``levels`` thermometer channels (default 16)."""

    name = "thermometer_encoding"

    def __init__(self, levels: int = 16):
        check_param(self.name, "levels", levels, is_int(levels) and levels >= 2, "an integer ≥ 2")
        self.levels = levels

    def input_transforms(self) -> list[nn.Module]:
        return [ThermometerEncoding(self.levels)]
