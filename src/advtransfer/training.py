"""Training of standard and Raw Zero-Shot classifiers (method §1–2) with PyTorch Lightning.

One ``ClassifierModule`` for every (architecture, defence, excluded class). The recipe (optimiser,
learning-rate schedule, epochs, batch size) comes from the config as a plain dict, see
``TrainRecipe``. ``train_classifier`` runs one job: it resumes from ``checkpoints/last.ckpt`` when
one exists, keeps a per-epoch history CSV and writes the final weights atomically.
"""

from __future__ import annotations

import contextlib
import csv
import math
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.plugins.environments import LightningEnvironment
from torch.nn import functional as F

from advtransfer import gpus
from advtransfer.data.datamodule import TrainingData
from advtransfer.defences import Defence, build_defence
from advtransfer.files import atomic_path, discard_stale, file_digest, load_torch
from advtransfer.io import wrote
from advtransfer.model_io import load_classifier, load_weights, save_classifier  # noqa: F401 (re-exported)
from advtransfer.models import Classifier, build_classifier
from advtransfer.recipe import TrainRecipe, lr_factor  # noqa: F401 (re-exported)


class _LrFactor:
    """Schedule for ``LambdaLR``; holds plain values so checkpoints load with ``weights_only``."""

    def __init__(self, recipe: TrainRecipe):
        self.lr, self.lr_steps, self.lr_exp_tau = recipe.lr, [list(s) for s in recipe.lr_steps], recipe.lr_exp_tau

    def __call__(self, epoch: int) -> float:
        return lr_factor(epoch, self.lr, self.lr_steps, self.lr_exp_tau)


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite; the message names the epoch, the value and the recipe."""


class ClassifierModule(L.LightningModule):
    """Classification with any registered architecture behind a defence's input transforms."""

    def __init__(self, architecture: str, in_channels: int, image_size: int, num_classes: int,
                 mean: list, std: list, recipe: dict, defence: str = "vanilla",
                 defence_params: dict | None = None, init_from: str | None = None,
                 own_model: dict | None = None):
        super().__init__()
        self.save_hyperparameters(ignore=["init_from"] + (["own_model"] if own_model is None else []))
        self.recipe = TrainRecipe.from_config(recipe)
        self.defence: Defence = build_defence(defence, defence_params)
        self.model: Classifier = build_classifier(
            architecture, in_channels, image_size, num_classes, mean, std, self.defence.input_transforms(),
            own_model=own_model)
        self.defence.prepare_model(self.model)
        if init_from is not None:  # fine-tuning (e.g. LOTS-AT) starts from a trained classifier
            load_weights(self.model, init_from)
        self.automatic_optimization = self.defence.steps_per_batch == 1  # else: training_step steps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.recipe.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.model(x)

    def criterion(self, scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(scores, y)

    def classification_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The architecture's own loss when it has one (CapsNet), else cross-entropy."""
        body = self.model.body
        if hasattr(body, "training_loss"):
            return body.training_loss(self.model.standardize(self.model.transforms(x)), y)
        return self.criterion(self(x), y)

    def training_step(self, batch, batch_idx):
        x, y = batch
        if self.automatic_optimization:
            loss = self.defence.training_loss(self, x, y)
        else:  # one optimiser step on each batch the defence makes of this one (adversarial training)
            loss = torch.stack([self.manual_step(xb, yb) for xb, yb in self.defence.training_batches(self, x, y)])
            loss = loss.mean()
            if self.trainer.is_last_batch and self.lr_schedulers() is not None:
                self.lr_schedulers().step()  # interval "epoch", as Lightning does with automatic optimisation
        self.log("train_loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(y),
                 sync_dist=True)
        return loss

    def manual_step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Manual optimisation: one step on (x, y); its loss, detached."""
        optimizer = self.optimizers()
        loss = self.defence.training_loss(self, x, y)
        optimizer.zero_grad()
        self.manual_backward(loss)
        optimizer.step()
        return loss.detach()

    def on_train_epoch_end(self):
        # Runs before the epoch's checkpoint is saved: a diverged epoch leaves no checkpoint and no model.
        loss = self.trainer.callback_metrics.get("train_loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise NonFiniteLossError(
                f"epoch {self.current_epoch + 1}: the training loss is {float(loss)} with the recipe "
                f"{dict(self.hparams['recipe'])}: training diverged. Lower the learning rate (lr "
                f"{self.recipe.lr}) and run again; no model was written.")

    def validation_step(self, batch, batch_idx):
        x, y = batch
        accuracy = (self(x).argmax(dim=1) == y).float().mean()
        self.log("test_accuracy", accuracy, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(y),
                 sync_dist=True)

    def configure_optimizers(self):
        r = self.recipe
        if r.optimizer == "sgd":
            opt = torch.optim.SGD(self.parameters(), lr=r.lr, momentum=r.momentum,
                                  nesterov=r.nesterov and r.momentum > 0, weight_decay=r.weight_decay)
        else:
            opt = torch.optim.Adam(self.parameters(), lr=r.lr, weight_decay=r.weight_decay)
        schedule = torch.optim.lr_scheduler.LambdaLR(opt, _LrFactor(r))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": schedule, "interval": "epoch"}}


class History(L.Callback):
    """Writes one row per epoch (loss, test accuracy, lr, seconds) to a CSV, kept across resumes."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.rows: list[dict] = []
        self._start = 0.0

    def on_train_epoch_start(self, trainer, module):
        self._start = time.perf_counter()

    def on_validation_epoch_end(self, trainer, module):
        if trainer.sanity_checking:
            return
        metrics = trainer.callback_metrics
        row = {
            "epoch": trainer.current_epoch + 1,
            "train_loss": float(metrics.get("train_loss", float("nan"))),
            "test_accuracy": float(metrics.get("test_accuracy", float("nan"))),
            "lr": trainer.optimizers[0].param_groups[0]["lr"],
            "seconds": round(time.perf_counter() - self._start, 3),
        }
        self.rows = [r for r in self.rows if r["epoch"] < row["epoch"]] + [row]

    def on_train_epoch_end(self, trainer, module):
        # train_loss of the epoch is known only now; validation ran just before.
        if self.rows and self.rows[-1]["epoch"] == trainer.current_epoch + 1:
            self.rows[-1]["train_loss"] = float(trainer.callback_metrics.get("train_loss", float("nan")))
        if trainer.is_global_zero:
            write_csv(self.path, self.rows)

    def on_fit_end(self, trainer, module):
        # A run resumed from a checkpoint that holds every epoch trains none: write what it restored.
        if trainer.is_global_zero:
            write_csv(self.path, self.rows)

    def state_dict(self):
        return {"rows": self.rows}

    def load_state_dict(self, state):
        self.rows = list(state["rows"])


class EpochPrinter(L.Callback):
    """One progress line per epoch when stderr is not a terminal (a Snakemake log file)."""

    def on_train_epoch_end(self, trainer, module):
        if not trainer.is_global_zero:
            return
        m = trainer.callback_metrics
        print(f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs} "
              f"train_loss {float(m.get('train_loss', float('nan'))):.4f} "
              f"test_accuracy {float(m.get('test_accuracy', float('nan'))):.4f}", file=sys.stderr, flush=True)


def write_csv(path: Path, rows: list[dict]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        if rows:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


@dataclass
class TrainResult:
    test_accuracy: float
    epochs: int
    resumed_from_epoch: int


def train_classifier(splits, architecture: str, excluded: int | None, recipe: dict, out_dir: str | Path,
                     model_path: str | Path, history_path: str | Path, seed: int = 0,
                     defence: str = "vanilla", defence_params: dict | None = None,
                     accelerator: str = "auto", devices: int | None = None, code: str | None = None,
                     init_from: str | Path | None = None, own_model: dict | None = None,
                     examples: list[str] | None = None) -> TrainResult:
    """Train one classifier on ``splits`` without class ``excluded`` (None = the standard classifier).

    Resumes from ``<out_dir>/checkpoints/last.ckpt`` if it belongs to this job (same recipe, data,
    defence, seed and training ``code`` version); writes ``model_path`` (weights and the metadata
    ``load_classifier`` needs) and ``history_path`` atomically, also when the checkpoint already
    holds every epoch. Checkpoints load as tensors and plain values only (``weights_only``).
    ``init_from``: a trained classifier's ``model.pt`` whose weights the training starts from
    (fine-tuning defences); ``examples``: the adversarial example files a fine-tuning defence trains
    on (method §4.10); making either anew discards this job's checkpoints. A defence with
    ``iterations`` trains that many batches in its ``epochs`` instead of the recipe's epochs.
    ``own_model``: an architecture given by import path (``advtransfer.own``).
    """
    r = TrainRecipe.from_config(recipe)
    L.seed_everything(seed, workers=True, verbose=False)
    num_classes = splits.num_classes - (excluded is not None)
    mean, std = splits.channel_stats()
    module = ClassifierModule(architecture, splits.in_channels, splits.image_size, num_classes,
                              mean, std, recipe, defence, defence_params, init_from=init_from, own_model=own_model)
    if examples:
        module.defence.use_examples(examples)
    transform_set = lambda x, y: module.defence.prepare_training_set(x, y, seed)  # noqa: E731
    epochs, iterations = module.defence.epochs or r.epochs, module.defence.iterations
    batches = math.ceil(iterations / epochs) if iterations else None
    data = TrainingData(splits, excluded, r.batch_size, seed, transform_set, r.data_on_device, batches=batches)
    if r.channels_last:
        module.model.to(memory_format=torch.channels_last)

    # The checkpoint folder holds this job's own checkpoints when it resumes: no warning about that.
    warnings.filterwarnings("ignore", message=r"Checkpoint directory .* exists and is not empty")
    ckpt_dir = Path(out_dir) / "checkpoints"
    last = ckpt_dir / "last.ckpt"
    discard_stale(ckpt_dir, {**dict(module.hparams), "seed": seed, "excluded": excluded,
                             "data": getattr(splits, "fingerprint", None), "init_from": file_digest(init_from),
                             "examples": file_digest(*(examples or [])), "code": code})
    resumed = 0
    if last.exists():
        resumed = epochs_done(last)
        print(f"resuming from {last} (epoch {resumed} done)", file=sys.stderr, flush=True)
    terminal = sys.stderr.isatty()
    callbacks = [
        # Lightning writes last.ckpt only beside a top-k checkpoint: keep the newest one, linked as last.ckpt.
        L.pytorch.callbacks.ModelCheckpoint(dirpath=ckpt_dir, save_last="link", save_top_k=1,
                                            save_on_train_epoch_end=True),
        History(history_path),
    ]
    if not terminal:
        callbacks.append(EpochPrinter())
    devices = r.devices if devices is None else devices
    # In-memory loaders fetch whole batches in the main process: worker processes would only add copies.
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    # A CPU training sees no GPU: nothing in it starts CUDA (advtransfer.gpus.hidden). The data module
    # keeps in-memory data on the trainer's own GPU only (data_on_device).
    with gpus.hidden() if accelerator == "cpu" else contextlib.nullcontext():
        trainer = L.Trainer(
            max_epochs=epochs, accelerator=accelerator, devices=devices, strategy="ddp" if devices > 1 else "auto",
            # The job starts its own processes (one per device): no Slurm task layout or auto-requeue,
            # Snakemake retries and resumes instead.
            plugins=[LightningEnvironment()], precision=r.precision, logger=False, callbacks=callbacks,
            enable_progress_bar=terminal, enable_model_summary=False, num_sanity_val_steps=0, deterministic=False,
            use_distributed_sampler=False,  # TrainingData shards the training split itself; tests are not split
        )
        trainer.fit(module, datamodule=data, ckpt_path=str(last) if last.exists() else None, weights_only=True)
    if trainer.global_rank == 0:
        save_classifier(module, model_path, excluded=excluded, class_names=splits_class_names(splits, excluded))
    history = callbacks[1].rows
    accuracy = history[-1]["test_accuracy"] if history else float("nan")
    wrote(model_path, history_path, what=f"{epochs} epochs, test accuracy {accuracy:.4f}")
    return TrainResult(accuracy, epochs, resumed)


def epochs_done(checkpoint: str | Path) -> int:
    """How many epochs a Lightning checkpoint has completed (``UnsafeFileError`` for a file that
    would run code when loaded)."""
    state = load_torch(checkpoint)
    return int(state["loops"]["fit_loop"]["epoch_progress"]["current"]["processed"])


def splits_class_names(splits, excluded: int | None) -> list[str]:
    names = list(getattr(splits, "class_names", [str(i) for i in range(splits.num_classes)]))
    return [n for i, n in enumerate(names) if i != excluded]


def train_job(data: dict, architecture: str, excluded: int | None, recipe: dict, defence: str,
              defence_params: dict, seed: int, model: str, history: str, code: str | None = None,
              init_from: str | None = None, own_model: dict | None = None,
              examples: list[str] | None = None) -> TrainResult:
    """The workflow's ``train`` job: load the dataset, train (or resume), write weights and history."""
    from advtransfer.data import for_architecture, load_dataset

    splits = for_architecture(load_dataset(**data), architecture)
    return train_classifier(splits, architecture, excluded, recipe, Path(model).parent, model, history,
                            seed=seed, defence=defence, defence_params=defence_params, code=code,
                            init_from=init_from, own_model=own_model, examples=examples)
