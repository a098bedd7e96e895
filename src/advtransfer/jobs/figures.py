"""The figures' jobs (``workflow/rules/figures.smk``, method §3.5, §4.6): each reads its inputs, draws
with ``advtransfer.figures`` and writes a PNG atomically (``figures.save``).
"""

from __future__ import annotations

from advtransfer.figures import (
    correlation_figure,
    defence_figure,
    histogram_panels,
    isomap_panels,
    lots_figure,
    save,
    table1_figure,
    training_curves,
)
from advtransfer.files import load_npz, read_back
from advtransfer.io import wrote
from advtransfer.tables import SEED, SEED_MEAN, classifier_label, table3_input


def _save(fig, path: str) -> None:
    save(fig, path)
    wrote(path)


def zero_shot_figures_job(data: dict, soft_labels: list[str], title: str, isomap_out: str, histograms_out: str,
                          max_points: int = 500, seed: int = 0) -> None:
    """Paper 1 Fig 3 (Isomap of each Eᵢ's amalgam proportions) and Fig 4 (H' vs H), one file each;
    the class names are those of the dataset ``data``."""
    from advtransfer.data import load_dataset
    from advtransfer.metrics import amalgam_histograms

    class_names = load_dataset(**data).class_names
    loaded = [load_npz(p, ["excluded", "amalgam", "standard_without"]) for p in soft_labels]
    panels = [(int(s["excluded"]), s["amalgam"], s["standard_without"]) for s in loaded]
    _save(isomap_panels(panels, class_names, title, max_points=max_points, seed=seed), isomap_out)
    histograms = [(i, *amalgam_histograms(z, z_std), len(z)) for i, z, z_std in panels]
    _save(histogram_panels(histograms, class_names, title), histograms_out)


def table1_figure_job(per_class_csv: str, table1_csv: str, out: str) -> None:
    """The Table 1 figure (``figures.table1_figure``)."""
    _save(table1_figure(read_back(per_class_csv), read_back(table1_csv)), out)


def defence_figures_job(per_class_csv: str, figures: dict[str, str]) -> None:
    """One figure of DBM and AM per defence for each dataset of ``figures`` (dataset → path)."""
    per_class = read_back(per_class_csv)
    for dataset, path in figures.items():
        _save(defence_figure(per_class, dataset), path)


def correlation_figures_job(attacks_per_class_csv: str, metrics_per_class_csv: str, table3_csv: str,
                            figures: dict[tuple[str, str], str]) -> None:
    """Paper 1 Figs 5, 6: one scatter figure per (dataset, attack), with Table 3's r in the legend."""
    joined = table3_input(read_back(attacks_per_class_csv), read_back(metrics_per_class_csv))
    # the per-class values averaged over the seeds, and Table 3's rows on them (method §5.1)
    joined = joined.groupby(["dataset", "architecture", "attack", "class"], sort=False)[
        ["dbm", "am", "mean_l2"]].mean().reset_index()
    table = read_back(table3_csv)
    if SEED in table.columns:
        table = table[table[SEED].astype(str) == SEED_MEAN]
    for (dataset, attack), path in figures.items():
        rows = joined[(joined["dataset"] == dataset) & (joined["attack"] == attack)]
        _save(correlation_figure(rows, table[(table["dataset"] == dataset) & (table["attack"] == attack)],
                                 f"{dataset}: {attack}"), path)


def lots_figure_job(data: dict, model: str, layers: list, n: int, out: str, architecture: str | None = None) -> None:
    """Paper 2 Figs 1, 3 for the first ``n`` test images; the targeted LOTS image of each goes towards
    the target image of its runner-up class. ``architecture`` names the layers as the papers do."""
    from advtransfer.jobs import _inputs
    from advtransfer.lots.layers import top_two
    from advtransfer.lots.visualise import visualisation_panels

    inputs = _inputs.lots_inputs(data, model)
    images, class_names = inputs.images[:n], inputs.class_names
    predicted, runner_up = top_two(inputs.model, images)
    kinds, panels = visualisation_panels(inputs.model, images, layers, inputs.targets[runner_up], runner_up,
                                         class_names=class_names)
    names = [class_names[p] for p in predicted.tolist()]
    _save(lots_figure(images, layers, kinds, panels, names, class_names, architecture=architecture), out)


def training_curves_job(histories: list[str], excluded: list[str], title: str, out: str) -> None:
    """The training-curve figure of one (dataset, architecture, defence): its N + 1 classifiers, from
    their ``history.csv`` (the training's CSV logger's rows, ``advtransfer.training.history``)."""
    curves = [(classifier_label(e), read_back(p)) for e, p in zip(excluded, histories)]
    _save(training_curves(curves, title), out)
