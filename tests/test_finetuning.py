"""Adversarial fine-tuning (method §4.10): the example sets, the fine-tuning defence and paper 2's Table 1."""

import copy
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from advtransfer import finetuning, study
from advtransfer.data import ImageSplits, load_dataset
from advtransfer.defences import build_defence
from advtransfer.files import load_torch
from advtransfer.lots import choose_targets, correct_origins, predict
from advtransfer.model_io import load_classifier, read_weights
from advtransfer.recipe import TrainRecipe
from advtransfer.schema import validated
from advtransfer.study import Study
from advtransfer.tables import paper2_table1
from advtransfer.training import ClassifierModule
from training_helpers import train
from workflow_helpers import link_raw, planned_jobs, snakemake, write_config

LENET = {"epochs": 1, "batch_size": 64, "optimizer": "sgd", "lr": 1.0e-2, "momentum": 0.9, "nesterov": False,
         "weight_decay": 5.0e-4}


@pytest.fixture(scope="module")
def mnist(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    link_raw(data, "MNIST", "mnist")
    return load_dataset("mnist", data, download=False, train_limit=2000, test_limit=500)


@pytest.fixture(scope="module")
def basic_lenet(mnist, tmp_path_factory):
    """The Basic LeNet, briefly trained: its model file and the classifier."""
    out = tmp_path_factory.mktemp("lenet")
    torch.set_num_threads(1)
    train(mnist, "lenet_caffe", None, LENET, out)
    return out / "model.pt", load_classifier(out / "model.pt")[0]


def origins(model, mnist, n):
    targets, _ = choose_targets(model, mnist.train_x, mnist.train_y, 10)
    index = correct_origins(model, mnist.train_x, mnist.train_y, n)
    return mnist.train_x[index], mnist.train_y[index], targets, index


@pytest.mark.parametrize("technique, layer", [("FGS", "-"), ("FGV", "-"), ("HC", "-"), ("LOTS", "body.conv2")])
def test_examples_are_integer_images_the_basic_lenet_misclassifies_labelled_with_their_origin(
        basic_lenet, mnist, tmp_path, technique, layer):
    _, model = basic_lenet
    x, y, targets, index = origins(model, mnist, 12)
    n = finetuning.generate_examples(model, x, y, technique, targets, tmp_path / "ex.npz", layer,
                                     origin_index=index, chunk_size=5)
    with np.load(tmp_path / "ex.npz") as f:
        ex = {k: torch.from_numpy(f[k]) for k in finetuning.FIELDS}
    assert n == len(ex["labels"]) > 0 and not (tmp_path / "ex.npz.chunks").exists()
    assert ex["images"].dtype == torch.uint8 and ex["images"].shape[1:] == (1, 28, 28)  # integers in [0, 255]
    assert torch.equal(ex["labels"], mnist.train_y[ex["origin"]])  # the origin's class
    assert set(ex["origin"].tolist()) <= set(index.tolist())
    predicted = predict(model, ex["images"])
    assert (predicted != ex["labels"]).all()  # each one fools the Basic LeNet
    if technique in ("HC", "LOTS"):  # one attempt per other class; reached_target: it is classified as the target
        assert torch.equal(ex["reached_target"], predicted == ex["target_class"]) and n <= 9 * len(x)
    else:
        assert (ex["target_class"] == -1).all() and not ex["reached_target"].any() and n <= len(x)
    assert (ex["images"] != mnist.train_x[ex["origin"]]).flatten(1).any(1).all()


def test_a_killed_generation_resumes_after_its_last_chunk(basic_lenet, mnist, tmp_path, monkeypatch):
    _, model = basic_lenet
    x, y, targets, index = origins(model, mnist, 10)
    whole = tmp_path / "whole.npz"
    finetuning.generate_examples(model, x, y, "HC", targets, whole, chunk_size=3, job={"a": 1})

    from advtransfer.lots import search

    calls = []
    line_search = search.line_search

    def killed_after_two_chunks(*args, **kwargs):
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")
        calls.append(len(args[1]))
        return line_search(*args, **kwargs)

    monkeypatch.setattr(search, "line_search", killed_after_two_chunks)
    out = tmp_path / "ex.npz"
    with pytest.raises(KeyboardInterrupt):
        finetuning.generate_examples(model, x, y, "HC", targets, out, chunk_size=3, job={"a": 1})
    chunks = sorted(p.name for p in (tmp_path / "ex.npz.chunks").glob("chunk_*.npz"))
    assert chunks == ["chunk_000000.npz", "chunk_000001.npz"] and not out.exists()
    calls.clear()
    monkeypatch.setattr(search, "line_search", lambda *a, **k: calls.append(len(a[1])) or line_search(*a, **k))
    finetuning.generate_examples(model, x, y, "HC", targets, out, chunk_size=3, job={"a": 1})
    assert calls == [27, 9]  # chunks 3 and 4 only: 3 + 1 origins × 9 targets
    with np.load(out) as a, np.load(whole) as b:
        for k in finetuning.FIELDS:
            assert np.array_equal(a[k], b[k]), k


def interrupted_after(monkeypatch, chunks: int):
    """Make the next generation stop (as Ctrl-C would) after ``chunks`` chunks; the undo function."""
    from advtransfer.lots import search

    line_search, calls = search.line_search, []

    def stop(*args, **kwargs):
        if len(calls) == chunks:
            raise KeyboardInterrupt("stopped")
        calls.append(1)
        return line_search(*args, **kwargs)

    monkeypatch.setattr(search, "line_search", stop)
    return lambda: monkeypatch.setattr(search, "line_search", line_search)


def damage(path: Path, how: str) -> None:
    """A file cut in half (a full disk, a crash mid-copy) or its bytes replaced by random ones."""
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2] if how == "cut" else np.random.default_rng(0).bytes(len(data)))


@pytest.mark.parametrize("how", ["cut", "garbled"])
def test_a_damaged_chunk_is_made_again(basic_lenet, mnist, tmp_path, monkeypatch, capsys, how):
    """A chunk cut short or garbled is discarded with a warning naming it and made again; the example
    set equals an uninterrupted run's."""
    _, model = basic_lenet
    x, y, targets, _ = origins(model, mnist, 10)
    whole = tmp_path / "whole.npz"
    finetuning.generate_examples(model, x, y, "FGS", targets, whole, chunk_size=3, job={"a": 1})
    out = tmp_path / "fgs.npz"
    resume = interrupted_after(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        finetuning.generate_examples(model, x, y, "FGS", targets, out, chunk_size=3, job={"a": 1})
    resume()
    chunk = tmp_path / "fgs.npz.chunks" / "chunk_000000.npz"
    damage(chunk, how)
    capsys.readouterr()
    finetuning.generate_examples(model, x, y, "FGS", targets, out, chunk_size=3, job={"a": 1})
    with np.load(out) as a, np.load(whole) as b:
        assert all(np.array_equal(a[k], b[k]) for k in finetuning.FIELDS)
    assert not chunk.parent.exists()
    assert f"warning: {chunk}" in capsys.readouterr().err


def test_chunks_of_another_job_are_discarded(basic_lenet, mnist, tmp_path, monkeypatch):
    _, model = basic_lenet
    x, y, targets, _ = origins(model, mnist, 4)
    folder = tmp_path / "ex.npz.chunks"
    folder.mkdir()
    (folder / "chunk_000000.npz").write_bytes(b"from another job")
    finetuning.generate_examples(model, x, y, "FGS", targets, tmp_path / "ex.npz", chunk_size=2, job={"limit": 1})
    with np.load(tmp_path / "ex.npz") as f:
        assert len(f["labels"]) <= 4


def test_fine_tuning_starts_from_the_vanilla_weights_and_trains_the_set_iterations(basic_lenet, mnist, tmp_path):
    model_path, vanilla = basic_lenet
    torch.manual_seed(5)
    module = ClassifierModule("lenet_caffe", 1, 28, 10, *mnist.channel_stats(), TrainRecipe.from_config(LENET),
                              "adversarial_finetuning", {"technique": "FGS"}, init_weights=read_weights(model_path),
                              examples=["fgs.npz"])
    for name, value in vanilla.state_dict().items():
        assert torch.equal(module.model.state_dict()[name], value), name
    x, y, targets, index = origins(vanilla, mnist, 20)
    examples = tmp_path / "fgs.npz"
    n = finetuning.generate_examples(vanilla, x, y, "FGS", targets, examples, origin_index=index)
    defence = build_defence("adversarial_finetuning", {"technique": "FGS"}, examples=[str(examples)])
    clean_x, clean_y = mnist.train_x[:100], mnist.train_y[:100]
    tx, ty = defence.prepare_training_set(clean_x, clean_y, 0)
    assert len(ty) == 100 + n and torch.equal(tx[:100], clean_x) and tx.dtype == torch.uint8
    defence.n_clean = 30  # the first 30 clean images only (a down-scaled study keeps the paper's proportion)
    fewer_x, fewer_y = defence.prepare_training_set(clean_x, clean_y, 0)
    assert len(fewer_y) == 30 + n and torch.equal(fewer_x[:30], clean_x[:30])
    assert torch.equal(fewer_x[30:], tx[100:]) and torch.equal(fewer_y[30:], ty[100:])  # every example
    defence.clean = False
    assert len(defence.prepare_training_set(clean_x, clean_y, 0)[1]) == n

    out = tmp_path / "tuned"
    params = {"technique": "FGS", "iterations": 8, "epochs": 2}
    result = train(mnist, "lenet_caffe", None, LENET, out, defence="adversarial_finetuning", defence_params=params,
                   init_from=str(model_path), examples=[str(examples)])
    assert result.epochs == 2 and len(pd.read_csv(out / "history.csv")) == 2
    assert load_torch(out / "checkpoints" / "last.ckpt")["global_step"] == 8  # the set iterations
    tuned, meta = load_classifier(out / "model.pt")
    assert meta["defence"] == "adversarial_finetuning" and meta["defence_params"] == params
    assert any(not torch.equal(a, b) for a, b in zip(tuned.state_dict().values(), vanilla.state_dict().values()))


def epoch_of(loader, epoch: int) -> list[list[int]]:
    loader.sampler.set_epoch(epoch)  # as Lightning does at the start of each epoch
    return [b.tolist() for _, b in loader]


def test_an_epoch_of_set_batches_runs_on_through_the_shuffled_passes():
    x, y = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1), torch.arange(10)
    splits = ImageSplits(x, y, x, y, [str(i) for i in range(10)])
    loader = splits.train_loader(None, 4, seed=3, batches=3)  # 12 samples an epoch, passes of 10
    epochs = [epoch_of(loader, e) for e in range(3)]
    assert len(loader) == 3 and all([len(b) for b in e] == [4, 4, 4] for e in epochs)
    plain = splits.train_loader(None, 10, seed=3)  # the shuffled passes, one batch each
    passes = [v for p in range(4) for v in epoch_of(plain, p)[0]]
    assert [v for e in epochs for b in e for v in b] == passes[:36]  # the passes laid end to end
    resumed = splits.train_loader(None, 4, seed=3, batches=3)
    assert epoch_of(resumed, 2) == epochs[2]  # a resumed run: the same order, from (seed, epoch) alone
    shares = [sum(epoch_of(splits.train_loader(None, 2, seed=3, rank=r, world_size=2, batches=2), 0), [])
              for r in (0, 1)]
    assert [len(s) for s in shares] == [4, 4] and not set(shares[0]) & set(shares[1])  # DDP: disjoint shares


@pytest.mark.parametrize("params, message", [
    ({"technique": "PGD"}, "technique must be one of FGS, FGV, HC, LOTS"),
    ({"layers": []}, "layers must be a list of layer names"),
    ({"iterations": 0}, "iterations must be an integer ≥ 1"),
    ({"iterations": 5, "epochs": 6}, "epochs must be an integer ≥ 1 that divides iterations"),
    ({"iterations": 10, "epochs": 3}, "epochs must be an integer ≥ 1 that divides iterations"),
    ({"clean": "yes"}, "clean must be true or false"),
    ({"n_clean": 0}, "n_clean must be an integer ≥ 1"),
])
def test_bad_parameters_name_the_defence(params, message):
    with pytest.raises(ValueError, match=f"'adversarial_finetuning': {message}"):
        build_defence("adversarial_finetuning", params)


def test_defence_instances_resolve_to_their_defence_and_example_sets():
    config = {"defence_params": {
        "adversarial_finetuning": {"iterations": 100},
        "ft_hc": {"defence": "adversarial_finetuning", "technique": "HC"},
        "ft_lots": {"defence": "adversarial_finetuning", "technique": "LOTS", "layers": ["body.conv1", "logits"],
                    "iterations": 50}},
        "datasets": {"mnist": {"defence_params": {"ft_hc": {"clean": False}}}}}
    config["datasets"]["mnist"]["architectures"] = {"lenet_caffe": {"train": {"epochs": 1}}}
    config["datasets"]["mnist"]["defences"] = ["vanilla", "ft_hc", "ft_lots"]
    defences = Study.from_config(validated(config)).datasets["mnist"].architectures["lenet_caffe"].defences
    assert study.defence_kind(config, "ft_hc", "mnist") == defences["ft_hc"].kind == "adversarial_finetuning"
    assert defences["vanilla"].kind == "vanilla"
    assert defences["ft_hc"].params == {"iterations": 100, "technique": "HC", "clean": False}
    assert study.defence_params(config, "ft_lots")["iterations"] == defences["ft_lots"].params["iterations"] == 50
    assert defences["ft_hc"].example_sets == ("hc",)
    assert defences["ft_lots"].example_sets == ("lots_body.conv1", "lots_logits")
    assert study.example_source("lots_body.conv1") == ("LOTS", "body.conv1")
    assert defences["ft_lots"].base == "vanilla" and defences["vanilla"].example_sets == ()


def test_paper2_table1_has_one_row_per_model_vanilla_first():
    rows = []
    for defence in ("ft_fgs", "vanilla"):
        for technique, mode, layer, success, l2 in [
                ("FGS", "untargeted", "-", True, 10.0), ("FGS", "untargeted", "-", False, np.nan),
                ("HC", "untargeted", "-", True, 20.0), ("HC", "targeted", "-", True, 99.0),
                ("LOTS", "untargeted", "body.conv1", True, 30.0), ("LOTS", "untargeted", "logits", True, 50.0),
                ("LOTS", "targeted", "logits", True, 99.0)]:
            rows.append({"dataset": "mnist", "architecture": "lenet_caffe", "defence": defence,
                         "technique": technique, "mode": mode, "layer": layer, "success": success,
                         "l2": l2, "linf": l2 / 10, "pass_score": 0.5})
    errors = pd.DataFrame([{"dataset": "mnist", "architecture": "lenet_caffe", "defence": d, "test_error": e}
                           for d, e in (("ft_fgs", 0.02), ("vanilla", 0.01))])
    table = paper2_table1(pd.DataFrame(rows), errors)
    assert table["defence"].tolist() == ["vanilla", "ft_fgs"] and table["test_error"].tolist() == [0.01, 0.02]
    first = table.iloc[0]
    assert first["fgs_success_rate"] == 0.5 and first["fgs_l2_mean"] == 10.0
    assert first["hc_l2_mean"] == 20.0  # paper 2's criterion: the untargeted attempts only
    assert first["lots_l2_mean"] == 40.0 and first["lots_l2_std"] == pytest.approx(np.std([30, 50], ddof=1))
    assert np.isnan(first["fgv_success_rate"])  # no FGV attempts


# -- the workflow ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def finetuning_study(tmp_path_factory):
    """A small paper 2 study on real MNIST: the Basic LeNet, fine-tuned on FGS and on HC examples."""
    workdir = tmp_path_factory.mktemp("paper2")
    link_raw(workdir / "data", "MNIST", "mnist")
    config = {
        "data_dir": str(workdir / "data"), "download": False, "seeds": [0],
        "defence_params": {
            "adversarial_finetuning": {"iterations": 20, "epochs": 1},
            "ft_fgs": {"defence": "adversarial_finetuning", "technique": "FGS"},
            "ft_hc": {"defence": "adversarial_finetuning", "technique": "HC", "iterations": 30}},
        "datasets": {"mnist": {
            "train_limit": 3000, "test_limit": 200, "excluded_classes": "none",
            "defences": ["vanilla", "ft_fgs", "ft_hc"],
            "lots": {"n_lots": 4, "n_train": 8, "layers": {"lenet_caffe": ["logits"]}, "modes": ["untargeted"],
                     "visualise": 0},
            "architectures": {"lenet_caffe": {"train": {**LENET, "epochs": 2}}}}}}
    snakemake(workdir, write_config(workdir, config))
    return workdir, config


def plan(study_, edit):
    workdir, config = study_
    config = copy.deepcopy(config)
    edit(config)
    return planned_jobs(snakemake(workdir, write_config(workdir, config, "edited.yaml"), "-n").stdout)


@pytest.mark.workflow
def test_the_workflow_fills_every_row_of_paper2_table1(finetuning_study):
    workdir, _ = finetuning_study
    table = pd.read_csv(workdir / "results/tables/paper2_table1.csv")
    assert table["defence"].tolist() == ["vanilla", "ft_fgs", "ft_hc"]
    assert table.notna().all().all(), table
    assert (workdir / "results/tables/paper2_table1.md").read_text().count("±") >= 3 * 12 - 3
    examples = sorted(p.name for p in (workdir / "results/adversarial_examples/mnist/lenet_caffe/seed0/none").iterdir())
    assert examples == ["fgs.npz", "hc.npz"]
    page = (workdir / "results/report/paper2_table1.html").read_text()  # the report's page, laid out
    assert page.count("<tr>") == 4 and "FGS PASS" in page and "±" in page


@pytest.mark.workflow
def test_an_edit_of_one_techniques_settings_reruns_only_that_models_jobs(finetuning_study):
    assert plan(finetuning_study, lambda c: None) == []

    def edit(config):
        config["defence_params"]["ft_hc"]["iterations"] = 40

    jobs = plan(finetuning_study, edit)
    per_model = Counter(rule for rule, w in jobs if w)  # the jobs of one model have wildcards
    assert {w.get("defence") for _, w in jobs if w} == {"ft_hc"}  # no example set is made again
    assert per_model["train"] == per_model["lots"] == per_model["lots_baselines"] == 1, per_model
    assert "adversarial_examples" not in per_model
    assert {"lots_comparison", "paper2_table1", "html_paper2_table1"} <= {rule for rule, w in jobs if not w}


@pytest.mark.workflow
def test_the_fine_tuned_models_start_from_the_basic_lenet(finetuning_study):
    workdir, _ = finetuning_study
    models = Path(workdir / "results/models/mnist/lenet_caffe")
    vanilla = torch.load(models / "vanilla/seed0/none/model.pt", weights_only=True)["state_dict"]
    torch.manual_seed(1)
    fresh = ClassifierModule("lenet_caffe", 1, 28, 10, [0.1], [0.3], TrainRecipe.from_config(LENET)).model.state_dict()

    def distance(state):
        return sum(float((state[k] - v).abs().mean()) for k, v in vanilla.items() if k.startswith("body."))

    for defence in ("ft_fgs", "ft_hc"):
        payload = torch.load(models / defence / "seed0/none/model.pt", weights_only=True)
        assert payload["hparams"]["defence"] == "adversarial_finetuning"
        # 20 or 30 steps from the vanilla weights: near them, far nearer than a fresh network
        assert 0 < distance(payload["state_dict"]) < 0.2 * distance(fresh)


@pytest.mark.workflow
@pytest.mark.parametrize("deleted, rule, runs", [
    ("results/adversarial_examples/mnist/lenet_caffe/seed0/none/fgs.npz", "adversarial_examples",
     {"train", "predictions", "lots", "lots_baselines", "lots_comparison", "paper2_table1", "paper2_claims"}),
    ("results/lots/mnist/lenet_caffe/vanilla/seed0/logits.csv", "lots",
     {"lots_comparison", "paper2_table1", "paper2_claims", "paper2_lenet"}),
])
def test_a_deleted_example_set_is_made_again_by_a_plain_run(finetuning_study, tmp_path, deleted, rule, runs):
    """An example set (or LOTS attempts) deleted from the finished paper 2 study: a plain run makes it
    again, and runs again what was made from it: the fine-tuning on it and that model's jobs, paper 2's
    tables (running.md, "Guarantees")."""
    import shutil

    workdir, _ = finetuning_study
    copy = tmp_path / "study"
    shutil.copytree(workdir, copy, symlinks=True)
    (copy / deleted).unlink()
    jobs = planned_jobs(snakemake(copy, copy / "config.yaml", "-n").stdout)
    assert [r for r, _ in jobs].count(rule) == 1
    assert runs <= {r for r, _ in jobs}, sorted({r for r, _ in jobs})
    if rule == "adversarial_examples":  # only the model fine-tuned on FGS examples trains again
        assert {w["defence"] for r, w in jobs if "defence" in w} == {"ft_fgs"}
        assert [r for r, _ in jobs].count("train") == 1
