"""Names and numbers that several parts of the package share, each in one place (method §5).

Nothing here imports anything: every layer of the package may use it (``tests/test_layers.py``).
"""

from __future__ import annotations

# -- the pixel scale (method, conventions) ---------------------------------------------------------

# The largest pixel value: magnitudes (ε, steps, L2, L∞) are on the 0–255 scale everywhere, the
# classifiers take x / PIXEL_MAX in [0, 1]. An int: with a uint8 tensor it keeps the tensor's dtype,
# with floats it promotes exactly as 255.0 would.
PIXEL_MAX = 255

# -- classifiers' outputs (method §1.3, §4.1) --------------------------------------------------------

LOGITS = "logits"  # the output kind of a classifier whose class scores are logits (softmax soft-labels)
LENGTHS = "lengths"  # CapsNet's class scores, capsule lengths (soft-labels: divided by their sum)
OUTPUT_LAYER = "logits"  # the layer name of every classifier's class scores (LOTS layers, method §4.1)

# The floor of a probability before its log (the negative log-likelihood of a soft-label that is not
# a softmax: CapsNet's normalised lengths in attacks, LOTS directions and label smoothing). Tiny, so
# that it changes nothing but log(0); float32 represents it (soft-labels are float32).
NLL_FLOOR = 1e-30

# -- the study grid (method §1.1, §2) -------------------------------------------------------------------

STANDARD = "none"  # the excluded-class name of the standard (all-class) classifier in paths and tables
NO_LAYER = "-"  # the layer of a technique without one (FGS, FGV, HC work on the class scores)

# Adversarial fine-tuning (method §4.10): the defence's name, and its technique and LOTS layers when
# the config gives none.
FINETUNING = "adversarial_finetuning"
FINETUNING_TECHNIQUE = "LOTS"
FINETUNING_LAYERS = (OUTPUT_LAYER,)

# Paper 2's success criterion per technique (its section 4, method §4.5): "the percentage of all
# attempts the particular technique can produce a perturbation which changes the classification". HC
# and LOTS move towards a target class; their attempts count as successes when the class changes.
PAPER2_MODE = {"FGS": "untargeted", "FGV": "untargeted", "HC": "untargeted", "LOTS": "untargeted"}

# -- batches (they change no result's meaning, but a float summed in other batches may differ in its
# last bits: each keeps the value it has always had) ----------------------------------------------

EVAL_BATCH = 512  # inference jobs: soft-labels on Eᵢ (method §1.3), the attacked test images (§2.6)
TEST_PASS_MIN_BATCH = 256  # the per-epoch test pass of a training: the recipe's batch, at least this

# -- seeds (method §5.1) ----------------------------------------------------------------------------------

# The largest seed (the study's replicate seeds, the attacks' seeds): Lightning's seed_everything takes
# 0 … 2³² − 1 (numpy's legacy generator); the schema bounds every seed a config sets to it.
MAX_SEED = 2**32 - 1
SEED_STRIDE = 100_003  # a training's shuffling seed is seed · SEED_STRIDE (+ epoch): seeds far apart


def shuffle_seed(seed: int) -> int:
    """The seed of a training's shuffled passes for the study seed ``seed`` (epoch e adds e)."""
    return seed * SEED_STRIDE
