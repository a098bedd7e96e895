"""The loaders of one training job as a Lightning ``LightningDataModule`` (method §1–2).

Kept apart from ``advtransfer.data`` so that the jobs that only read data import no Lightning.
"""

from __future__ import annotations

import lightning as L

from advtransfer.constants import TEST_PASS_MIN_BATCH
from advtransfer.data import Splits, TensorImages


class TrainingData(L.LightningDataModule):
    """The training split of any source without class ``excluded`` (labels remapped), shuffled, and
    its test split, for ``Trainer.fit(module, datamodule=...)``.

    The trainer asks for the loaders once its processes are set up, so each DDP process takes its
    own share of every shuffled epoch (the trainer needs ``use_distributed_sampler=False``: the
    sharding is done here, the test split is not split). With ``data_on_device`` an in-memory set is
    kept on the trainer's device when that is a GPU and the job has one process; the trainer's
    accelerator decides, so a job given no GPU moves nothing there. With ``batches`` every epoch is
    that many batches of consecutive shuffled passes (a training of a set number of iterations).
    """

    def __init__(self, splits: Splits, excluded: int | None, batch_size: int, seed: int = 0,
                 transform_set=None, data_on_device: bool = False, batches: int | None = None):
        super().__init__()
        self.splits, self.excluded, self.batch_size, self.seed = splits, excluded, batch_size, seed
        self.transform_set, self.data_on_device, self.batches = transform_set, data_on_device, batches

    def train_dataloader(self):
        loader = self.splits.train_loader(self.excluded, self.batch_size, self.seed, self.transform_set,
                                          rank=self.trainer.global_rank, world_size=self.trainer.world_size,
                                          batches=self.batches)
        return self._placed(loader)

    def val_dataloader(self):
        # Lightning's "validation" loop runs the per-epoch test pass (method §2.2): the test split on the
        # classifier's own classes, measured for monitoring only (``training.ClassifierModule``).
        return self._placed(self.splits.test_loader(self.excluded, max(self.batch_size, TEST_PASS_MIN_BATCH)))

    def _placed(self, loader):
        device = self.trainer.strategy.root_device
        if (self.data_on_device and device.type == "cuda" and self.trainer.world_size == 1
                and isinstance(loader.dataset, TensorImages)):
            loader.dataset.to(device)
        return loader
