"""The attack stage of the workflow (method §2.6, §3 Table 3): one job per function."""

from __future__ import annotations

import numpy as np

from advtransfer.constants import EVAL_BATCH, PIXEL_MAX
from advtransfer.files import atomic_path
from advtransfer.io import write_table, wrote

KEYS = ["dataset", "architecture", "defence", "attack"]


def attack_job(data: dict, model: str, attack: str, params: dict, n_attack: int, batch_size: int, out: str,
               images_out: str) -> None:
    """Attack the first ``n_attack`` test images of the standard classifier: a per-sample table, and
    the adversarial images (uint8, rounded) with the originals and labels in an ``.npz``.

    An attack that moves images towards target images (LOTS) gets one per class: the first correctly
    classified test image of each (``advtransfer.lots.choose_targets``).
    """
    import torch

    from advtransfer.attacks import ATTACKS, build_attack
    from advtransfer.attacks.evaluate import run_attack
    from advtransfer.data import for_architecture, load_dataset
    from advtransfer.inference import best_device
    from advtransfer.model_io import load_classifier

    classifier, meta = load_classifier(model, map_location=best_device())
    splits = for_architecture(load_dataset(**data), meta["architecture"])
    images, labels = first_test_images(splits, n_attack)
    targets = None
    if getattr(ATTACKS.get(attack), "needs_targets", False):
        from advtransfer.lots.comparison import choose_targets

        device = next(classifier.parameters()).device
        targets = choose_targets(classifier, splits.test_x.to(device), splits.test_y, splits.num_classes)[0]
    adversary = build_attack(attack, classifier, targets, **params)
    kept = []
    table = run_attack(classifier, images, labels, adversary, batch_size=batch_size, progress=True, keep=kept)
    with atomic_path(images_out) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, adversarial=torch.cat(kept).numpy(), original=images.numpy(), labels=labels.numpy())
    wrote(images_out, what=f"{attack} on {len(table)} images, {int(table['success'].sum())} successes")
    write_table(table, out)


def first_test_images(splits, n: int):
    """The first ``n`` test images (uint8) and labels, over every class (method §2: reference code, n = 1000)."""
    import torch

    xs, ys, have = [], [], 0
    for x, y in splits.test_loader(None, EVAL_BATCH):
        xs.append(x)
        ys.append(y)
        have += len(y)
        if have >= n:
            break
    images = (torch.cat(xs)[:n] * PIXEL_MAX).round().to(torch.uint8)
    return images, torch.cat(ys)[:n]
