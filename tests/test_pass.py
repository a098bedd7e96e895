"""PASS (method §4): ECC homography alignment, then SSIM averaged over the whole image."""

import gzip

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter
from skimage.metrics import structural_similarity

from advtransfer.pass_score import C1, C2, align, pass_score, pass_scores, ssim, ssim_map
from workflow_helpers import TEST_DATA

MNIST_TEST_IMAGES = TEST_DATA / "mnist" / "t10k-images-idx3-ubyte.gz"


def blobs(size: int = 28, seed: int = 0) -> np.ndarray:
    """A smooth gray image: a few Gaussian blobs on black, uint8 (H, W)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    image = np.zeros((size, size))
    for _ in range(4):
        cy, cx = rng.uniform(8, size - 8, 2)
        image += 200 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * rng.uniform(2, 4) ** 2))
    return np.clip(image, 0, 255).astype(np.uint8)


def hand_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM computed from its definition: an 11×11 Gaussian window (σ 1.5, radius 5), the image
    mirrored at the border as OpenCV does, the map averaged over every pixel."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    w = lambda x: gaussian_filter(x, 1.5, mode="mirror", truncate=5 / 1.5)  # noqa: E731
    mu_a, mu_b = w(a), w(b)
    s_aa, s_bb, s_ab = w(a * a) - mu_a ** 2, w(b * b) - mu_b ** 2, w(a * b) - mu_a * mu_b
    ssim_values = ((2 * mu_a * mu_b + C1) * (2 * s_ab + C2)) / ((mu_a ** 2 + mu_b ** 2 + C1) * (s_aa + s_bb + C2))
    return float(ssim_values.mean())


def test_identical_images_score_one_gray_and_colour():
    gray = blobs()
    colour = np.stack([blobs(seed=s) for s in range(3)], axis=2)
    assert pass_score(gray, gray) == pytest.approx(1.0, abs=1e-9)
    assert pass_score(colour, colour.astype(np.float32)) == pytest.approx(1.0, abs=1e-9)


def test_ssim_matches_a_hand_computation_over_the_whole_image():
    rng = np.random.default_rng(1)
    x = blobs()
    noisy = np.clip(x + rng.integers(-30, 31, x.shape), 0, 255).astype(np.uint8)
    assert ssim(x, noisy) == pytest.approx(hand_ssim(x, noisy), abs=1e-6)


def test_ssim_map_equals_skimage_inside_and_differs_from_its_cropped_mean():
    rng = np.random.default_rng(2)
    x = blobs()
    noisy = np.clip(x + rng.integers(-30, 31, x.shape), 0, 255).astype(np.uint8)
    ours = ssim_map(x, noisy)
    mean, full = structural_similarity(x, noisy, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                       data_range=255, full=True)
    # The border handling differs (OpenCV mirrors without repeating the edge pixel); away from the
    # 5-pixel border both maps are the same.
    np.testing.assert_allclose(ours[5:-5, 5:-5], full[5:-5, 5:-5], atol=1e-6)
    # skimage's own mean drops the border: on a 28×28 image with noise everywhere it differs clearly.
    assert abs(ours.mean() - mean) > 0.02


def test_colour_ssim_is_the_mean_over_channels():
    rng = np.random.default_rng(3)
    colour = np.stack([blobs(seed=s) for s in range(3)], axis=2)
    noisy = np.clip(colour + rng.integers(-40, 41, colour.shape), 0, 255).astype(np.uint8)
    per_channel = [ssim(colour[..., c], noisy[..., c]) for c in range(3)]
    assert ssim(colour, noisy) == pytest.approx(np.mean(per_channel), abs=1e-12)
    assert max(per_channel) - min(per_channel) > 1e-4  # the channels do differ


def texture(seed: int = 0, size: int = 28, margin: int = 6) -> np.ndarray:
    """Smooth noise over the whole image, with ``margin`` extra pixels on every side (float)."""
    noise = gaussian_filter(np.random.default_rng(seed).normal(size=(size + 2 * margin,) * 2), 1.0)
    return (noise - noise.min()) / (noise.max() - noise.min()) * 255


def test_one_pixel_shift_keeps_pass_high_where_plain_ssim_drops():
    big = texture()
    x, shifted = big[6:34, 6:34].astype(np.uint8), big[6:34, 5:33].astype(np.uint8)
    assert ssim(x, shifted) < 0.75
    assert pass_score(x, shifted) > 0.9  # the column shifted in from outside stays black
    aligned, warp, converged = align(x, shifted)
    assert converged
    np.testing.assert_allclose(warp, [[1, 0, 1], [0, 1, 0], [0, 0, 1]], atol=0.02)  # the shift itself
    np.testing.assert_allclose(aligned[:, :-1], x[:, :-1], atol=2)  # the last column has no source


def test_one_pixel_shift_on_mnist_digits():
    with gzip.open(MNIST_TEST_IMAGES) as f:
        digits = np.frombuffer(f.read(16 + 20 * 784), np.uint8, offset=16).reshape(20, 28, 28)
    plain = [ssim(d, np.roll(d, 1, axis=1)) for d in digits]
    scores = [pass_score(d, np.roll(d, 1, axis=1)) for d in digits]
    assert max(plain) < 0.8
    assert np.median(scores) > 0.99
    assert sum(s > 0.9 for s in scores) >= 16  # ECC may miss on a few digits: PASS is plain SSIM there


def test_no_convergence_falls_back_to_the_identity():
    flat = np.full((28, 28), 100, np.uint8)
    other = np.full((28, 28), 110, np.uint8)
    aligned, warp, converged = align(flat, other)
    assert not converged
    np.testing.assert_array_equal(warp, np.eye(3))
    np.testing.assert_array_equal(aligned, other)
    assert pass_score(flat, other) == pytest.approx(ssim(flat, other))
    assert pass_score(flat, other) < 1.0


def test_batched_scores_take_nchw_and_match_single_images():
    rng = np.random.default_rng(4)
    gray = np.stack([blobs(seed=s) for s in range(3)])[:, None]  # (3, 1, H, W)
    noisy = np.clip(gray + rng.integers(-50, 51, gray.shape), 0, 255).astype(np.uint8)
    expected = [pass_score(g[0], n[0]) for g, n in zip(gray, noisy)]
    np.testing.assert_allclose(pass_scores(gray, noisy), expected)
    colour = np.stack([np.stack([blobs(seed=s + c) for c in range(3)]) for s in range(2)])  # (2, 3, H, W)
    noisy_colour = np.clip(colour + rng.integers(-50, 51, colour.shape), 0, 255).astype(np.uint8)
    expected = [pass_score(c.transpose(1, 2, 0), n.transpose(1, 2, 0)) for c, n in zip(colour, noisy_colour)]
    np.testing.assert_allclose(pass_scores(colour, noisy_colour), expected)
    assert all(s < 1 for s in expected)


def test_bad_input_is_an_error():
    x = blobs()
    with pytest.raises(ValueError, match="0–255"):
        pass_score(x / 255.0 - 0.5, x)
    with pytest.raises(ValueError, match="differ in shape"):
        pass_score(x, x[:20])
    with pytest.raises(ValueError, match="N, C, H, W"):
        pass_scores(x, x)
