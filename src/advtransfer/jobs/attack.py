"""The attack stage (``workflow/rules/attacks.smk``, method §2.6, §3 Table 3): one job per attack on a
standard classifier.
"""

from __future__ import annotations

import numpy as np
import torch

from advtransfer.attacks import ATTACKS, build_attack
from advtransfer.attacks.evaluate import run_attack
from advtransfer.constants import EVAL_BATCH, PIXEL_MAX
from advtransfer.files import atomic_path
from advtransfer.io import write_table, wrote
from advtransfer.jobs import _inputs
from advtransfer.lots.layers import predict


def attack_job(data: dict, model: str, attack: str, params: dict, n_attack: int, batch_size: int, out: str,
               images_out: str) -> None:
    """Attack the first ``n_attack`` test images of the standard classifier: a per-sample table, and
    the adversarial images (uint8, rounded) with the originals and labels in an ``.npz``.

    An attack that moves images towards target images (LOTS, ``needs_targets``) is built with one per
    class: the first correctly classified test image of each (method §4).
    """
    classifier, _, splits = _inputs.model_and_data(data, model)
    images, labels = first_test_images(splits, n_attack)
    targets = None
    if getattr(ATTACKS.get(attack), "needs_targets", False):
        device = next(classifier.parameters()).device
        test_x = splits.test_x.to(device)
        targets = _inputs.class_targets(test_x, splits.test_y, predict(classifier, test_x), splits.num_classes)
    adversary = build_attack(attack, classifier, targets, **params)
    kept = []
    table = run_attack(classifier, images, labels, adversary, batch_size=batch_size, progress=True, keep=kept)
    with atomic_path(images_out) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, adversarial=torch.cat(kept).numpy(), original=images.numpy(), labels=labels.numpy())
    wrote(images_out, what=f"{attack} on {len(table)} images, {int(table['success'].sum())} successes")
    write_table(table, out)


def first_test_images(splits, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` test images (uint8) and labels, over every class (method §2.6: reference code, n = 1000)."""
    xs, ys, have = [], [], 0
    for x, y in splits.test_loader(None, EVAL_BATCH):
        xs.append(x)
        ys.append(y)
        have += len(y)
        if have >= n:
            break
    images = (torch.cat(xs)[:n] * PIXEL_MAX).round().to(torch.uint8)
    return images, torch.cat(ys)[:n]
