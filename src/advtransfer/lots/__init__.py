"""LOTS, layerwise origin-target synthesis (paper 2, method §4), and the techniques it is compared with.

- ``layers``: f⁽ˡ⁾(x) by module name (``layer_names``, ``LayerFeatures``).
- ``direction``: the LOTS, FGS, FGV, hot/cold and visualisation directions.
- ``search``: the paper's line search and step-and-adjust (iterative) LOTS.
- ``comparison``: paper 2's comparison of FGS, FGV, HC and LOTS.
- ``visualise``: x_o^± and targeted LOTS images per layer (paper 2 Figs 1, 3).

Images are on the 0–255 pixel scale, (B, C, H, W); adversarial images are uint8.
"""

from advtransfer.lots.comparison import (
    MODES, NO_LAYER, NO_TARGET, TECHNIQUES, choose_targets, comparison_table, correct_origins, lots_comparison,
)
from advtransfer.lots.direction import (
    fgs_direction, fgv_direction, hot_cold_direction, input_gradient, lots_direction, unit_linf,
    visualisation_direction,
)
from advtransfer.lots.layers import OUTPUT, LayerFeatures, eval_mode, layer_features, layer_names, predict
from advtransfer.lots.search import (
    DEFAULT_LIMIT, DEFAULT_MAX_STEPS, AttackResult, iterative_lots, line_search, saturation_eps, step_and_adjust,
)

__all__ = [
    "AttackResult", "DEFAULT_LIMIT", "DEFAULT_MAX_STEPS", "LayerFeatures", "MODES", "NO_LAYER", "NO_TARGET",
    "OUTPUT", "TECHNIQUES", "choose_targets", "comparison_table", "correct_origins", "eval_mode", "fgs_direction",
    "fgv_direction", "hot_cold_direction", "input_gradient", "iterative_lots", "layer_features",
    "layer_names", "line_search", "lots_comparison", "lots_direction", "predict", "saturation_eps",
    "step_and_adjust", "unit_linf", "visualisation_direction",
]
