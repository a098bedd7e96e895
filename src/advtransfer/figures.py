"""Figures of method §3 (matplotlib, no display needed). Every axis is labelled with its unit."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from advtransfer.io import atomic_path  # noqa: E402

MEAN_L2_LABEL = "Mean L2 (0–255 scale)"
METRIC_LABELS = {"DBM": "DBM (no unit)", "AM": "AM (no unit, 0–2)"}


def save(fig, path: str) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
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
    """One panel per excluded class: H/n (Raw Zero-Shot) and H'/n (standard) over the other classes (Fig 4)."""
    fig, axes = _grid(len(panels))
    for ax, (i, h, h_std, n) in zip(axes, panels):
        names = [c for k, c in enumerate(class_names) if k != i]
        pos = np.arange(len(names))
        ax.bar(pos - 0.2, h / n, width=0.4, label="H (Raw Zero-Shot)")
        ax.bar(pos + 0.2, h_std / n, width=0.4, label="H' (standard)")
        ax.set_xticks(pos, names, rotation=90, fontsize=6)
        ax.set_xlabel("in-distribution class", fontsize=6)
        ax.set_ylabel("soft-label mass per sample (0–1)", fontsize=6)
        ax.set_title(f"excluded: {class_names[i]}  AM {np.abs(h_std - h).sum() / n:.3f}", fontsize=8)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=7, frameon=False)
    fig.suptitle(f"{title}: amalgam histograms", fontsize=10)
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


def figures_job(soft_labels: list[str], class_names: list[str], title: str, isomap_out: str, histograms_out: str,
                max_points: int = 500, seed: int = 0) -> None:
    """Paper 1 Fig 3 (Isomap of each Eᵢ's amalgam proportions) and Fig 4 (H' vs H), one file each."""
    from advtransfer.metrics import amalgam_histograms

    loaded = [np.load(p) for p in soft_labels]
    panels = [(int(s["excluded"]), s["amalgam"], s["standard_without"]) for s in loaded]
    fig = isomap_panels(panels, class_names, title, max_points=max_points, seed=seed)
    save(fig, isomap_out)
    fig = histogram_panels([(i, *amalgam_histograms(z, z_std), len(z)) for i, z, z_std in panels],
                                   class_names, title)
    save(fig, histograms_out)
