"""Architectures given in the config by import path (``advtransfer.own``): built and checked.

``Name(num_classes=N, input_shape=(C, H, W), **model_kwargs)`` must return an ``nn.Module`` mapping
standardised images (B, C, H, W) to N class scores; ``build_classifier`` puts it behind the
defences' input transforms and the standardisation, as a registered architecture. Its LOTS layers
are its named modules, below ``body.`` (``advtransfer.lots.layer_names``).
"""

from __future__ import annotations

import torch
from torch import nn

from advtransfer.own import load_object


def build_own(spec: dict, in_channels: int, image_size: int, num_classes: int) -> nn.Module:
    """The own model ``spec`` ({"model": "module:Name", "model_kwargs": {...}}) for these inputs and classes."""
    factory = load_object(spec["model"])
    body = factory(num_classes=num_classes, input_shape=(in_channels, image_size, image_size),
                   **spec.get("model_kwargs", {}))
    if not isinstance(body, nn.Module):
        raise TypeError(f"{spec['model']} returned a {type(body).__name__}, not a torch.nn.Module")
    return body


def output_size(body: nn.Module, in_channels: int, image_size: int) -> tuple[int, ...]:
    """The shape of ``body``'s output for one grey image (two, in eval mode: batch norm and squeezes
    behave as in a batch), without the batch dimension."""
    was_training = body.training
    body.eval()
    try:
        with torch.no_grad():
            out = body(torch.zeros(2, in_channels, image_size, image_size))
    finally:
        body.train(was_training)
    return tuple(out.shape[1:])
