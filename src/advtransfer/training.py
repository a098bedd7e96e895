"""Training of standard and Raw Zero-Shot classifiers (method §1–2) with PyTorch Lightning.

One ``ClassifierModule`` for every (architecture, defence, excluded class); it owns the
optimisation: the recipe's optimiser and schedule (``configure_optimizers``) and one optimiser step
on each batch the defence makes of a training batch (``Defence.training_batches``, method §2.5).
``train_classifier`` runs one ``Training`` in a folder: it resumes from ``checkpoints/last.ckpt``
when one belongs to it, and logs one row per epoch with Lightning's loggers into ``logs/`` (a CSV
logger always, TensorBoard's when ``tensorboard`` is installed); ``history`` reads the rows back.
Checkpoints are written atomically beside their final name (``AtomicCheckpointIO``) and read back
through ``files.read_back``. Training is deterministic (Lightning's ``deterministic``; running.md,
"Same inputs, same numbers"). Writing the model file is the training job's (``advtransfer.jobs.train``).
"""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import io
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning.pytorch.plugins.environments import LightningEnvironment
from torch.nn import functional as F

from advtransfer import gpus
from advtransfer.data.datamodule import TrainingData
from advtransfer.defences import Defence, build_defence
from advtransfer.files import atomic_path, discard_stale, load_torch
from advtransfer.models import Classifier, build_classifier
from advtransfer.recipe import TrainRecipe, lr_factor

# The columns of a training's history, one row per epoch (method §2.2): the epoch (1-based), the
# training loss (mean over the epoch), the test accuracy after it (own classes), the learning rate
# of the next epoch (Lightning steps an epoch schedule at the epoch's last batch) and the epoch's
# wall time in seconds.
HISTORY_COLUMNS = ["epoch", "train_loss", "test_accuracy", "lr", "seconds"]
LOGS, CSV_LOGS, TENSORBOARD_LOGS = "logs", "csv", "tensorboard"  # <folder>/logs/csv/version_N/metrics.csv


@dataclass(frozen=True)
class Training:
    """One classifier's training (method §1–2): ``architecture`` (or ``own_model``, an architecture
    given by import path, ``advtransfer.own``) behind ``defence`` with its parameters, trained with
    ``recipe`` and ``seed`` on every class but ``excluded`` (None: the standard classifier)."""

    architecture: str
    recipe: TrainRecipe
    excluded: int | None
    seed: int
    defence: str
    defence_params: dict
    own_model: dict | None


class _LrFactor:
    """Schedule for ``LambdaLR``; holds plain values so checkpoints load with ``weights_only``."""

    def __init__(self, recipe: TrainRecipe):
        self.lr, self.lr_steps, self.lr_exp_tau = recipe.lr, [list(s) for s in recipe.lr_steps], recipe.lr_exp_tau

    def __call__(self, epoch: int) -> float:
        return lr_factor(epoch, self.lr, self.lr_steps, self.lr_exp_tau)


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite; the message names the epoch, the value and the recipe."""


class NonFiniteOutputError(FloatingPointError):
    """The model's loss is NaN or infinite on its first training batch, before any optimiser step: the
    model or its inputs give it, not the learning rate; the message names the model and the inputs."""


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoints written to a temporary file beside their final name, then renamed
    (``files.atomic_path``): a crash or a full disk leaves no partial checkpoint (Lightning's own save
    writes in the system's temporary folder and moves the file, a copy when that folder is on another
    filesystem), and a full disk is one ``files.DiskFullError`` naming the checkpoint and the free
    space. Checkpoints load through ``files.read_back`` (tensors and plain values only; a damaged one
    is refused, naming it and the folder to delete)."""

    def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
        if storage_options is not None:
            raise TypeError("storage_options are not supported by AtomicCheckpointIO")
        buffer = io.BytesIO()  # serialised first: a failed write is then the file's plain OSError
        torch.save(checkpoint, buffer)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            f.write(buffer.getbuffer())
            f.flush()
            os.fsync(f.fileno())  # on disk before the rename: a power cut leaves the old file or the new

    def load_checkpoint(self, path, map_location=None, weights_only=None):
        return load_torch(path, map_location=map_location or "cpu", delete=Path(path).parent)


class ClassifierModule(L.LightningModule):
    """Classification with any registered architecture behind a defence's input transforms.

    The module optimises by hand (Lightning's manual optimisation): each training batch, one
    optimiser step on each batch ``Defence.training_batches`` yields (the batch itself for most
    defences; the clean batch, then its PGD examples, for adversarial training), each with the
    defence's ``training_loss``; the epoch schedule steps after the epoch's last batch, where
    Lightning steps it under automatic optimisation. ``init_weights``: a trained classifier's
    weights to start from (fine-tuning defences); ``examples``: the adversarial example files a
    fine-tuning defence trains on (method §4.10).
    """

    def __init__(self, architecture: str, in_channels: int, image_size: int, num_classes: int,
                 mean: list, std: list, recipe: TrainRecipe, defence: str = "vanilla",
                 defence_params: dict | None = None, own_model: dict | None = None,
                 init_weights: dict | None = None, examples: list[str] | None = None, seed: int = 0):
        super().__init__()
        # plain values only: they rebuild the classifier (model_io) and load with weights_only
        self.save_hyperparameters({
            "architecture": architecture, "in_channels": in_channels, "image_size": image_size,
            "num_classes": num_classes, "mean": mean, "std": std, "recipe": recipe.as_config(),
            "defence": defence, "defence_params": defence_params,
            **({"own_model": own_model} if own_model is not None else {})})
        self.automatic_optimization = False  # training_step makes the optimiser steps
        self.recipe, self.seed = recipe, seed
        self.defence: Defence = build_defence(defence, defence_params, examples=examples)
        self.model: Classifier = build_classifier(
            architecture, in_channels, image_size, num_classes, mean, std, self.defence.input_transforms(),
            own_model=own_model)
        if init_weights is not None:  # fine-tuning (e.g. LOTS-AT) starts from a trained classifier
            try:
                self.model.load_state_dict(init_weights)
            except RuntimeError as err:
                raise ValueError(f"the classifier to start from does not fit the classifier being trained: "
                                 f"{err}") from None

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

    def on_train_start(self):
        # Once per fit, resumed ones included, before the first batch: the defence sees the classifier,
        # the study's seed and how many batches an epoch has (its loader is set up by now).
        self.defence.prepare(self.model, seed=self.seed, batches_per_epoch=self.trainer.num_training_batches)

    def training_step(self, batch, batch_idx):
        x, y = batch
        optimizer = self.optimizers()
        losses = []
        for xb, yb in self.defence.training_batches(self, x, y):  # a generator: each batch after the last step
            loss = self.defence.training_loss(self, xb, yb)
            if self.global_step == 0 and not torch.isfinite(loss):
                self.refuse_first_batch(xb, loss)
            optimizer.zero_grad()
            self.manual_backward(loss)
            optimizer.step()
            losses.append(loss.detach())
        loss = torch.stack(losses).mean()
        if self.trainer.is_last_batch:
            self.lr_schedulers().step()  # interval "epoch", where Lightning steps it under automatic optimisation
        # logged by ``EpochLog`` (one row per epoch), not at every step
        self.log("train_loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(y),
                 sync_dist=True, logger=False)
        return loss

    def refuse_first_batch(self, x: torch.Tensor, loss: torch.Tensor) -> None:
        """A loss that is not finite before any optimiser step: the model or its inputs give it."""
        h = self.hparams
        own = (h.get("own_model") or {}).get("model")
        model = f"the own model {own}" if own else f"the architecture {h['architecture']}"
        with torch.no_grad():
            scores = self(x)
        what = "its scores are" if not torch.isfinite(scores).all() else "the loss of its finite scores is"
        inputs = "" if not x.numel() else f" in [{float(x.min()):.4g}, {float(x.max()):.4g}]"
        raise NonFiniteOutputError(
            f"{model} (defence {h['defence']}): {what} {float(loss)} on the first training batch, before any "
            f"optimiser step: not a training that diverged, but the model or its inputs (a batch of "
            f"{tuple(x.shape)}{inputs}). Check the model's forward and initialisation (an own model's code) and "
            f"its inputs; no model was written.")

    def on_train_epoch_end(self):
        # Runs before the epoch's checkpoint is saved: a diverged epoch leaves no checkpoint and no model.
        loss = self.trainer.callback_metrics.get("train_loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise NonFiniteLossError(
                f"epoch {self.current_epoch + 1}: the training loss is {float(loss)} with the recipe "
                f"{dict(self.hparams['recipe'])}: training diverged. Lower the learning rate (lr "
                f"{self.recipe.lr}) and run again; no model was written.")

    def validation_step(self, batch, batch_idx):
        # Lightning's validation loop runs the per-epoch TEST pass (the test split, own classes; method
        # §2.2): a measurement for monitoring the training only. Nothing is chosen by it: no checkpoint,
        # no early stop, no schedule (the checkpoint kept is always the last epoch's).
        x, y = batch
        accuracy = (self(x).argmax(dim=1) == y).float().mean()
        self.log("test_accuracy", accuracy, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(y),
                 sync_dist=True, logger=False)

    def configure_optimizers(self):
        r = self.recipe
        if r.optimizer == "sgd":
            opt = torch.optim.SGD(self.parameters(), lr=r.lr, momentum=r.momentum,
                                  nesterov=r.nesterov and r.momentum > 0, weight_decay=r.weight_decay)
        else:
            opt = torch.optim.Adam(self.parameters(), lr=r.lr, weight_decay=r.weight_decay)
        schedule = torch.optim.lr_scheduler.LambdaLR(opt, _LrFactor(r))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": schedule, "interval": "epoch"}}


class EpochLog(L.Callback):
    """One row per epoch (``HISTORY_COLUMNS``) to the trainer's loggers, written out at once.

    The row goes out when the epoch's training loss is known (``on_train_epoch_end``) and before the
    epoch's checkpoint is saved: a job killed after a checkpoint never lacks that epoch's row. A
    resumed run logs into a new version folder; ``history`` keeps the last row of each epoch.
    """

    def __init__(self):
        self._start, self._tested = 0.0, {}

    def on_train_epoch_start(self, trainer, module):
        self._start = time.perf_counter()

    def on_validation_epoch_end(self, trainer, module):
        if trainer.sanity_checking:
            return
        self._tested = {
            "test_accuracy": float(trainer.callback_metrics.get("test_accuracy", float("nan"))),
            "lr": trainer.optimizers[0].param_groups[0]["lr"],
            "seconds": round(time.perf_counter() - self._start, 3),
        }

    def on_train_epoch_end(self, trainer, module):
        row = {"epoch": trainer.current_epoch + 1,
               "train_loss": float(trainer.callback_metrics.get("train_loss", float("nan"))),
               "test_accuracy": float("nan"), "lr": trainer.optimizers[0].param_groups[0]["lr"], "seconds": 0.0,
               **self._tested}
        self._tested = {}
        for logger in trainer.loggers:
            logger.log_metrics(row, step=trainer.current_epoch)
            logger.save()


class EpochPrinter(L.Callback):
    """One progress line per epoch when stderr is not a terminal (a Snakemake log file)."""

    def on_train_epoch_end(self, trainer, module):
        if not trainer.is_global_zero:
            return
        m = trainer.callback_metrics
        print(f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs} "
              f"train_loss {float(m.get('train_loss', float('nan'))):.4f} "
              f"test_accuracy {float(m.get('test_accuracy', float('nan'))):.4f}", file=sys.stderr, flush=True)


def loggers(folder: str | Path) -> list:
    """Lightning's loggers of a training in ``folder``: CSV always, TensorBoard's when installed
    (optional: ``pip install tensorboard``); each run in a new ``version_N`` below ``<folder>/logs``."""
    logs = Path(folder) / LOGS
    found = [L.pytorch.loggers.CSVLogger(logs, name=CSV_LOGS)]
    if importlib.util.find_spec("tensorboard") is not None:
        found.append(L.pytorch.loggers.TensorBoardLogger(logs, name=TENSORBOARD_LOGS, default_hp_metric=False))
    return found


def history(folder: str | Path) -> list[dict[str, str]]:
    """The history of the training in ``folder`` (``HISTORY_COLUMNS``, values as the CSV logger wrote
    them): every run's rows in order, the last row of each epoch (a resumed run logs again the epochs
    it trains), sorted by epoch."""
    runs = sorted((Path(folder) / LOGS / CSV_LOGS).glob("version_*/metrics.csv"),
                  key=lambda p: int(p.parent.name.removeprefix("version_")))
    rows: dict[int, dict[str, str]] = {}
    for path in runs:
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                if row.get("epoch"):
                    rows[int(row["epoch"])] = {k: row[k] for k in HISTORY_COLUMNS}
    return [rows[e] for e in sorted(rows)]


@dataclass
class TrainResult:
    module: ClassifierModule
    history: list[dict[str, str]]  # ``history``: one row per epoch, values as logged
    epochs: int
    resumed_from_epoch: int
    writes: bool  # this process writes the outputs (rank 0 of a DDP training)

    @property
    def test_accuracy(self) -> float:
        """The test accuracy after the last epoch (NaN without one)."""
        return float(self.history[-1]["test_accuracy"]) if self.history else float("nan")


def train_classifier(splits, training: Training, folder: str | Path, *, init_weights: dict | None = None,
                     examples: list[str] | None = None, stamp: dict | None = None,
                     accelerator: str = "auto") -> TrainResult:
    """Run ``training`` on ``splits`` in ``folder`` (its ``checkpoints/`` and ``logs/``).

    Resumes from ``<folder>/checkpoints/last.ckpt`` if the folder belongs to this training (the same
    ``Training``, data and ``stamp``: what else the job depends on, e.g. its code version and its
    inputs' digests); else starts afresh. Checkpoints load as tensors and plain values only
    (``weights_only``). ``init_weights``: the weights to start from (fine-tuning defences);
    ``examples``: the adversarial example files a fine-tuning defence trains on (method §4.10). A
    defence with ``iterations`` trains that many batches in its ``epochs`` instead of the recipe's.
    """
    r = training.recipe
    L.seed_everything(training.seed, workers=True, verbose=False)
    num_classes = splits.num_classes - (training.excluded is not None)
    mean, std = splits.channel_stats()
    module = ClassifierModule(training.architecture, splits.in_channels, splits.image_size, num_classes, mean, std,
                              r, training.defence, training.defence_params, own_model=training.own_model,
                              init_weights=init_weights, examples=examples, seed=training.seed)
    transform_set = lambda x, y: module.defence.prepare_training_set(x, y, training.seed)  # noqa: E731
    epochs, iterations = module.defence.epochs or r.epochs, module.defence.iterations
    batches = math.ceil(iterations / epochs) if iterations else None
    data = TrainingData(splits, training.excluded, r.batch_size, training.seed, transform_set, r.data_on_device,
                        batches=batches)
    if r.channels_last:
        module.model.to(memory_format=torch.channels_last)

    # The checkpoint folder holds this job's own checkpoints when it resumes: no warning about that.
    warnings.filterwarnings("ignore", message=r"Checkpoint directory .* exists and is not empty")
    folder = Path(folder)
    ckpt_dir = folder / "checkpoints"
    job = {**dict(module.hparams), "seed": training.seed, "excluded": training.excluded,
           "data": getattr(splits, "fingerprint", None), **(stamp or {})}
    discard_stale(ckpt_dir, job)
    discard_stale(folder / LOGS, job)
    resumed, resume_from = 0, resume_point(ckpt_dir)
    if resume_from is not None:
        resumed = epochs_done(resume_from)
        print(f"resuming from {resume_from} (epoch {resumed} done)", file=sys.stderr, flush=True)
    terminal = sys.stderr.isatty()
    callbacks = [
        EpochLog(),
        # Lightning writes last.ckpt only beside a top-k checkpoint: keep the newest one, linked as last.ckpt.
        # No monitored metric: the checkpoint is the last epoch's, never chosen by the test pass.
        L.pytorch.callbacks.ModelCheckpoint(dirpath=ckpt_dir, save_last="link", save_top_k=1,
                                            save_on_train_epoch_end=True),
    ]
    if not terminal:
        callbacks.append(EpochPrinter())
    # In-memory loaders fetch whole batches in the main process: worker processes would only add copies.
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    # A CPU training sees no GPU: nothing in it starts CUDA (advtransfer.gpus.hidden). The data module
    # keeps in-memory data on the trainer's own GPU only (data_on_device).
    with gpus.hidden() if accelerator == "cpu" else contextlib.nullcontext(), deterministic_algorithms():
        trainer = L.Trainer(
            max_epochs=epochs, accelerator=accelerator, devices=r.devices, strategy="ddp" if r.devices > 1 else "auto",
            # The job starts its own processes (one per device): no Slurm task layout or auto-requeue,
            # Snakemake retries and resumes instead. Checkpoints are written atomically.
            plugins=[LightningEnvironment(), AtomicCheckpointIO()], precision=r.precision, logger=loggers(folder),
            log_every_n_steps=1, callbacks=callbacks, default_root_dir=folder, enable_progress_bar=terminal,
            enable_model_summary=False, num_sanity_val_steps=0, deterministic=determinism(accelerator),
            use_distributed_sampler=False,  # TrainingData shards the training split itself; tests are not split
        )
        trainer.fit(module, datamodule=data, ckpt_path=str(resume_from) if resume_from else None, weights_only=True)
    return TrainResult(module, history(folder) if trainer.global_rank == 0 else [], epochs, resumed,
                       trainer.global_rank == 0)


def determinism(accelerator: str) -> bool | str:
    """Lightning's ``deterministic`` for a training on ``accelerator``: True on the CPU (every op has a
    deterministic kernel there, and a missing one is an error); "warn" on a GPU, where a few ops have
    none (e.g. the backward pass of adaptive average pooling): they run with a warning in the job's log
    instead of stopping the training (running.md, "Same inputs, same numbers")."""
    on_gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())
    return "warn" if on_gpu else True


@contextlib.contextmanager
def deterministic_algorithms():
    """Restore torch's global switch of deterministic algorithms after a training (Lightning sets it
    for the process; code after the training, e.g. tests in the same process, keeps its own)."""
    enabled = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(enabled, warn_only=warn_only)


def resume_point(checkpoints: str | Path) -> Path | None:
    """The checkpoint a training resumes from: ``last.ckpt`` (a link to the newest epoch's), or, where
    a job was killed between saving an epoch and linking it, the newest epoch's checkpoint; None
    without one."""
    last = Path(checkpoints) / "last.ckpt"
    if last.exists():
        return last
    epochs = sorted(Path(checkpoints).glob("epoch=*.ckpt"), key=lambda p: p.stat().st_mtime_ns)
    return epochs[-1] if epochs else None


def epochs_done(checkpoint: str | Path) -> int:
    """How many epochs a Lightning checkpoint has completed (``UnsafeFileError`` for a file that
    would run code when loaded)."""
    state = load_torch(checkpoint, delete=Path(checkpoint).parent)
    return int(state["loops"]["fit_loop"]["epoch_progress"]["current"]["processed"])
