"""Your own models and data (``advtransfer.own``): image folders, dataset classes, models given by
import path, their config checks and code versions."""

import shutil
from pathlib import Path

import pytest
import torch
from snakemake.utils import validate

from advtransfer.code import code_version
from advtransfer.config import ConfigError, check_as_given, check_config
from advtransfer.data import load_dataset
from advtransfer.lots.layers import LayerFeatures, layer_names
from advtransfer.models import build_classifier
from own_data import write_digit_folder
from workflow_helpers import ROOT

HERE = Path(__file__).resolve().parent
TINY = f"{HERE / 'own_model.py'}:TinyNet"
SCHEMA = str(ROOT / "workflow" / "schemas" / "config.schema.yaml")
RECIPE = {"epochs": 1, "batch_size": 32, "optimizer": "adam", "lr": 1.0e-3}


@pytest.fixture
def folder(tmp_path):
    """Digits 1, 0, 2 in class folders that sort otherwise: zebra (1), apple (0), mango (2)."""
    return write_digit_folder(tmp_path / "mine", digits=(1, 0, 2), train=20, test=5,
                              names=["zebra", "apple", "mango"])


def own_config(tmp_path, source: dict, model: str = TINY, **dataset_keys) -> dict:
    return {"data_dir": str(tmp_path / "data"), "download": False, "datasets": {"mine": {
        **source, "excluded_classes": [0, 1], **dataset_keys,
        "architectures": {"tiny": {"model": model, "model_kwargs": {"width": 4}, "train": dict(RECIPE)}}}}}


def full_check(config):
    check_as_given(config)
    validate(config, SCHEMA)
    check_config(config)


def test_image_folder_loads_in_memory_with_sorted_classes(tmp_path, folder):
    splits = load_dataset("mine", tmp_path / "data", False, source={"image_folder": str(folder)})
    assert splits.class_names == ["apple", "mango", "zebra"]
    assert splits.train_x.dtype == torch.uint8 and tuple(splits.train_x.shape) == (60, 1, 8, 8)
    assert tuple(splits.test_x.shape) == (15, 1, 8, 8)
    assert torch.bincount(splits.train_y).tolist() == [20, 20, 20]
    assert len(set(splits.train_y[:6].tolist())) > 1  # a fixed shuffled order: the first samples mix classes
    # Eᵢ and class removal come from the shared Splits code
    assert len(splits.evaluation_samples(1)) == 25
    assert len(splits.split_without("train", 0)) == 40
    # decoded once, kept under data/own/, read back the same
    assert list((tmp_path / "data" / "own").glob("mine-*.pt"))
    again = load_dataset("mine", tmp_path / "data", False, source={"image_folder": str(folder)})
    assert torch.equal(again.train_x, splits.train_x) and torch.equal(again.test_y, splits.test_y)


@pytest.mark.parametrize("how", ["cut", "garbled"])
def test_a_damaged_image_is_named_when_the_folder_is_decoded(tmp_path, folder, how):
    """A truncated (or garbled) PNG passes the config check, whose look at the headers finds nothing;
    decoding the folder names the file and says what to do, instead of PIL's "image file is truncated"."""
    bad = folder / "train" / "apple" / "003.png"
    data = bad.read_bytes()
    bad.write_bytes(data[:len(data) // 2] if how == "cut" else data[:40] + bytes(len(data) - 40))
    with pytest.raises(ValueError, match=f"{bad}: .*replace it .* or delete it"):
        load_dataset("mine", tmp_path / "data", False, source={"image_folder": str(folder)})


def test_image_folder_is_resized_when_asked(tmp_path, folder):
    splits = load_dataset("mine", tmp_path / "data", False, source={"image_folder": str(folder), "image_size": 12})
    assert tuple(splits.train_x.shape[1:]) == (1, 12, 12)


@pytest.mark.parametrize("cls", ["FakeDigits", "SplitDigits"])
def test_dataset_class_by_import_path(tmp_path, cls):
    source = {"dataset_class": f"{HERE / 'own_data.py'}:{cls}", "dataset_kwargs": {}}
    splits = load_dataset("mine", tmp_path / "data", False, train_limit=30, source=source)
    assert splits.class_names == ["zero", "one", "two"]
    assert tuple(splits.train_x.shape) == (30, 1, 8, 8) and len(splits.test_y) == 20


def test_own_model_is_wrapped_like_a_registered_one(one_thread):
    model = build_classifier("tiny", 1, 8, 3, [0.5], [0.25], own_model={"model": TINY, "model_kwargs": {"width": 4}})
    assert model.body.conv.out_channels == 4
    assert model(torch.rand(5, 1, 8, 8)).shape == (5, 3)
    assert {"body.conv", "body.hidden", "logits"} <= set(layer_names(model))
    scores, features = LayerFeatures(model, "body.hidden")(torch.rand(2, 1, 8, 8))
    assert features.shape == (2, 32) and scores.shape == (2, 3)


def test_a_good_own_config_passes(tmp_path, folder):
    config = own_config(tmp_path, {"image_folder": str(folder)}, lots={"layers": {"tiny": ["body.hidden"]}})
    full_check(config)
    assert config["datasets"]["mine"].get("num_classes") is None  # the data decide: 3 folders


@pytest.mark.parametrize("model, message", [
    ("no_such_module_xyz:Net", r"architectures\.tiny\.model: 'no_such_module_xyz:Net': no module no_such_module_xyz"),
    ("missing/file.py:Net", r"architectures\.tiny\.model: 'missing/file.py:Net': no module missing/file\.py"),
    (f"{HERE / 'own_model.py'}:Nope", r"architectures\.tiny\.model: .* cannot be imported: .* has no 'Nope'"),
    (f"{HERE / 'own_model.py'}:one_output", r"architectures\.tiny\.model: .* gives outputs of shape \(1,\)"),
    ("own_model", r"architectures\.tiny\.model: 'own_model' is not an import path"),
])
def test_bad_own_models_are_config_errors(tmp_path, folder, model, message):
    config = own_config(tmp_path, {"image_folder": str(folder)}, model=model)
    with pytest.raises(ConfigError, match=message):
        full_check(config)


def test_unknown_lots_layer_of_an_own_model_is_named(tmp_path, folder):
    config = own_config(tmp_path, {"image_folder": str(folder)}, lots={"layers": {"tiny": ["body.nope"]}})
    with pytest.raises(ConfigError, match=r"lots\.layers\.tiny: unknown layer 'body\.nope'; known: .*body\.hidden"):
        full_check(config)


def test_bad_image_folders_are_config_errors(tmp_path, folder):
    def fails(message, **keys):
        with pytest.raises(ConfigError, match=message):
            full_check(own_config(tmp_path, {"image_folder": str(folder)}, **keys))

    fails(r"datasets\.mine\.num_classes: 4, but .* has 3 class folders", num_classes=4)
    (folder / "train" / "kiwi").mkdir()
    (folder / "test" / "kiwi").mkdir()
    fails(r"datasets\.mine\.image_folder: '.*': .*train/kiwi holds no images")
    shutil.rmtree(folder / "train" / "kiwi")
    fails(r"datasets\.mine\.image_folder: .*only in train/: \[\], only in test/: \['kiwi'\]")
    shutil.rmtree(folder / "test")
    fails(r"datasets\.mine\.image_folder: '.*': .* has no test/ folder")


def test_n_attack_is_checked_against_an_image_folder(tmp_path, folder):
    with pytest.raises(ConfigError, match=r"datasets\.mine\.attacks\.n_attack: 20, but the test split has 15"):
        full_check(own_config(tmp_path, {"image_folder": str(folder)}, attacks={"n_attack": 20}))


def test_dataset_class_needs_and_checks_num_classes(tmp_path):
    source = {"dataset_class": f"{HERE / 'own_data.py'}:FakeDigits"}
    with pytest.raises(ConfigError, match=r"datasets\.mine\.num_classes: missing"):
        full_check(own_config(tmp_path, source))
    with pytest.raises(ConfigError, match=r"datasets\.mine\.num_classes: 5, but .*FakeDigits has 3 classes"):
        full_check(own_config(tmp_path, source, num_classes=5))
    full_check(own_config(tmp_path, source, num_classes=3))
    with pytest.raises(ConfigError, match=r"datasets\.mine\.attacks\.n_attack: 25, but the test split has 20"):
        full_check(own_config(tmp_path, source, num_classes=3, attacks={"n_attack": 25}))
    with pytest.raises(ConfigError, match=r"datasets\.mine\.dataset_class: .* cannot be imported"):
        full_check(own_config(tmp_path, {"dataset_class": f"{HERE / 'own_data.py'}:Nope"}, num_classes=3))


def test_own_model_code_counts_in_code_versions(tmp_path):
    (tmp_path / "nets.py").write_text("import helpers\n\n\ndef net():\n    return helpers.width()\n")
    (tmp_path / "helpers.py").write_text("def width():\n    return 4\n")
    ref = str(tmp_path / "nets.py")

    def version():
        code_version.cache_clear()
        from advtransfer import code

        code.source_digest.cache_clear()
        code.imported_names.cache_clear()
        return code_version(modules=(ref,))

    before = version()
    assert before != code_version()
    (tmp_path / "nets.py").write_text("import helpers  # a comment\n\n\ndef net():\n    return helpers.width()\n")
    assert version() == before
    (tmp_path / "helpers.py").write_text("def width():\n    return 8\n")  # a module it imports, beside it
    assert version() != before
    # an installed library counts no more than the ones the package imports
    assert code_version(modules=("torchvision.datasets",)) == code_version()


def test_a_dotted_module_is_found_in_the_working_directory(tmp_path, monkeypatch):
    from advtransfer import code
    from advtransfer.own import load_object, module_missing

    (tmp_path / "mypkg").mkdir()
    (tmp_path / "mypkg" / "__init__.py").write_text("")
    (tmp_path / "mypkg" / "nets.py").write_text("from torch import nn\n\n\ndef net(num_classes, input_shape):\n"
                                               "    return nn.Sequential(nn.Flatten(), nn.LazyLinear(num_classes))\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.path", list(__import__("sys").path))  # load_object may add the working directory
    assert not module_missing("mypkg.nets") and module_missing("mypkg.nope") is False  # a package: left to import
    assert module_missing("nopkg_xyz.nets")
    model = build_classifier("n", 1, 8, 3, [0.0], [1.0], own_model={"model": "mypkg.nets:net", "model_kwargs": {}})
    assert model(torch.rand(2, 1, 8, 8)).shape == (2, 3)
    assert callable(load_object("mypkg.nets:net"))
    assert set(code.closure(modules=("mypkg.nets",))) >= {"own:mypkg", "own:mypkg.nets"}
