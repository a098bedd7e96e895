"""The study's figures (method §3, §4), drawn in one place: paper 1's Isomap (Fig 3) and histograms
(Fig 4), the defences' DBM and AM, metrics against Mean L2 (Figs 5, 6), and paper 2's LOTS
visualisation (Figs 1, 3). Matplotlib without a display; every axis is labelled with its unit.

The workflow's figure jobs (``advtransfer.jobs.figures``) read their inputs and write the PNGs.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from advtransfer.constants import PIXEL_MAX  # noqa: E402
from advtransfer.files import atomic_path  # noqa: E402

MEAN_L2_LABEL = "Mean L2 (0–255 scale)"
METRIC_LABELS = {"DBM": "DBM (no unit)", "AM": "AM (no unit, 0–2)"}


def save(fig, path: str, close: bool = True) -> None:
    """Write ``fig`` as a PNG, atomically."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    if close:
        plt.close(fig)


def _grid(n: int, size: float = 2.6):
    cols = min(5, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, list(axes.flat)


def isomap_panels(panels, class_names: list[str], title: str, max_points: int = 500, seed: int = 0):
    """One panel per excluded class i: the 2-D Isomap of Eᵢ's amalgam proportions (paper 1 Fig 3).

    Points are coloured by the in-distribution class C₋ᵢ gives them; at most ``max_points`` samples
    (a seeded random subset) per panel keep Isomap's cost bounded.
    """
    from sklearn.manifold import Isomap

    fig, axes = _grid(len(panels))
    rng = np.random.default_rng(seed)
    cmap = plt.get_cmap("tab10")
    for ax, (i, z, _) in zip(axes, panels):
        if len(z) > max_points:
            z = z[np.sort(rng.choice(len(z), max_points, replace=False))]
        kept = [c for c in range(len(class_names)) if c != i]
        colours = [cmap(kept[k] % 10) for k in z.argmax(axis=1)]
        if len(z) > 3:
            xy = Isomap(n_components=2, n_neighbors=min(10, len(z) - 1)).fit_transform(z)
            ax.scatter(xy[:, 0], xy[:, 1], c=colours, s=4)
        ax.set_title(f"excluded: {class_names[i]}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("Isomap 1 (arbitrary units)", fontsize=6)
        ax.set_ylabel("Isomap 2 (arbitrary units)", fontsize=6)
    handles = [plt.Line2D([], [], marker="o", ls="", color=cmap(c % 10), label=n) for c, n in enumerate(class_names)]
    fig.legend(handles=handles, loc="lower center", ncol=min(10, len(class_names)), fontsize=7, frameon=False)
    fig.suptitle(f"{title}: Isomap of the amalgam proportions", fontsize=10)
    return fig


def histogram_panels(panels, class_names: list[str], title: str):
    """One panel per excluded class i: H/n (Raw Zero-Shot) and H'/n (standard) over the other classes,
    AMᵢ in the panel's title (Fig 4). The panels share their y scale and their axis labels (one of
    each for the figure); constrained layout keeps titles, labels and the legend apart."""
    n = len(panels)
    cols = min(5, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.8 * cols, 2.5 * rows + 1.0), sharey=True, squeeze=False,
                             layout="constrained")
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    rotation = 90 if max(len(c) for c in class_names) > 2 else 0  # long names (Fashion-MNIST) stand upright
    for ax, (i, h, h_std, count) in zip(axes.flat, panels):
        names = [c for k, c in enumerate(class_names) if k != i]
        pos = np.arange(len(names))
        ax.bar(pos - 0.2, h / count, width=0.4, label="H (Raw Zero-Shot)")
        ax.bar(pos + 0.2, h_std / count, width=0.4, label="H' (standard)")
        ax.set_xticks(pos, names, rotation=rotation, fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_title(f"excluded {class_names[i]}: AM {np.abs(h_std - h).sum() / count:.3f}", fontsize=8)
    fig.supxlabel("in-distribution class (the classes other than the excluded one)", fontsize=8)
    fig.supylabel("soft-label mass per sample (0–1)", fontsize=8)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", fontsize=8, frameon=False)
    fig.suptitle(f"{title}: amalgam histograms per excluded class", fontsize=10)
    return fig


def correlation_figure(rows, table, title: str):
    """DBM and AM (y) against the per-class Mean L2 score (x), one colour per architecture, each with
    its regression line and Pearson r in the legend (paper 1 Figs 5, 6).

    ``rows``: (architecture, class, dbm, am, mean_l2); ``table``: Table 3's rows for the same
    dataset and attack.
    """
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    cmap = plt.get_cmap("tab10")
    for ax, (metric, column) in zip(axes, (("DBM", "dbm"), ("AM", "am"))):
        for k, (arch, g) in enumerate(rows.groupby("architecture", sort=True)):
            g = g[np.isfinite(g["mean_l2"])]
            r = table[(table["architecture"] == arch) & (table["metric"] == metric)]["pearson_r"]
            label = f"{arch} (r = {float(r.iloc[0]):.2f})" if len(r) and np.isfinite(r.iloc[0]) else arch
            ax.scatter(g["mean_l2"], g[column], color=cmap(k % 10), s=18, label=label)
            if len(g) >= 2 and np.ptp(g["mean_l2"]) > 0:
                slope, intercept = np.polyfit(g["mean_l2"], g[column], 1)
                xs = np.linspace(g["mean_l2"].min(), g["mean_l2"].max(), 20)
                ax.plot(xs, slope * xs + intercept, color=cmap(k % 10), lw=1)
        ax.set_xlabel(MEAN_L2_LABEL)
        ax.set_ylabel(METRIC_LABELS[metric])
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def table1_figure(per_class, table):
    """Table 1 as a figure: per dataset (rows) DBM and AM (columns) of each architecture's vanilla
    classifiers: the mean over the excluded classes (and seeds). With several seeds also its 95%
    bootstrap CI (method §5.1; Table 1's CI columns) and one point per seed (that seed's mean over
    the excluded classes); with one seed Table 1 has no interval, and the figure draws none."""
    from advtransfer.statistics import bootstrap_ci
    from advtransfer.tables import METRICS, SEED, with_seed

    vanilla = with_seed(per_class[per_class["defence"] == "vanilla"])
    datasets = list(dict.fromkeys(table["dataset"]))
    fig, axes = plt.subplots(len(datasets), 2, figsize=(9, 3.2 * len(datasets)), squeeze=False)
    for row, dataset in zip(axes, datasets):
        rows = table[table["dataset"] == dataset]
        for ax, (metric, column) in zip(row, METRICS.items()):
            for x, architecture in enumerate(rows["architecture"]):
                g = vanilla[(vanilla["dataset"] == dataset) & (vanilla["architecture"] == architecture)]
                by_seed = g.pivot(index=SEED, columns="excluded_class", values=column).dropna(axis=1)
                model = rows[rows["architecture"] == architecture].iloc[0]
                mean = float(model[f"{column}_mean"])
                if len(by_seed) < 2:
                    ax.plot([x], [mean], "s", color="black", ms=6,
                            label="mean over the classes (one seed: no interval)" if x == 0 else None)
                    continue
                if f"{column}_ci_low" in model.index:
                    low, high = float(model[f"{column}_ci_low"]), float(model[f"{column}_ci_high"])
                else:
                    low, high = bootstrap_ci(by_seed.to_numpy())
                ax.errorbar([x], [mean], yerr=[[mean - low], [high - mean]], fmt="s", color="black", ms=6,
                            capsize=4, label="mean, 95% CI" if x == 0 else None)
                seed_means = by_seed.mean(axis=1)
                ax.plot(np.full(len(seed_means), x + 0.15), seed_means, "o", color="C1", ms=4, alpha=0.8,
                        label="one seed" if x == 0 else None)
            ax.set_xticks(range(len(rows)), list(rows["architecture"]))
            ax.set_xlim(-0.5, len(rows) - 0.5)
            ax.margins(y=0.15)
            ax.set_xlabel("architecture")
            ax.set_ylabel(METRIC_LABELS[metric])
            ax.set_title(f"{dataset}: {metric} (Table 1)")
        row[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def defence_figure(per_class, dataset: str, path: str | None = None):
    """DBM and AM of one dataset per defence (boxes over all classes) and architecture (points).

    Returns the matplotlib figure; writes it as PNG to ``path`` when given.
    """
    from advtransfer.tables import METRICS, check_per_class

    data = check_per_class(per_class)
    data = data[data["dataset"] == dataset]
    if data.empty:
        raise ValueError(f"no rows for dataset {dataset!r}")
    defences = ["vanilla"] + [d for d in data["defence"].unique() if d != "vanilla"]
    architectures = list(data["architecture"].unique())
    fig, axes = plt.subplots(1, 2, figsize=(max(6.0, 1.1 * len(defences)) * 2, 4), squeeze=False)
    offsets = np.linspace(-0.25, 0.25, len(architectures)) if len(architectures) > 1 else [0.0]
    for ax, (metric, column) in zip(axes[0], METRICS.items()):
        values = [data.loc[data["defence"] == d, column].to_numpy(float) for d in defences]
        ax.boxplot(values, positions=range(len(defences)), widths=0.6, showfliers=False)
        for offset, architecture in zip(offsets, architectures):
            for i, defence in enumerate(defences):
                v = data.loc[(data["defence"] == defence) & (data["architecture"] == architecture), column]
                colour = f"C{architectures.index(architecture)}"
                ax.plot(np.full(len(v), i + offset), v, "o", ms=3, alpha=0.7, color=colour,
                        label=architecture if i == 0 else None)
        ax.set_xticks(range(len(defences)), defences, rotation=30, ha="right")
        ax.set_xlabel("defence")
        ax.set_ylabel(METRIC_LABELS[metric])
        ax.set_title(f"{dataset}: {metric} per defence")
    axes[0][0].legend(fontsize=8, title="architecture")
    fig.tight_layout()
    if path is not None:
        save(fig, path, close=False)
    return fig


LOTS_CAPTION_PT = 8  # the captions under the LOTS figure's images (points: legible at any DPI)
LOTS_PANEL_IN = 1.45  # the width of one image's column (inches)


def lots_figure(origins, layers, kinds, panels, origin_names, class_names=None, architecture=None):
    """Paper 2 Figs 1, 3: per origin a block of columns (the origin, then one per layer, named as the
    papers do: ``paper_layer_name``, e.g. conv1 … ip2 for ``architecture`` lenet_caffe), one row per
    kind of image (x⁺, x⁻, targeted LOTS, each with its perturbation). ``panels[layer, kind]`` =
    (images uint8 (n, C, H, W), captions); captions are wrapped to their column at
    ``LOTS_CAPTION_PT``; perturbations share one colour scale, with a colour bar."""
    from advtransfer.lots.layers import paper_layer_name

    n, columns = len(origins), 1 + len(layers)
    x = origins.float().cpu().numpy()
    images = {key: value[0].float().cpu().numpy() for key, value in panels.items()}
    bound = max([1.0] + [float(np.abs(images[key] - x).max()) for key in images])
    captioned = sum("−" not in kind for kind in kinds)  # rows with a caption under each image
    height = LOTS_PANEL_IN * len(kinds) + 0.55 * captioned + 1.0
    fig, axes = plt.subplots(len(kinds), n * columns, figsize=(LOTS_PANEL_IN * n * columns, height), squeeze=False,
                             layout="constrained")
    chars = int(0.9 * LOTS_PANEL_IN * 72 / (0.6 * LOTS_CAPTION_PT))  # characters on a caption's line
    shown = None
    for i in range(n):
        for r, kind in enumerate(kinds):
            origin_ax = axes[r, i * columns]
            if r == 0:
                _image(origin_ax, x[i], f"origin: {origin_names[i]}", chars)
            else:
                _blank(origin_ax)
            if i == 0:
                origin_ax.set_ylabel(kind, fontsize=9)
            for c, layer in enumerate(layers, start=1):
                ax = axes[r, i * columns + c]
                image = images[layer, kind.split(" ")[0]][i]
                if "−" in kind:
                    shown = _perturbation(ax, image - x[i], bound)
                else:
                    _image(ax, image, panels[layer, kind.split(" ")[0]][1][i], chars)
                if r == 0:
                    ax.set_title(paper_layer_name(architecture, layer), fontsize=9)
    if shown is not None:
        bar = fig.colorbar(shown, ax=axes, location="bottom", shrink=0.5, aspect=40)
        bar.set_label("perturbation (0–255 scale)", fontsize=LOTS_CAPTION_PT)
        bar.ax.tick_params(labelsize=LOTS_CAPTION_PT)
    return fig


def _blank(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)


def _image(ax, image, caption: str, chars: int = 20) -> None:
    """An image (C, H, W) on the 0–255 scale, captioned below (each line wrapped at ``chars``)."""
    import textwrap

    _blank(ax)
    if image.shape[0] == 1:
        ax.imshow(image[0], cmap="gray", vmin=0, vmax=PIXEL_MAX)
    else:
        ax.imshow(np.transpose(image, (1, 2, 0)).astype(np.uint8))
    lines = [wrapped for line in caption.split("\n") for wrapped in textwrap.wrap(line, chars) or [""]]
    ax.set_xlabel("\n".join(lines), fontsize=LOTS_CAPTION_PT, linespacing=1.1)


def _perturbation(ax, difference, bound: float):
    """A perturbation (C, H, W) on the shared colour scale ±``bound`` (channels averaged)."""
    _blank(ax)
    return ax.imshow(difference.mean(axis=0), cmap="seismic", vmin=-bound, vmax=bound)


# -- training ------------------------------------------------------------------------------------------

def training_curves(histories, title: str):
    """Training curves (method §2.2): loss and test accuracy against epoch of the N + 1 classifiers of
    one (dataset, architecture, defence), the standard one in black; ``histories``: (label, history table)."""
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 3.8))
    cmap = plt.get_cmap("tab10")
    for k, (label, df) in enumerate(histories):
        style = {"color": "black", "lw": 2.0} if label == "standard" else {"color": cmap(k % 10), "lw": 1.0}
        loss_ax.plot(df["epoch"], df["train_loss"], marker=".", label=label, **style)
        acc_ax.plot(df["epoch"], 100 * df["test_accuracy"], marker=".", label=label, **style)
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("training loss (mean over the epoch, no unit)")
    acc_ax.set_xlabel("epoch")
    acc_ax.set_ylabel("test accuracy (%, own classes)")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    acc_ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=7, frameon=False)
    fig.suptitle(f"{title}: training curves", fontsize=10)
    fig.tight_layout()
    return fig
