"""The Raw Zero-Shot stage (``workflow/rules/zero_shot.smk``, method §1, §3): soft-labels on Eᵢ and
the per-class metrics. Jobs that need no model do not import torch (it costs seconds per job).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from advtransfer.constants import EVAL_BATCH
from advtransfer.files import atomic_path, load_npz, read_back
from advtransfer.io import write_table, wrote
from advtransfer.metrics import am, dbm


def soft_labels_job(data: dict, zero_shot_model: str, standard_model: str, excluded: int, out: str) -> None:
    """Amalgam proportions zⱼ of C₋ᵢ on Eᵢ and the standard classifier's soft-labels of Eᵢ.

    Writes an ``.npz`` with ``amalgam`` (n, N−1), ``amalgam_raw`` (C₋ᵢ's scores), ``standard`` (n, N),
    ``standard_raw`` and ``standard_without`` (z'ⱼ: class i removed and renormalised).
    """
    from advtransfer.inference import scores_of  # torch only in the jobs that need it
    from advtransfer.jobs import _inputs
    from advtransfer.softlabels import soft_label, soft_label_without

    rzs, _, splits = _inputs.model_and_data(data, zero_shot_model)
    loader = splits.evaluation_loader(excluded, EVAL_BATCH)
    std, _ = _inputs.classifier(standard_model)
    raw = scores_of(rzs, loader)
    std_raw = scores_of(std, loader)
    arrays = {
        "amalgam": soft_label(raw, rzs.output_kind).numpy(),
        "amalgam_raw": raw.numpy(),
        "standard": soft_label(std_raw, std.output_kind).numpy(),
        "standard_raw": std_raw.numpy(),
        "standard_without": soft_label_without(std_raw, excluded, std.output_kind).numpy(),
        "excluded": np.array(excluded),
    }
    with atomic_path(out) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
    wrote(out, what=f"soft-labels of {len(raw)} images of class {excluded}")


def final_accuracy(history_csv: str) -> float:
    """The test accuracy after the last epoch of a training history."""
    return float(read_back(history_csv)["test_accuracy"].iloc[-1])


def metrics_job(soft_labels: str, zero_shot_history: str, standard_history: str, keys: dict, out: str) -> None:
    """One row: ``keys`` (dataset, architecture, defence, excluded_class), n, DBMᵢ, AMᵢ, accuracies."""
    s = load_npz(soft_labels, ["amalgam", "standard_without"])
    row = {**keys, "n": len(s["amalgam"]), "dbm": dbm(s["amalgam"]), "am": am(s["amalgam"], s["standard_without"]),
           "standard_accuracy": final_accuracy(standard_history),
           "zero_shot_accuracy": final_accuracy(zero_shot_history)}
    write_table(pd.DataFrame([row]), out)
