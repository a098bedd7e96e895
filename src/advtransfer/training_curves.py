"""Training curves (method §2.2): loss and test accuracy against epoch of the N + 1 classifiers of one
(dataset, architecture, defence), from each model's ``history.csv``."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from advtransfer.figures import save  # noqa: E402
from advtransfer.report import classifier_label  # noqa: E402


def training_curves(histories: list[tuple[str, pd.DataFrame]], title: str):
    """Training loss and test accuracy against epoch, one line per classifier (the standard one in black)."""
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


def training_curves_job(histories: list[str], excluded: list[str], title: str, out: str) -> None:
    """The training-curve figure of one (dataset, architecture, defence): its N + 1 classifiers."""
    curves = [(classifier_label(e), pd.read_csv(p)) for e, p in zip(excluded, histories)]
    save(training_curves(curves, title), out)
