"""LOTS, layerwise origin-target synthesis (paper 2, method §4), and the techniques it is compared with.

- ``layers``: f⁽ˡ⁾(x) by module name (``layer_names``, ``LayerFeatures``; ``paper_layer_name``: as the papers name it).
- ``direction``: the LOTS, FGS, FGV, hot/cold and visualisation directions.
- ``search``: the paper's line search and step-and-adjust (iterative) LOTS.
- ``comparison``: paper 2's comparison of FGS, FGV, HC and LOTS.
- ``visualise``: x_o^± and targeted LOTS images per layer (paper 2 Figs 1, 3).

Images are on the 0–255 pixel scale, (B, C, H, W); adversarial images are uint8.
"""

_EXPORTS = {
    "comparison": ["MODES", "NO_LAYER", "NO_TARGET", "TECHNIQUES", "choose_targets", "correct_origins",
                   "lots_comparison"],
    "direction": ["fgs_direction", "fgv_direction", "hot_cold_direction", "input_gradient", "lots_direction",
                  "unit_linf", "visualisation_direction"],
    "layers": ["OUTPUT", "LayerFeatures", "eval_mode", "layer_features", "layer_names", "paper_layer_name", "predict",
               "top_two"],
    "search": ["DEFAULT_LIMIT", "DEFAULT_MAX_STEPS", "AttackResult", "iterative_lots", "line_search",
               "saturation_eps", "step_and_adjust"],
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    """``from advtransfer.lots import line_search``: each name is imported from its module on first use,
    so that importing one part (e.g. ``lots.layers``) does not import the others (pandas, OpenCV)."""
    if name in _MODULE_OF:
        import importlib

        return getattr(importlib.import_module(f"advtransfer.lots.{_MODULE_OF[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
