"""LOTS adversarial training (method §4): the defence ``lots_at``."""

import math

import lightning as L
import pytest
import torch

from advtransfer.data import load_dataset, tensor_loader
from advtransfer.defences import build_defence
from advtransfer.defences.lots_at import LotsAdversarialTraining, next_other
from advtransfer.lots import predict
from advtransfer.model_io import read_weights, save_classifier
from advtransfer.recipe import TrainRecipe
from advtransfer.training import ClassifierModule

RECIPE = TrainRecipe.from_config({"epochs": 1, "batch_size": 64, "optimizer": "sgd", "lr": 0.1})


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits").limit(train=128, test=64)


def module(digits, defence="vanilla", params=None, seed=0, init_from=None):
    torch.manual_seed(seed)
    weights = read_weights(init_from) if init_from else None
    return ClassifierModule("mlp", 1, 8, 10, *digits.channel_stats(), RECIPE, defence, params, init_weights=weights)


@pytest.mark.parametrize("params, message", [
    ({"n_examples": 0}, "'lots_at': n_examples must be an integer ≥ 1"),
    ({"n_examples": 2.5}, "'lots_at': n_examples"),
    ({"layer": ""}, "'lots_at': layer must be a layer name"),
    ({"layer": 3}, "'lots_at': layer"),
    ({"limit": 0}, "'lots_at': limit must be an integer ≥ 1"),
    ({"init_from": "model.pt"}, "'lots_at': bad parameters"),  # the training job's input, not a parameter
    ({"eps": 8}, "'lots_at': bad parameters"),
])
def test_bad_parameters_raise_value_errors_naming_the_defence(params, message):
    with pytest.raises(ValueError, match=message):
        build_defence("lots_at", params)


def test_defaults():
    d = build_defence("lots_at")
    assert (d.n_examples, d.layer, d.limit) == (1000, "logits", 255)


def test_next_other_is_the_next_sample_with_another_label():
    assert next_other(torch.tensor([1, 1, 2, 1])).tolist() == [2, 2, 3, 2]
    assert next_other(torch.tensor([4, 4, 4])).tolist() == [-1, -1, -1]
    assert next_other(torch.tensor([5])).tolist() == [-1]


def test_starts_from_the_given_classifier_and_checks_its_layer(digits, tmp_path):
    base = module(digits, seed=1)
    save_classifier(base, tmp_path / "base.pt")
    fresh = module(digits, seed=2).model
    assert not torch.equal(fresh.body[1].weight, base.model.body[1].weight)
    tuned = module(digits, "lots_at", seed=2, init_from=str(tmp_path / "base.pt")).model
    for name, value in base.model.state_dict().items():
        assert torch.equal(tuned.state_dict()[name], value), name
    unknown = module(digits, "lots_at", {"layer": "body.9"})
    with pytest.raises(ValueError, match=r"'lots_at': layer: unknown layer 'body.9'.*body\.6"):
        unknown.defence.prepare(unknown.model, seed=0, batches_per_epoch=2)  # when training starts


def test_lots_examples_are_integer_images_of_the_target_class_or_the_origin(digits):
    model = module(digits).model.eval()
    defence = LotsAdversarialTraining(layer="body.3", limit=255)
    x, y = digits.train_x[:16].float() / 255, digits.train_y[:16]
    examples, labels = defence.lots_examples(model, x, y, count=10)
    assert examples.dtype == torch.uint8 and examples.shape == (10, 1, 8, 8)
    assert torch.equal(labels, y[:10])  # 16 digits of several classes: every origin has a target
    origins = digits.train_x[:10]
    moved = (examples != origins).flatten(1).any(1)
    assert moved.any()
    target_classes = y[next_other(y)[:10]]
    assert torch.equal(predict(model, examples[moved]), target_classes[moved])


def test_training_step_makes_lots_examples_and_trains_on_them(digits, monkeypatch):
    made = []
    lots_examples = LotsAdversarialTraining.lots_examples

    def spy(self, model, x, y, count):
        examples, labels = lots_examples(self, model, x, y, count)
        # what the model of that moment makes of them, and the class each origin was moved towards
        made.append((count, x, y, examples, labels, predict(model, examples), y[next_other(y)[:count]]))
        return examples, labels

    monkeypatch.setattr(LotsAdversarialTraining, "lots_examples", spy)
    trained = module(digits, "lots_at", {"n_examples": 16, "limit": 255})
    before = [p.detach().clone() for p in trained.model.parameters()]
    trainer = L.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, accelerator="cpu")
    trainer.fit(trained, tensor_loader(digits.train_x, digits.train_y, 64, shuffle=True))
    assert trainer.global_step == 2 and len(made) == 2
    moved_any = False
    for count, x, y, examples, labels, predicted, targets in made:
        assert count == 8  # n_examples 16 spread over the epoch's 2 batches
        # integer images on the 0–255 scale, one per origin, labelled with the origin's class
        assert examples.dtype == torch.uint8 and examples.shape == (count, *x.shape[1:])
        assert torch.equal(labels, y[:count])
        origins = (x[:count] * 255).round().to(torch.uint8)
        moved = (examples != origins).flatten(1).any(1)
        # an example that differs from its origin is a success: the model classifies it as the target
        assert torch.equal(predicted[moved], targets[moved])
        moved_any |= bool(moved.any())
    assert moved_any
    assert math.isfinite(float(trainer.callback_metrics["train_loss"]))
    assert any(not torch.equal(a, b) for a, b in zip(before, trained.model.parameters()))
