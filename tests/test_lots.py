"""LOTS, FGS, FGV, HC and the line search (method §4)."""


import pandas as pd
import pytest
import torch
from torch import nn
from torch.func import grad, vmap

from advtransfer.data import load_dataset
from advtransfer.figures import lots_figure, save
from advtransfer.lots import (
    TECHNIQUES,
    LayerFeatures,
    choose_targets,
    correct_origins,
    fgs_direction,
    fgv_direction,
    hot_cold_direction,
    iterative_lots,
    layer_features,
    layer_names,
    line_search,
    lots_comparison,
    lots_direction,
    predict,
    saturation_eps,
    visualisation_direction,
)
from advtransfer.lots.visualise import magnify_reduce, visualisation_panels
from advtransfer.models import build_classifier
from advtransfer.tables import lots_comparison_table as comparison_table
from workflow_helpers import link_raw

pytestmark = pytest.mark.usefixtures("one_thread")



def small_lenet(seed: int = 0, size: int = 16) -> nn.Module:
    torch.manual_seed(seed)
    return build_classifier("lenet_caffe", 1, size, 10, [0.3], [0.3]).eval()


def random_images(n: int, size: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, 1, size, size), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


# ---------------------------------------------------------------- layers

def test_layer_names_and_an_unknown_layer():
    model = small_lenet()
    names = layer_names(model)
    assert {"body.conv1", "body.conv2", "body.ip1", "body.ip2", "logits"} <= set(names)
    assert names[-1] == "logits"
    with pytest.raises(ValueError, match="unknown layer 'body.conv9'.*body.conv2.*logits"):
        LayerFeatures(model, "body.conv9")


def test_layer_features_come_with_the_scores_and_before_an_inplace_relu():
    torch.manual_seed(0)
    model = build_classifier("convnet", 1, 16, 10, [0.3], [0.3]).eval()  # conv → ReLU(inplace=True)
    x = torch.rand(3, 1, 16, 16)
    scores, f = LayerFeatures(model, "body.0")(x)
    with torch.no_grad():
        expected = model.body[0](model.standardize(x))
        torch.testing.assert_close(scores, model(x))
    torch.testing.assert_close(f, expected)
    assert (f < 0).any()  # the convolution's output, not the ReLU's
    logits_scores, logits = LayerFeatures(model, "logits")(x)
    torch.testing.assert_close(logits, logits_scores)


def test_lenet_caffe_ip1_is_read_after_its_relu():
    """Caffe's ReLU runs in place on the ip1 blob: paper 2's ip1 is non-negative."""
    model = small_lenet()
    images = random_images(8, seed=3)
    ip1 = layer_features(model, "body.ip1", images)
    before = layer_features(model, "body.ip1.fc", images)
    assert ip1.shape == (8, 500) and (ip1 >= 0).all()
    assert (before < 0).any()
    torch.testing.assert_close(ip1, before.clamp_min(0))


# ---------------------------------------------------------------- directions

def test_lots_direction_is_minus_the_gradient_of_the_feature_distance():
    model = small_lenet()
    origins, target_images = random_images(4, seed=1), random_images(4, seed=2)
    body = model.body

    def conv2(x):  # f⁽ˡ⁾ at body.conv2 written out by hand, x on the 0–255 scale
        return body.conv2(body.pool1(body.conv1(model.standardize(x / 255))))

    def distance(x, target):
        return 0.5 * (target - conv2(x[None])[0]).pow(2).sum()

    with torch.no_grad():
        targets = conv2(target_images.float())
    expected = -vmap(grad(distance))(origins.float(), targets)
    eta = lots_direction(model, "body.conv2", origins, layer_features(model, "body.conv2", target_images))
    torch.testing.assert_close(eta, expected, rtol=1e-4, atol=1e-6)
    assert eta.abs().sum() > 0

    def logit_distance(x, target):
        return 0.5 * (target - model(x[None] / 255)[0]).pow(2).sum()

    with torch.no_grad():
        target_logits = model(target_images.float() / 255)
    eta = lots_direction(model, "logits", origins, target_logits, batch_size=3)  # batches of 3 and 1
    torch.testing.assert_close(eta, -vmap(grad(logit_distance))(origins.float(), target_logits), rtol=1e-4, atol=1e-6)


def test_lots_direction_by_finite_differences():
    model = small_lenet().double()
    origin = random_images(1, seed=3).double()
    target = layer_features(model, "body.ip1", random_images(1, seed=4).double())
    eta = lots_direction(model, "body.ip1", origin, target)

    def distance(x):
        with torch.no_grad():
            return 0.5 * (target - LayerFeatures(model, "body.ip1")(x / 255)[1]).pow(2).sum().item()

    for pixel in [(0, 0, 3, 4), (0, 0, 8, 8), (0, 0, 15, 1)]:
        step = torch.zeros_like(origin)
        step[pixel] = 1e-3
        slope = (distance(origin + step) - distance(origin - step)) / 2e-3
        assert eta[pixel].item() == pytest.approx(-slope, rel=1e-4, abs=1e-8)


def test_visualisation_fgs_fgv_and_hot_cold_directions():
    model = small_lenet()
    x = random_images(3, seed=5)
    labels, targets = torch.tensor([1, 2, 3]), torch.tensor([4, 5, 6])
    origin_classes = predict(model, x)

    def feature_norm(image):
        return 0.5 * LayerFeatures(model, "body.ip1")(image[None] / 255)[1].pow(2).sum()

    def loss(image, label):
        return -(torch.log_softmax(model(image[None] / 255)[0], 0) * label).sum()  # label: one-hot

    def hot_cold(image, hot, cold):
        scores = model(image[None] / 255)[0]
        return (scores * (hot - cold)).sum()  # one-hot classes

    xf = x.float()
    magnify = vmap(grad(feature_norm))(xf)
    torch.testing.assert_close(visualisation_direction(model, "body.ip1", x, +1), magnify)
    torch.testing.assert_close(visualisation_direction(model, "body.ip1", x, -1), -magnify)
    one_hot = lambda classes: nn.functional.one_hot(classes, 10).float()  # noqa: E731
    loss_gradient = vmap(grad(loss))(xf, one_hot(labels))
    torch.testing.assert_close(fgs_direction(model, x, labels), loss_gradient.sign())
    fgv = fgv_direction(model, x, labels)
    torch.testing.assert_close(fgv.flatten(1).abs().amax(1), torch.ones(3))
    torch.testing.assert_close(fgv, loss_gradient / loss_gradient.flatten(1).abs().amax(1).view(-1, 1, 1, 1))
    torch.testing.assert_close(hot_cold_direction(model, x, targets, origin_classes),
                               vmap(grad(hot_cold))(xf, one_hot(targets), one_hot(origin_classes)))


# ---------------------------------------------------------------- line search

def brute_force(model, origin, direction, cls, targeted, limit):
    """The smallest ε in 1..limit by trying every one (None when none succeeds)."""
    d = direction / direction.abs().max() if direction.abs().max() > 0 else direction
    eps = torch.arange(1, limit + 1, dtype=torch.float32).view(-1, 1, 1, 1)
    images = (origin.float() + eps * d).round().clamp(0, 255)
    predictions = predict(model, images)
    hits = torch.nonzero(predictions == cls if targeted else predictions != cls).flatten()
    return int(hits[0]) + 1 if len(hits) else None


@pytest.mark.parametrize("targeted", [True, False])
def test_line_search_finds_the_smallest_eps(targeted):
    model = small_lenet(seed=1)
    origins = random_images(12, seed=6)
    directions = torch.randn(12, 1, 16, 16, generator=torch.Generator().manual_seed(7))
    directions[0] = 0  # a zero direction never moves: a failure
    classes = torch.arange(12) % 10 if targeted else predict(model, origins)
    result = line_search(model, origins, directions, classes, targeted, limit=300)
    assert result.adversarials.dtype == torch.uint8
    for i in range(12):
        expected = brute_force(model, origins[i], directions[i], classes[i], targeted, 300)
        assert bool(result.success[i]) == (expected is not None)
        if expected is not None:
            assert int(result.eps[i]) == expected
            d = directions[i] / directions[i].abs().max()
            torch.testing.assert_close(result.adversarials[i],
                                       (origins[i] + expected * d).round().clamp(0, 255).to(torch.uint8))
            assert int(result.predictions[i]) == int(predict(model, result.adversarials[i:i + 1])[0])
        else:
            torch.testing.assert_close(result.adversarials[i], origins[i])
    assert 0 < int(result.success.sum()) < 12


class OnePixelThreshold(nn.Module):
    """Class 1 when pixel (0, 1) of a 2×2 image is above 4.5 on the 0–255 scale, else class 0."""

    def forward(self, x):
        pixel = 255 * x[:, 0, 0, 1]
        return torch.stack([torch.zeros_like(pixel), pixel - 4.5], dim=1)


def test_line_search_goes_past_255():
    # Pixel (0, 0) moves at full speed and saturates at ε = 255; pixel (0, 1) moves at 1/128 per ε and
    # decides the class: round(ε/128) ≥ 5 first at ε = 577 (4.5 rounds to even, 4).
    model = OnePixelThreshold()
    origin = torch.zeros(1, 1, 2, 2, dtype=torch.uint8)
    direction = torch.tensor([[[[1.0, 1 / 128], [0.0, 0.0]]]])
    result = line_search(model, origin, direction, torch.tensor([1]), targeted=True)
    assert bool(result.success[0])
    assert int(result.eps[0]) == brute_force(model, origin[0], direction[0], 1, True, 4096) == 577
    assert result.adversarials[0, 0].tolist() == [[255, 5], [0, 0]]
    assert not line_search(model, origin, direction, torch.tensor([1]), True, limit=576).success[0]


def test_saturation_eps():
    x = torch.tensor([[[[3, 4], [5, 255]]]], dtype=torch.uint8)
    assert saturation_eps(x, torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])).item() == 252  # 3 + 252 = 255
    assert saturation_eps(x, torch.tensor([[[[-0.5, 0.0], [0.0, 0.0]]]])).item() == 6  # 3 − 6·0.5 = 0
    assert saturation_eps(x, torch.tensor([[[[0.0, 0.0], [0.0, 1.0]]]])).item() == 0  # already at 255
    tiny = torch.tensor([[[[1.0, 1e-42], [-1e-45, 0.0]]]])  # 255 / 1e-42 overflows float32
    assert saturation_eps(x, tiny).item() >= 2**31
    result = line_search(OnePixelThreshold(), x, torch.tensor([[[[0.0, 0.0], [0.0, 1.0]]]]), torch.tensor([1]))
    assert not result.success[0] and result.eps[0] == 0


def test_comparison_origins_are_the_first_correctly_classified_images(tmp_path, monkeypatch):
    """Paper 2 attacks only correctly classified origins: the job takes the first ``n_lots`` of them
    and names each by its index in the test split."""
    from advtransfer.jobs import _inputs
    from advtransfer.jobs import lots as job

    model, images = small_lenet(), random_images(12, seed=5)
    labels = predict(model, images)
    wrong = torch.tensor([0, 1, 4, 7])
    labels[wrong] = (labels[wrong] + 1) % 10
    assert correct_origins(model, images, labels, 5).tolist() == [2, 3, 5, 6, 8]
    assert correct_origins(model, images, labels, 50).tolist() == [2, 3, 5, 6, 8, 9, 10, 11]

    inputs = _inputs.LotsInputs(model, images, labels, predict(model, images), random_images(10, seed=6), [])
    monkeypatch.setattr(_inputs, "lots_inputs", lambda data, path, predictions: inputs)
    out = tmp_path / "attempts.csv"
    job.attempts_job({}, "model.pt", {"dataset": "d", "architecture": "a", "defence": "vanilla"}, ["FGS", "LOTS"],
                     ["logits"], ["untargeted"], 5, 16, str(out))
    attempts = pd.read_csv(out)
    assert sorted(set(attempts["origin"])) == [2, 3, 5, 6, 8]
    assert (attempts["origin_label"] == labels.numpy()[attempts["origin"]]).all()
    assert len(attempts) == 5 + 5 * 9  # FGS once per origin, LOTS towards the 9 other classes

    # in chunks of 2 origins, killed after the second chunk: the re-run makes the third chunk only
    calls = []
    comparison = job.lots_comparison

    def killed_after_two_chunks(model_, origins, *args):
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")
        calls.append(len(origins))
        return comparison(model_, origins, *args)

    chunked = tmp_path / "chunked.csv"
    run = lambda: job.attempts_job({}, "model.pt", {"dataset": "d", "architecture": "a", "defence": "vanilla"},  # noqa: E731
                                   ["FGS", "LOTS"], ["logits"], ["untargeted"], 5, 16, str(chunked), chunk_size=2)
    monkeypatch.setattr(job, "lots_comparison", killed_after_two_chunks)
    with pytest.raises(KeyboardInterrupt):
        run()
    assert sorted(p.name for p in (tmp_path / "chunked.csv.chunks").glob("chunk_*")) == [
        "chunk_000000.csv", "chunk_000001.csv"] and not chunked.exists()
    calls.clear()
    monkeypatch.setattr(job, "lots_comparison", lambda m, o, *a: calls.append(len(o)) or comparison(m, o, *a))
    run()
    assert calls == [1] and not (tmp_path / "chunked.csv.chunks").exists()
    assert pd.read_csv(chunked).equals(attempts)  # the same rows as in one go


# ---------------------------------------------------------------- a LeNet trained on MNIST

@pytest.fixture(scope="module")
def mnist_lenet(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("data")
    link_raw(data_dir, "MNIST", "mnist")
    splits = load_dataset("mnist", data_dir, train_limit=5000, test_limit=1000)
    torch.manual_seed(0)
    mean, std = splits.channel_stats()
    model = build_classifier("lenet_caffe", 1, 28, 10, mean, std)
    optimiser = torch.optim.Adam(model.parameters(), 1e-3)
    for x, y in splits.train_loader(None, batch_size=32):  # one epoch
        optimiser.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimiser.step()
    return model.eval(), splits


def test_mnist_lenet_is_trained(mnist_lenet):
    model, splits = mnist_lenet
    assert (predict(model, splits.test_x) == splits.test_y).float().mean() > 0.9


def test_targets_are_the_first_correctly_classified_image_of_each_class(mnist_lenet):
    model, splits = mnist_lenet
    targets, index = choose_targets(model, splits.test_x, splits.test_y)
    predictions = predict(model, splits.test_x)
    for k in range(10):
        correct = torch.nonzero((splits.test_y == k) & (predictions == k)).flatten()
        assert int(index[k]) == int(correct[0])
        torch.testing.assert_close(targets[k], splits.test_x[correct[0]])


def test_iterative_lots_at_the_last_layer_reaches_the_targets(mnist_lenet):
    model, splits = mnist_lenet
    targets, _ = choose_targets(model, splits.test_x, splits.test_y)
    origins, labels = splits.test_x[100:105], splits.test_y[100:105]
    pair_origin = torch.arange(5).repeat_interleave(10)
    pair_target = torch.arange(10).repeat(5)
    keep = pair_target != labels[pair_origin]
    pair_origin, pair_target = pair_origin[keep], pair_target[keep]
    result = iterative_lots(model, "logits", origins[pair_origin],
                            layer_features(model, "logits", targets)[pair_target], pair_target, max_steps=400)
    assert result.adversarials.dtype == torch.uint8
    assert result.success.float().mean() >= 0.9
    reached = result.success
    assert (predict(model, result.adversarials)[reached] == pair_target[reached]).all()
    assert (result.eps[reached] >= 1).all()


def test_comparison_of_the_four_techniques(mnist_lenet):
    model, splits = mnist_lenet
    targets, _ = choose_targets(model, splits.test_x, splits.test_y)
    origins, labels = splits.test_x[200:202], splits.test_y[200:202]
    attempts = lots_comparison(model, origins, labels, targets, ["body.ip1", "logits"],
                               modes=("untargeted", "targeted"), limit=128)
    counts = attempts.groupby(["technique", "mode"]).size()
    assert counts["FGS", "untargeted"] == counts["FGV", "untargeted"] == 2
    assert counts["HC", "targeted"] == 18 and counts["LOTS", "targeted"] == 36
    ok = attempts[attempts.success]
    assert ok.pass_score.between(0, 1).all() and (ok.linf >= 1).all() and (ok.l2 >= ok.linf).all()
    assert attempts[~attempts.success][["l2", "linf", "pass_score"]].isna().all().all()
    targeted = ok[ok["mode"] == "targeted"]
    assert (targeted.adversarial_class == targeted.target_class).all()
    untargeted = ok[ok["mode"] == "untargeted"]
    assert (untargeted.adversarial_class != untargeted.origin_label).all()

    table = comparison_table(attempts)
    assert list(table.columns) == ["technique", "layer", "mode", "n_attempts", "success_rate", "target_rate",
                                   "pass_mean", "pass_std", "l2_mean", "l2_std", "linf_mean", "linf_std"]
    assert list(dict.fromkeys(table.technique)) == list(TECHNIQUES)
    lots_logits = table[(table.technique == "LOTS") & (table.layer == "logits") & (table["mode"] == "targeted")]
    group = attempts[(attempts.technique == "LOTS") & (attempts.layer == "logits") & (attempts["mode"] == "targeted")]
    assert lots_logits.n_attempts.item() == 18
    assert lots_logits.success_rate.item() == pytest.approx(group.success.mean()) and group.success.any()
    assert lots_logits.pass_mean.item() == pytest.approx(group.pass_score.mean())
    assert lots_logits.target_rate.item() == lots_logits.success_rate.item()  # targeted: success is reaching it
    hc = table[(table.technique == "HC") & (table["mode"] == "untargeted")]
    hc_rows = attempts[(attempts.technique == "HC") & (attempts["mode"] == "untargeted")]
    assert hc.target_rate.item() == pytest.approx((hc_rows.adversarial_class == hc_rows.target_class).mean())
    assert hc.target_rate.item() <= hc.success_rate.item()
    assert table.loc[table.technique == "FGS", "target_rate"].isna().all()  # no target
    assert lots_logits.l2_std.item() == pytest.approx(group.l2.std())
    with pytest.raises(ValueError, match="unknown layer"):
        lots_comparison(model, origins, labels, targets, ["body.nope"])


def test_the_channels_last_layout_changes_no_eps_success_or_image(mnist_lenet, monkeypatch):
    """The line search predicts in the channels-last layout on the CPU (faster); its class scores
    differ in the last bits, and no result of the comparison's techniques may change."""
    from advtransfer.lots import layers
    from advtransfer.lots.comparison import technique_attempts

    model, splits = mnist_lenet
    targets, _ = choose_targets(model, splits.test_x, splits.test_y)
    origins, labels = splits.test_x[300:310], splits.test_y[300:310]
    clean = predict(model, origins)
    assert layers.channels_last(model, origins)[1] == torch.channels_last
    for technique, layer in [("FGS", "-"), ("FGV", "-"), ("HC", "-"), ("LOTS", "body.conv2"), ("LOTS", "logits")]:
        rows, target_class, directions = technique_attempts(model, technique, origins, labels, clean, targets, layer)
        for targeted in (False, True):
            classes = target_class if targeted and technique in ("HC", "LOTS") else clean[rows]
            fast = line_search(model, origins[rows], directions, classes, targeted, 1024)
            monkeypatch.setattr(layers, "CHANNELS_LAST", False)
            usual = line_search(model, origins[rows], directions, classes, targeted, 1024)
            monkeypatch.setattr(layers, "CHANNELS_LAST", True)
            assert torch.equal(fast.eps, usual.eps) and torch.equal(fast.success, usual.success), technique
            assert torch.equal(fast.adversarials, usual.adversarials) and torch.equal(fast.predictions,
                                                                                      usual.predictions)
    assert next(model.parameters()).is_contiguous()  # the model itself is left in its layout


def test_visualisation_figure(mnist_lenet, tmp_path):
    model, splits = mnist_lenet
    origins = splits.test_x[:1]
    plus, minus = magnify_reduce(model, "body.ip1", origins, steps=8)
    assert plus.adversarials.dtype == minus.adversarials.dtype == torch.uint8
    norm = lambda images: layer_features(model, "body.ip1", images).norm()  # noqa: E731
    assert norm(minus.adversarials) < norm(origins) < norm(plus.adversarials)
    assert 0 < int((plus.adversarials.float() - origins.float()).abs().max()) <= 8  # at most 1/255 per step
    targets, _ = choose_targets(model, splits.test_x, splits.test_y)
    path = tmp_path / "lots.png"
    layers = ["body.ip1", "logits"]
    kinds, panels = visualisation_panels(model, origins, layers, targets=targets[[3]],
                                         target_classes=torch.tensor([3]), steps=8, max_steps=300)
    figure = lots_figure(origins, layers, kinds, panels, ["7"])
    save(figure, path, close=False)
    assert path.stat().st_size > 10_000
    grid = [ax for ax in figure.axes if ax.get_label() != "<colorbar>"]
    assert len(grid) == 6 * 3  # rows: x⁺, x⁺ − x, x⁻, x⁻ − x, LOTS, LOTS − x; columns: origin and 2 layers
    images = [ax for ax in grid if ax.images]
    pictures = [ax for ax in images[1:] if ax.images[0].get_cmap().name != "seismic"]
    assert len(images) == 1 + 6 * 2 and all("L2" in ax.get_xlabel() for ax in pictures)
    scales = {ax.images[0].get_clim() for ax in images if ax.images[0].get_cmap().name == "seismic"}
    assert len(scales) == 1  # the perturbations share one colour scale, shown by the colour bar
    assert any(ax.get_label() == "<colorbar>" and "0–255" in ax.get_xlabel() for ax in figure.axes)
    assert [ax.get_ylabel() for ax in grid[::3]] == kinds  # each row's kind


def test_paper_layer_names():
    from advtransfer.lots import paper_layer_name

    lenet = [paper_layer_name("lenet_caffe", layer) for layer in ("body.conv1", "body.conv2", "body.ip1", "logits")]
    assert lenet == ["conv1", "conv2", "ip1", "ip2"]  # paper 2's names: its class scores are ip2
    assert paper_layer_name("lenet_caffe", "body.ip1.fc") == "ip1.fc"
    assert [paper_layer_name("convnet", layer) for layer in ("body.10", "logits")] == ["10", "logits"]
    assert paper_layer_name("mlp", "body.2") == "2" and paper_layer_name(None, "logits") == "logits"
    assert paper_layer_name("resnet18", "layer4") == "layer4"  # a module outside ``body`` as it is


def synthetic_lots_panels(layers=("body.conv1", "body.conv2", "body.ip1", "logits"), n: int = 3, size: int = 28,
                          names=("Ankle boot", "T-shirt/top", "Sneaker")):
    """Origins, layers (by default the four LOTS layers of lenet_caffe) and panels as
    ``visualisation_panels`` gives them (random images; captions as long as real ones get: class
    names of Fashion-MNIST, a missed target)."""
    layers = list(layers)
    kinds = ["x⁺", "x⁺ − x", "x⁻", "x⁻ − x", "LOTS", "LOTS − x"]
    origins = random_images(n, size)
    panels = {}
    for k, layer in enumerate(layers):
        for j, kind in enumerate(("x⁺", "x⁻", "LOTS")):
            captions = [f"{names[(i + j) % len(names)]} PASS 0.9{k}\nL2 {143 + 10 * i} L∞ {64 - i}"
                        + (" (target missed)" if kind == "LOTS" and i == 0 else "") for i in range(n)]
            panels[layer, kind] = random_images(n, size, seed=10 * k + j + 1), captions
    return origins, layers, kinds, panels


def test_lots_figure_names_layers_as_the_paper_with_legible_captions(tmp_path):
    import matplotlib.pyplot as plt

    from advtransfer.figures import LOTS_CAPTION_PT
    from figure_helpers import overlapping_texts

    origins, layers, kinds, panels = synthetic_lots_panels()
    figure = lots_figure(origins, layers, kinds, panels, ["Ankle boot", "Bag", "Coat"], architecture="lenet_caffe")
    try:
        grid = [ax for ax in figure.axes if ax.get_label() != "<colorbar>"]
        columns = 3 * (1 + len(layers))
        titles = [ax.get_title() for ax in grid[:columns]]
        assert titles == ["", "conv1", "conv2", "ip1", "ip2"] * 3  # not body.conv1 … logits
        captioned = [ax for ax in grid if ax.get_xlabel()]
        assert len(captioned) == 3 * (1 + 3 * len(layers))  # the origins, and x⁺, x⁻, LOTS per layer
        assert LOTS_CAPTION_PT >= 8 and all(ax.xaxis.label.get_fontsize() >= 8 for ax in captioned)
        # wrapped to the column: no caption line wider than its image, and no two texts overlap
        figure.canvas.draw()
        for ax in captioned:
            assert ax.xaxis.label.get_window_extent().width <= 1.15 * ax.get_window_extent().width, ax.get_xlabel()
        assert any("\n(target missed)" in ax.get_xlabel() or "\nmissed)" in ax.get_xlabel() for ax in captioned)
        assert overlapping_texts(figure) == []
        # legible where it is saved: a caption's line is at least 8 pt (≈ 12 px at the saved 110 DPI)
        path = tmp_path / "lots.png"
        save(figure, path, close=False)
        assert path.stat().st_size > 10_000
    finally:
        plt.close(figure)
    origins, layers, kinds, panels = synthetic_lots_panels(["body.10", "logits"])
    other = lots_figure(origins, layers, kinds, panels, ["a", "b", "c"], architecture="convnet")
    try:
        assert [ax.get_title() for ax in other.axes[:3]] == ["", "10", "logits"]
    finally:
        plt.close(other)


def test_comparison_rejects_unknown_techniques_and_modes():
    model, x = small_lenet(), random_images(2)
    targets, labels = random_images(10), torch.tensor([0, 1])
    with pytest.raises(ValueError, match="unknown techniques or modes.*'PGD'"):
        lots_comparison(model, x, labels, targets, techniques=("LOTS", "PGD"))
    with pytest.raises(ValueError, match="'both'"):
        lots_comparison(model, x, labels, targets, modes=("both",))
