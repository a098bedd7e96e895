"""PASS, the perceptual adversarial similarity score (method §4).

PASS(x̃, x) = SSIM(ψ(x̃, x), x): the adversarial image x̃ is first aligned to the original x with an
ECC homography (OpenCV ``findTransformECC`` with ``MOTION_HOMOGRAPHY``; the identity when ECC does
not converge), then compared with SSIM: an 11×11 Gaussian window, σ = 1.5, C1 = (0.01·255)²,
C2 = (0.03·255)², and the SSIM map averaged over the whole image, borders included, as OpenCV's
SSIM example does (its ``GaussianBlur`` reflects the image at the border: ``BORDER_REFLECT_101``).
1 means identical.

Images are on the 0–255 scale (uint8, or floats with values in [0, 255]).

- ``pass_score``, ``ssim`` and ``align`` take ONE image in OpenCV's layout: (H, W) gray or
  (H, W, C) colour.
- ``pass_scores`` takes a BATCH in the package's torch layout: (N, C, H, W) arrays or tensors.

Colour images (our choice): ECC runs on the gray conversion (mean over the channels), the warp is
applied to every channel, and SSIM is the mean over the channels' SSIM maps.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from advtransfer.constants import PIXEL_MAX

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
C1 = (0.01 * PIXEL_MAX) ** 2
C2 = (0.03 * PIXEL_MAX) ** 2

# ECC settings (our choice). The criterion: at most 100 iterations or a correlation gain below
# 1e-5. gaussFiltSize 1 means no pre-smoothing, as findTransformECC worked before OpenCV 4.1 (when
# PASS was defined); OpenCV's default 5 aligns small images less often: on MNIST-size adversarial
# images ECC did not converge for about half of them with it, against one in ten without.
ECC_ITERATIONS = 100
ECC_EPSILON = 1e-5
ECC_GAUSS_FILTER_SIZE = 1


def _as_image(image, name: str) -> np.ndarray:
    x = np.asarray(image)
    if x.ndim not in (2, 3):
        raise ValueError(f"{name} must be one image (H, W) or (H, W, C), got shape {x.shape}")
    x = x.astype(np.float32)
    if x.size and (x.min() < 0 or x.max() > PIXEL_MAX):
        raise ValueError(f"{name} must be on the 0–255 scale, got values in [{x.min()}, {x.max()}]")
    return x


def _channels(x: np.ndarray) -> list[np.ndarray]:
    return [x] if x.ndim == 2 else [x[..., c] for c in range(x.shape[2])]


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The SSIM map of two gray images (H, W) on the 0–255 scale, OpenCV's SSIM example."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (SSIM_WINDOW, SSIM_WINDOW), SSIM_SIGMA)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a * mu_a
    var_b = blur(b * b) - mu_b * mu_b
    cov = blur(a * b) - mu_a * mu_b
    return ((2 * mu_a * mu_b + C1) * (2 * cov + C2)) / ((mu_a ** 2 + mu_b ** 2 + C1) * (var_a + var_b + C2))


def ssim(a, b) -> float:
    """SSIM of two images (H, W) or (H, W, C): the map averaged over every pixel (and channel)."""
    a, b = _as_image(a, "a"), _as_image(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    return float(np.mean([ssim_map(ca, cb).mean() for ca, cb in zip(_channels(a), _channels(b))]))


def _gray(x: np.ndarray) -> np.ndarray:
    return x if x.ndim == 2 else x.mean(axis=2).astype(np.float32)


def align(original, adversarial) -> tuple[np.ndarray, np.ndarray, bool]:
    """ψ(x̃, x): warp ``adversarial`` onto ``original`` with an ECC homography.

    Returns (aligned image, 3×3 warp, aligned?). When ECC raises ``cv2.error`` (it did not
    converge, e.g. on a constant image), gives a non-finite warp, or a warp whose result correlates
    less with the original than the unaligned image does, the warp is the identity and the
    adversarial image is returned unchanged (aligned? = False).
    """
    x = _as_image(original, "original")
    x_adv = _as_image(adversarial, "adversarial")
    if x.shape != x_adv.shape:
        raise ValueError(f"images differ in shape: {x.shape} vs {x_adv.shape}")
    warp = np.eye(3, dtype=np.float32)
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, ECC_ITERATIONS, ECC_EPSILON)
    try:
        _, warp = cv2.findTransformECC(_gray(x), _gray(x_adv), warp, cv2.MOTION_HOMOGRAPHY, criteria,
                                       None, ECC_GAUSS_FILTER_SIZE)
    except cv2.error:
        return x_adv, np.eye(3, dtype=np.float32), False
    if not np.all(np.isfinite(warp)):
        return x_adv, np.eye(3, dtype=np.float32), False
    h, w = x.shape[:2]
    aligned = cv2.warpPerspective(x_adv, warp, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    aligned = aligned.reshape(x_adv.shape)
    # ψ maximises the ECC: a homography that correlates worse than the identity (ECC can settle in
    # a poor local optimum on small images) is no alignment; keep the identity then (our choice).
    # Both correlations are taken where the warped image has pixels, as ECC itself does.
    inside = cv2.warpPerspective(np.ones((h, w), np.uint8), warp, (w, h),
                                 flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP)
    try:
        better = cv2.computeECC(_gray(x), _gray(aligned), inside) >= cv2.computeECC(_gray(x), _gray(x_adv), inside)
    except cv2.error:
        better = False
    if not better:
        return x_adv, np.eye(3, dtype=np.float32), False
    return aligned, warp, True


def pass_score(original, adversarial) -> float:
    """PASS(x̃, x) = SSIM(ψ(x̃, x), x) of one image pair, (H, W) or (H, W, C), 0–255 scale."""
    aligned, _, _ = align(original, adversarial)
    return ssim(aligned, original)


def pass_scores(originals, adversarials, workers: int = 1) -> np.ndarray:
    """PASS of each pair of a batch (N, C, H, W) on the 0–255 scale (arrays or torch tensors).

    ``workers`` threads share the pairs (OpenCV releases Python's lock while it aligns an image);
    each image is scored alone, so the scores do not depend on ``workers``. OpenCV's own threads are
    off meanwhile (the job's threads already share the images), and the caller's setting is restored.
    """
    xs = np.asarray(originals.detach().cpu() if hasattr(originals, "detach") else originals)
    advs = np.asarray(adversarials.detach().cpu() if hasattr(adversarials, "detach") else adversarials)
    if xs.ndim != 4 or xs.shape != advs.shape:
        raise ValueError(f"expected two batches (N, C, H, W) of one shape, got {xs.shape} and {advs.shape}")
    hwc = lambda x: x[0] if x.shape[0] == 1 else np.transpose(x, (1, 2, 0))  # noqa: E731
    score = lambda i: pass_score(hwc(xs[i]), hwc(advs[i]))  # noqa: E731
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        if workers <= 1 or len(xs) < 2 * workers:
            scores = [score(i) for i in range(len(xs))]
        else:
            with ThreadPoolExecutor(workers) as pool:
                scores = list(pool.map(score, range(len(xs))))
    finally:
        cv2.setNumThreads(threads)
    return np.array(scores, dtype=np.float64)
