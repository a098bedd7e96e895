"""What a job loads (method §1–4): its trained classifier on the job's device, the dataset as the
classifier's architecture takes it, a classifier's predictions file, and paper 2's targets and
origins chosen from the predictions (method §4: the first correctly classified image of each class;
the first n correctly classified images).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from advtransfer.data import ImageSplits, Splits, for_architecture, load_dataset
from advtransfer.files import load_npz
from advtransfer.inference import best_device
from advtransfer.lots.comparison import target_indices
from advtransfer.lots.layers import predict
from advtransfer.model_io import load_classifier
from advtransfer.models import Classifier

SPLITS = ("train", "test")  # the splits of a predictions file


def classifier(path: str, device: torch.device | None = None) -> tuple[Classifier, dict]:
    """The trained classifier at ``path`` (eval mode, on ``device``: the job's, ``best_device``) and its
    metadata (``model_io.load_classifier``)."""
    return load_classifier(path, map_location=device or best_device())


def dataset(data: dict, architecture: str) -> Splits:
    """The dataset of ``data`` (``load_dataset``'s arguments, the study's ``data`` values) at the image
    size ``architecture`` takes."""
    return for_architecture(load_dataset(**data), architecture)


def model_and_data(data: dict, model: str, in_memory: bool = False) -> tuple[Classifier, dict, Splits]:
    """The classifier at ``model``, its metadata and its dataset; ``in_memory``: a dataset held in
    memory is required (LOTS, method §4.1), else ``ValueError``."""
    loaded, meta = classifier(model)
    splits = dataset(data, meta["architecture"])
    if in_memory and not isinstance(splits, ImageSplits):
        raise ValueError(f"LOTS needs a dataset held in memory; {data['name']} is read from image folders")
    return loaded, meta, splits


def predictions(model: Classifier, splits: ImageSplits, split: str, path: str | None = None) -> torch.Tensor:
    """The classifier's predicted class of every image of ``split`` ("train", "test"): read from its
    predictions file ``path`` (``jobs.lots.predictions_job``), or computed when None."""
    images, labels = getattr(splits, f"{split}_x"), getattr(splits, f"{split}_y")
    if path is None:
        return predict(model, images)
    predicted = torch.from_numpy(load_npz(path, [split])[split]).long()
    if len(predicted) != len(labels):
        raise ValueError(f"{path} holds {len(predicted)} {split} predictions, the {split} split {len(labels)} "
                         f"images: delete it and run the workflow again")
    return predicted


def class_targets(images: torch.Tensor, labels: torch.Tensor, predicted: torch.Tensor,
                  num_classes: int) -> torch.Tensor:
    """Paper 2's targets (method §4): one image per class, row k the first correctly classified image
    of class k."""
    return images[target_indices(predicted, labels, num_classes).to(images.device)]


@dataclass
class LotsInputs:
    """The inputs of a LOTS job: the classifier, the test images and labels on its device, its test
    predictions, the class targets (on its device) and the class names."""

    model: Classifier
    images: torch.Tensor
    labels: torch.Tensor
    predicted: torch.Tensor
    targets: torch.Tensor
    class_names: list[str]


def lots_inputs(data: dict, model: str, predictions_file: str | None = None) -> LotsInputs:
    """A LOTS job's inputs (method §4) on the test split: predictions read from ``predictions_file``
    (or computed), targets chosen from them."""
    loaded, _, splits = model_and_data(data, model, in_memory=True)
    device = next(loaded.parameters()).device
    predicted = predictions(loaded, splits, "test", predictions_file)
    targets = class_targets(splits.test_x, splits.test_y, predicted, splits.num_classes)
    return LotsInputs(loaded, splits.test_x.to(device), splits.test_y.to(device), predicted, targets.to(device),
                      splits.class_names)
