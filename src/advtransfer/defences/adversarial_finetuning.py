"""Adversarial fine-tuning (paper 2, method §4.10): fine-tune the trained vanilla classifier on stored
adversarial examples of one technique (FGS, FGV, HC or LOTS at some layers), with or without the
clean training images, for a set number of iterations."""

from __future__ import annotations

import torch

from advtransfer.catalog import TECHNIQUES
from advtransfer.constants import FINETUNING, FINETUNING_LAYERS, FINETUNING_TECHNIQUE
from advtransfer.defences import DEFENCES, Defence, check_param, is_int
from advtransfer.finetuning import load_examples


@DEFENCES.register(FINETUNING)
class AdversarialFineTuning(Defence):
    """Fine-tuning on the examples of ``technique`` (LOTS: at each of ``layers``), made on the vanilla
    classifier by the workflow's ``adversarial_examples`` jobs; the training job gives their files
    (``examples``) and starts from that classifier (``advtransfer.study``, ``FINE_TUNED``).

    ``iterations`` optimiser steps (batches of the recipe's size, the recipe's optimiser) in
    ``epochs`` epochs of equal length, each ending with a test pass and a checkpoint. With ``clean``
    (our choice, the default) the training set is the examples and the clean training images
    together, shuffled, so each batch mixes them in proportion to their numbers; without, only
    the examples. ``n_clean`` keeps only the first n clean training images (None: all): a study that
    makes examples of a fraction of the training set (``lots.n_train``) keeps paper 2's proportion
    of clean images to examples with the same fraction. Defaults: LOTS at the logits, 20,000
    iterations (paper 2's FGS and FGV), 10 epochs, every clean image.
    """

    name = FINETUNING
    takes_examples = True

    def __init__(self, technique: str = FINETUNING_TECHNIQUE, layers: list = FINETUNING_LAYERS,
                 iterations: int = 20_000, epochs: int = 10, clean: bool = True, n_clean: int | None = None,
                 examples: list[str] = ()):
        check_param(self.name, "technique", technique, technique in TECHNIQUES, f"one of {', '.join(TECHNIQUES)}")
        check_param(self.name, "layers", layers, isinstance(layers, (list, tuple)) and len(layers) > 0
                    and all(isinstance(v, str) and v for v in layers), "a list of layer names")
        check_param(self.name, "iterations", iterations, is_int(iterations) and iterations >= 1, "an integer ≥ 1")
        check_param(self.name, "epochs", epochs, is_int(epochs) and epochs >= 1 and is_int(iterations)
                    and iterations % epochs == 0, "an integer ≥ 1 that divides iterations")
        check_param(self.name, "clean", clean, isinstance(clean, bool), "true or false")
        check_param(self.name, "n_clean", n_clean, n_clean is None or (is_int(n_clean) and n_clean >= 1),
                    "an integer ≥ 1, or null for every clean training image")
        self.technique, self.layers, self.iterations, self.epochs, self.clean, self.n_clean = \
            technique, list(layers), iterations, epochs, clean, n_clean
        self.examples = [str(p) for p in examples]

    def prepare_training_set(self, x: torch.Tensor, y: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.examples:
            raise ValueError(f"defence {self.name!r}: no adversarial example files; the workflow's train job "
                             "gives them (rule adversarial_examples)")
        clean = (x[:self.n_clean], y[:self.n_clean]) if self.n_clean is not None else (x, y)
        return load_examples(self.examples, clean if self.clean else None)
