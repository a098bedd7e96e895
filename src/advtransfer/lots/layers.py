"""Layer selection for LOTS (method §4): f⁽ˡ⁾(x), the representation of x at layer l, by module name.

Any ``nn.Module`` classifier works: a layer is one of its ``named_modules`` (leaves and blocks,
e.g. ``body.conv2`` of a ``Classifier``), read with a forward hook, or ``OUTPUT`` ("logits"), the
model's class scores. A module called several times in one forward pass gives its last output.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn

from advtransfer.constants import OUTPUT_LAYER, PIXEL_MAX

OUTPUT = OUTPUT_LAYER  # the class scores
# Inference of convolutional models on the CPU in the channels-last layout (``channels_last``); the
# benchmark and the tests switch it off to compare with the usual layout.
CHANNELS_LAST = True


# The architectures whose layers have names in the papers, and their name of ``OUTPUT`` (the class
# scores): paper 2's Caffe LeNet names its last layer ip2.
PAPER_OUTPUT_NAMES = {"lenet_caffe": "ip2"}
BODY = "body."  # the prefix of a ``Classifier``'s own modules (its ``body``)


def paper_layer_name(architecture: str | None, layer: str) -> str:
    """A layer's name as the papers write it, for figures and tables: a ``Classifier``'s module path
    without ``body.`` (``body.conv1`` → conv1, ``body.10`` → 10), and ``OUTPUT`` as the
    architecture's last layer where the paper names it (lenet_caffe: ip2), else ``logits``."""
    if layer == OUTPUT:
        return PAPER_OUTPUT_NAMES.get(architecture or "", OUTPUT)
    return layer[len(BODY):] if layer.startswith(BODY) else layer


def layer_names(model: nn.Module) -> list[str]:
    """The usable layer names of ``model``: its named modules in order, then ``OUTPUT``."""
    names = [name for name, _ in model.named_modules() if name]
    return names + ([OUTPUT] if OUTPUT not in names else [])


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Run ``model`` in eval mode (no dropout, fixed batch norm) and restore its mode afterwards.

    LOTS needs it: in eval mode every sample's gradient depends on that sample alone.
    """
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


class LayerFeatures:
    """``LayerFeatures(model, layer)(x) -> (scores, f⁽ˡ⁾(x))`` in one forward pass.

    ``x``: float images in [0, 1], (B, C, H, W), as every classifier of the package takes them.
    The layer's output is cloned when it is produced, so a later in-place operation (a
    ``ReLU(inplace=True)``) does not change f⁽ˡ⁾(x). An unknown layer is a ``ValueError`` that
    lists the known ones.
    """

    def __init__(self, model: nn.Module, layer: str):
        modules = dict(model.named_modules())
        if layer == OUTPUT and OUTPUT not in modules:
            self.module = None
        elif layer in modules and layer:
            self.module = modules[layer]
        else:
            raise ValueError(f"unknown layer {layer!r}; known: {', '.join(layer_names(model))}")
        self.model, self.layer = model, layer

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.module is None:
            scores = self.model(x)
            return scores, scores
        captured: list[torch.Tensor] = []

        def hook(module, inputs, output):
            if not isinstance(output, torch.Tensor):
                raise TypeError(f"layer {self.layer!r} returns {type(output).__name__}, not a tensor")
            captured[:] = [output.clone()]

        handle = self.module.register_forward_hook(hook)
        try:
            scores = self.model(x)
        finally:
            handle.remove()
        if not captured:
            raise ValueError(f"layer {self.layer!r} is not used in the forward pass")
        return scores, captured[0]


def layer_features(model: nn.Module, layer: str, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """f⁽ˡ⁾ of images (B, C, H, W) on the 0–255 scale, without gradients (on the images' device)."""
    features = LayerFeatures(model, layer)
    device = model_device(model)
    with eval_mode(model), torch.no_grad():
        return torch.cat([features(batch.to(device).float() / PIXEL_MAX)[1].to(images.device)
                          for batch in images.split(batch_size)])


def predict(model: nn.Module, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Predicted classes of images (B, C, H, W) on the 0–255 scale, in eval mode (on their device).

    On the CPU a convolutional model runs in the channels-last memory layout (``channels_last``),
    which oneDNN's convolutions run 2–2.4× faster there (``benchmarks/comparison.py``).
    """
    if len(images) == 0:
        return torch.zeros(0, dtype=torch.long, device=images.device)
    device = model_device(model)
    with eval_mode(model), torch.no_grad():
        fast, layout = channels_last(model, images)
        return torch.cat([fast(batch.to(device).float().div(PIXEL_MAX).contiguous(memory_format=layout))
                          .argmax(1).to(images.device) for batch in images.split(batch_size)])


def top_two(model: nn.Module, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The class with the highest score and the runner-up, for images (B, C, H, W) on the 0–255 scale."""
    ranked = layer_features(model, OUTPUT, images).topk(2, dim=1).indices
    return ranked[:, 0], ranked[:, 1]


def channels_last(model: nn.Module, images: torch.Tensor) -> tuple[nn.Module, torch.memory_format]:
    """A copy of a convolutional CPU ``model`` in the channels-last layout, for inference on 4-D
    ``images`` (the model itself, and the usual layout, anywhere else).

    The class scores it gives differ from the usual layout's in the last bits (about 1e-6), so a
    prediction could change only where two classes tie within that; ``benchmarks/comparison.py`` and
    ``tests/test_lots.py`` check that no ε, success or image of the line search changes.
    """
    import copy

    kernels = [p for p in model.parameters() if p.dim() == 4]
    if not CHANNELS_LAST or images.dim() != 4 or model_device(model).type != "cpu" or not kernels:
        return model, torch.contiguous_format
    if all(p.is_contiguous(memory_format=torch.channels_last) for p in kernels):  # converted already
        return model, torch.channels_last
    try:
        fast = copy.deepcopy(model).to(memory_format=torch.channels_last)
    except Exception:  # a model that cannot be copied runs as it is
        return model, torch.contiguous_format
    return fast.train(model.training), torch.channels_last


def model_device(model: nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")
