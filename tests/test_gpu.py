"""The study on a GPU: training, every attack and LOTS run there and agree with the CPU.

Skipped where torch sees no CUDA device (the reason is printed with ``pytest -rs``). On a GPU: a
short training with ``accelerator="gpu"`` (data kept on the device), then one fixed model (the
digits ConvNet of ``test_attacks.py``, trained on the CPU) copied to the GPU: its predictions, each
registered attack (``advtransfer.catalog.ATTACKS``) and paper 2's comparison (``lots_comparison``)
give the same results on both devices, up to the tolerances below.

TF32 is turned off for the comparisons: with it, convolutions on Ampere and later GPUs round their
inputs to 10-bit mantissas and the logits differ from the CPU's in the third digit.
"""

import copy

import pytest
import torch

from advtransfer import catalog
from advtransfer.attacks import build_attack
from advtransfer.attacks.evaluate import run_attack
from advtransfer.lots.comparison import choose_targets, correct_origins, lots_comparison
from advtransfer.lots.layers import OUTPUT, layer_names
from test_attacks import train_digits_convnet
from test_training import tiny_splits

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="no CUDA device (torch.cuda.is_available() is False): the GPU tests need one")


def gpu(test):
    """A GPU test: it runs on a CUDA device and is skipped (also under CI) without one."""
    return pytest.mark.gpu(needs_cuda(test))


pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

# Small parameters: every attack fools most of the digits in a few seconds (magnitudes 0–255).
PARAMS = {
    "fgm": {"eps": 76.5, "eps_step": 2.55},
    "bim": {"eps": 76.5, "eps_step": 2.55, "max_iter": 20, "early_stop": True},
    "pgd": {"eps": 76.5, "eps_step": 2.55, "max_iter": 20, "early_stop": False},
    "deepfool": {"max_iter": 50, "overshoot": 1e-6},
    "newtonfool": {"max_iter": 50, "eta": 0.375},
    "fmn_l2": {"max_iter": 30},
    "fmn_linf": {"max_iter": 30},
    "ddn": {"max_iter": 30},
    "apgd": {"eps": 64.0, "max_iter": 20},
    "fgs": {"limit": 255},
    "fgv": {"limit": 255},
    "hc": {"limit": 255},
    "lots": {"limit": 255},
}
# CPU and GPU sum in different orders: a gradient component near 0 can change sign, a sample on the
# decision boundary can fall either side. Per attack: the share of images whose success must agree,
# and the largest relative difference of the Mean L2 over the images fooled on both devices.
AGREE, L2_TOLERANCE = 0.95, 0.02
N_IMAGES = 100


@pytest.fixture(scope="module")
def no_tf32():
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


@pytest.fixture(scope="module")
def fixed(no_tf32):
    """(CPU model, GPU copy, the first test images as uint8, their labels, the test split)."""
    model, splits = train_digits_convnet()
    return model, copy.deepcopy(model).cuda(), splits.test_x[:N_IMAGES], splits.test_y[:N_IMAGES], splits


def test_every_attack_has_parameters_here():
    assert set(PARAMS) == set(catalog.ATTACKS)


@gpu
def test_training_on_the_gpu(tmp_path):
    from advtransfer.model_io import load_classifier
    from training_helpers import train

    recipe = {"epochs": 3, "batch_size": 16, "optimizer": "sgd", "lr": 0.05, "data_on_device": True}
    result = train(tiny_splits(), "convnet", None, recipe, tmp_path, accelerator="gpu")
    assert result.epochs == 3 and 0.0 <= result.test_accuracy <= 1.0
    model, meta = load_classifier(tmp_path / "model.pt")  # finite weights and outputs, or it refuses
    assert meta["architecture"] == "convnet"


@gpu
def test_predictions_are_the_same(fixed):
    cpu, gpu, images, _, _ = fixed
    x = images.float() / 255
    with torch.no_grad():
        a, b = cpu(x), gpu(x.cuda()).cpu()
    torch.testing.assert_close(b, a, atol=1e-4, rtol=1e-4)
    assert torch.equal(a.argmax(1), b.argmax(1))


@gpu
@pytest.mark.parametrize("name", sorted(PARAMS))
def test_each_attack_agrees_with_the_cpu(fixed, name):
    cpu, gpu, images, labels, splits = fixed
    tables = []
    for model in (cpu, gpu):
        device = next(model.parameters()).device
        targets = choose_targets(model, splits.test_x.to(device), splits.test_y, splits.num_classes)[0]
        attack = build_attack(name, model, targets if name == "lots" else None, **PARAMS[name])
        tables.append(run_attack(model, images, labels, attack, batch_size=N_IMAGES, progress=False))
    on_cpu, on_gpu = tables
    assert on_cpu["success"].mean() > 0.5, "the attack should fool most images"
    assert (on_cpu["success"] == on_gpu["success"]).mean() >= AGREE
    both = on_cpu["success"] & on_gpu["success"]
    l2_cpu, l2_gpu = on_cpu.loc[both, "l2"].mean(), on_gpu.loc[both, "l2"].mean()
    assert abs(l2_gpu - l2_cpu) <= L2_TOLERANCE * max(l2_cpu, 1.0), (l2_cpu, l2_gpu)


@gpu
def test_lots_comparison_agrees_with_the_cpu(fixed):
    cpu, gpu, images, labels, splits = fixed
    inner = [n for n in layer_names(cpu) if n != OUTPUT][-1]
    runs = []
    for model in (cpu, gpu):
        device = next(model.parameters()).device
        x, y = images.to(device), labels.to(device)
        targets = choose_targets(model, splits.test_x.to(device), splits.test_y.to(device), splits.num_classes)[0]
        origins = correct_origins(model, x, y, 5)
        runs.append(lots_comparison(model, x[origins], y[origins], targets, layers=[OUTPUT, inner],
                                    modes=("untargeted", "targeted"), limit=255))
    on_cpu, on_gpu = runs
    assert len(on_cpu) == len(on_gpu) and on_cpu["success"].mean() > 0.5
    assert (on_cpu["success"] == on_gpu["success"]).mean() >= AGREE
    both = on_cpu["success"] & on_gpu["success"]
    assert (on_cpu.loc[both, "eps"] == on_gpu.loc[both, "eps"]).mean() >= AGREE  # the line search's integer ε
    l2_cpu, l2_gpu = on_cpu.loc[both, "l2"].mean(), on_gpu.loc[both, "l2"].mean()
    assert abs(l2_gpu - l2_cpu) <= L2_TOLERANCE * l2_cpu, (l2_cpu, l2_gpu)


def test_the_gpu_benchmark_counts_the_paper_grid():
    """benchmarks/gpu.py's arithmetic, which needs no GPU: config/paper.yaml's CIFAR-10 grid is 8
    architectures × 7 defences × 11 classifiers (10 Raw Zero-Shot, 1 standard), 200 epochs (CapsNet 50);
    an adversarial-training epoch counts 2 + 10 (PGD steps) vanilla epochs, Gaussian augmentation 2."""
    import importlib.util
    from pathlib import Path

    import yaml

    from advtransfer.schema import validated

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("gpu_benchmark", root / "benchmarks" / "gpu.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    config = validated(yaml.safe_load((root / "config" / "paper.yaml").read_text()))  # as the benchmark reads it
    grid = bench.training_grid(config, "cifar10")
    assert len(grid) == 8 and all(row["jobs"] == 77 for row in grid.values())
    assert grid["resnet32"] == {"jobs": 77, "epochs": 77 * 200, "weighted_epochs": 11 * 200 * (5 + 12 + 2)}
    assert grid["capsnet"]["epochs"] == 77 * 50
    assert bench.gpu_hours(grid, {"resnet32": 3.6}) == {"resnet32": pytest.approx(11 * 200 * 19 * 3.6 / 3600)}
