"""The report's own outputs (advtransfer.report) on hand-made tables: HTML pages, accuracies, curves, cost."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from advtransfer.figures import training_curves
from advtransfer.jobs.figures import training_curves_job
from advtransfer.report import cost_table, html_page, read_benchmarks, study_table
from advtransfer.tables import accuracy_table


def history(accuracies, losses=None) -> pd.DataFrame:
    n = len(accuracies)
    return pd.DataFrame({"epoch": range(1, n + 1), "train_loss": losses or [1.0 / (e + 1) for e in range(n)],
                         "test_accuracy": accuracies, "lr": 0.001, "seconds": [2.0] * n})


def test_html_page_shows_the_table_and_its_caption():
    table = pd.DataFrame({"architecture": ["mlp", "convnet"], "dbm_mean": [0.123456, math.nan],
                          "p_holm": [0.000123456, 0.5], "n": pd.array([10, None], dtype="Int64")})
    page = html_page("Table 1 <test>", "**Lower DBM** = a denser cluster; AM in [0, 2].", [("", table)],
                     source="results/tables/table1.csv")
    assert "<table" in page and '<th class="num">dbm_<wbr>mean</th>' in page  # headers break after "_"
    assert '<td class="key k0 key-end">mlp</td>' in page  # the architecture: the key column
    assert '<td class="num">0.1235</td>' in page and '<td class="num">–</td>' in page  # NaN shown as a dash
    assert '<td class="num">0.000123</td>' in page  # p-values: 3 significant digits
    assert "NA" not in page and '<td class="num">10</td>' in page  # a missing integer is a dash too
    assert "<strong>Lower DBM</strong>" in page  # the caption's reStructuredText rendered
    assert "Table 1 &lt;test&gt;" in page and "results/tables/table1.csv" in page


def css_rule(style: str, selector: str) -> str:
    """The declarations of the first rule of ``style`` whose selector list is ``selector``."""
    match = re.search(r"(?:^|[}\n])\s*" + re.escape(selector) + r"\s*\{([^}]*)\}", style)
    assert match, f"no CSS rule for {selector!r}"
    return match.group(1)


def lots_like_table(rows: int = 4) -> pd.DataFrame:
    """A wide table like paper 2's comparison: key columns (two of them constant), then numbers."""
    techniques = ["FGS", "FGV", "HC", "LOTS"]
    table = pd.DataFrame({"dataset": "digits", "architecture": ["mlp", "convnet"] * (rows // 2),
                          "defence": "vanilla", "technique": (techniques * rows)[:rows], "layer": "-",
                          "mode": ["untargeted", "targeted"] * (rows // 2), "n_attempts": 54})
    for column in ["success_rate", "target_rate", "pass_mean", "pass_std", "l2_mean", "l2_std", "linf_mean",
                   "linf_std", "ci_low", "ci_high", "p_value"]:
        table[column] = np.linspace(0.1234567, 390.6404, rows)
    return table


def test_a_wide_table_scrolls_in_its_box_with_its_key_columns_fixed():
    page = html_page("LOTS", "The comparison.", [("", lots_like_table())])
    style = page[page.index("<style>"):page.index("</style>")]
    body = page[page.index("<body>"):]
    # the table scrolls in its own box, with a visible scroll bar
    assert body.count('<div class="wide">') == 1 and body.index('<div class="wide">') < body.index("<table")
    wide = css_rule(style, ".wide")
    assert "overflow: auto" in wide and "max-width: 100%" in wide
    assert "height: 12px" in css_rule(style, ".wide::-webkit-scrollbar")
    assert "background" in css_rule(style, ".wide::-webkit-scrollbar-thumb")
    assert "scrollbar-color" in style  # browsers without ::-webkit-scrollbar
    # the key columns that vary stay at the left (sticky, opaque); the constant ones scroll away
    assert "position: sticky" in css_rule(style, ".key") and "background: #fff" in css_rule(style, "th, td")
    assert "left: var(--l0)" in css_rule(style, ".k0") and "width: var(--w1)" in css_rule(style, ".k1")
    header = re.search(r"<thead><tr>(.*?)</tr></thead>", body).group(1)
    classes = {name.replace("_<wbr>", "_"): c for c, name in re.findall(r'<th(?: class="([^"]*)")?>(.*?)</th>', header)}
    assert classes["dataset"] == "" and classes["defence"] == "" and classes["layer"] == ""
    assert classes["architecture"].split()[:2] == ["key", "k0"] and classes["technique"].split()[:2] == ["key", "k1"]
    assert classes["mode"].split()[:2] == ["key", "k2"] and "key-end" in classes["mode"]
    assert not any("key" in classes[c] for c in ("n_attempts", "l2_mean", "p_value"))
    offsets = dict(re.findall(r"--(l\d|w\d):([\d.]+)em", re.search(r"<table style=\"([^\"]*)\"", body).group(1)))
    assert float(offsets["l0"]) == 0 and float(offsets["l1"]) == float(offsets["w0"]) > 4
    assert float(offsets["l2"]) == pytest.approx(float(offsets["w0"]) + float(offsets["w1"]))
    assert body.count('class="key k1') == 1 + 4  # the header and every row
    # a key column beyond the first stays fixed in a window that leaves room to the numbers
    threshold = int(re.search(r"from(\d+)", classes["technique"]).group(1))
    assert 20 < threshold < 60 and f"@media (max-width: {threshold}em)" in style
    # compact: intervals' bounds with 3 decimals, p-values with 3 significant digits
    assert '<td class="num">0.123</td>' in body and '<td class="num">0.1235</td>' in body
    assert '<th class="num">ci_<wbr>low</th>' in body


def test_key_columns_of_tables_without_known_keys():
    from advtransfer.report import key_columns

    study = pd.DataFrame({"what": ["preset", "seeds"], "value": ["config.yaml", "0, 1, 2"]})
    assert [i for i, _ in key_columns(study)] == [0]  # never the last column
    claims = pd.DataFrame({"statement": ["a", "b"], "n": [1, 2]})
    assert [i for i, _ in key_columns(claims)] == [0]  # a first text column
    numbers = pd.DataFrame({"x": [1.0, 2.0], "y": [3.0, 4.0]})
    assert key_columns(numbers) == []
    one_row = pd.DataFrame({"dataset": ["digits"], "architecture": ["mlp"], "dbm": [0.5]})
    assert [i for i, _ in key_columns(one_row)] == [0]  # nothing varies: the first key column
    page = html_page("t", "c", [("", numbers)])
    assert "<table>" in page and "key" not in page[page.index("<body>"):] and "@media" not in page


def test_accuracy_table_has_one_row_per_classifier():
    rows = accuracy_table([
        {"dataset": "digits", "architecture": "mlp", "defence": "vanilla", "excluded": "none",
         "history": history([0.5, 0.9, 0.8])},
        {"dataset": "digits", "architecture": "mlp", "defence": "vanilla", "excluded": "3",
         "history": history([0.6, 0.7])},
    ])
    assert list(rows["classifier"]) == ["standard", "without class 3"]
    standard = rows.iloc[0]
    assert standard["final_test_accuracy"] == 0.8 and standard["best_test_accuracy"] == 0.9
    assert standard["best_epoch"] == 2 and standard["epochs"] == 3 and standard["train_seconds"] == 6.0
    assert standard["final_train_loss"] == pytest.approx(1 / 3)


def test_training_curves_label_both_axes_with_units(tmp_path):
    fig = training_curves([("standard", history([0.5, 0.9])), ("without class 0", history([0.4, 0.8]))], "digits")
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_xlabel() == "epoch" and "loss" in loss_ax.get_ylabel()
    assert acc_ax.get_ylabel() == "test accuracy (%, own classes)"
    assert list(acc_ax.lines[0].get_ydata()) == pytest.approx([50.0, 90.0])  # percent
    assert [t.get_text() for t in acc_ax.get_legend().get_texts()] == ["standard", "without class 0"]
    paths = []
    for e in ("none", "0"):
        paths.append(tmp_path / f"{e}.csv")
        history([0.5, 0.9]).to_csv(paths[-1], index=False)
    out = tmp_path / "curves.png"
    training_curves_job([str(p) for p in paths], ["none", "0"], "digits / mlp / vanilla", str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cost_table_sums_jobs_and_times_per_rule(tmp_path):
    def bench(s, rss):
        return pd.DataFrame({"s": [s], "h:m:s": ["0:00:00"], "max_rss": [rss]})

    cost = cost_table({"train/digits/mlp/vanilla/none.tsv": bench(30.0, 900.0),
                       "train/digits/mlp/vanilla/0.tsv": bench(20.0, 1000.0),
                       "aggregate/table1.tsv": bench(5.0, 200.0),
                       "table2.tsv": bench(1.0, 100.0)})  # a job of its own: the kind is its name
    assert list(cost["kind"]) == ["aggregate", "table2", "train", "all"]
    train = cost[cost["kind"] == "train"].iloc[0]
    assert (train["jobs"], train["total_s"], train["longest_s"], train["peak_rss_mb"]) == (2, 50.0, 30.0, 1000.0)
    total = cost[cost["kind"] == "all"].iloc[0]
    assert (total["jobs"], total["total_s"]) == (4, 56.0)

    grid = pd.DataFrame([["digits", "mlp", "vanilla"], ["digits", "mlp", "label_smoothing"]],
                        columns=["dataset", "architecture", "defence"])
    study = dict(study_table("config/config.yaml", grid, cost).values.tolist())
    assert study["preset"] == "config/config.yaml"
    assert study["digits: defences"] == "vanilla, label_smoothing"
    assert study["jobs with a benchmark"] == "4" and study["sum of their wall times"] == "0.9 min (56 s)"


def test_read_benchmarks_keeps_the_study_datasets(tmp_path):
    for rel in ("train/digits/mlp/vanilla/none.tsv", "train/mnist/lenet_caffe/vanilla/none.tsv",
                "aggregate/table1.tsv"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("s\th:m:s\tmax_rss\n1.5\t0:00:01\t100.0\n")
    found = read_benchmarks(str(tmp_path), ["digits"])
    assert sorted(found) == ["aggregate/table1.tsv", "train/digits/mlp/vanilla/none.tsv"]
    assert found["aggregate/table1.tsv"]["s"].iloc[0] == 1.5


def test_every_caption_is_valid_restructured_text():
    """The captions of workflow/report/ render without a docutils warning (the front page has Jinja)."""
    from pathlib import Path

    from docutils.core import publish_parts

    folder = Path(__file__).parents[1] / "workflow" / "report"
    captions = [p for p in folder.glob("*.rst") if p.name != "workflow.rst"]
    assert len(captions) >= 15
    for path in captions:
        publish_parts(path.read_text(), writer="html", settings_overrides={"halt_level": 2, "report_level": 2})


def test_the_preset_is_told_by_content(tmp_path):
    from advtransfer.presets import CUSTOM, preset_names

    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text("datasets: {digits: {}}\n")
    (tmp_path / "config" / "mnist.yaml").write_text("datasets: {mnist: {}}\n")
    copy = tmp_path / "elsewhere.yaml"
    copy.write_text("datasets: {mnist: {}}\n")
    other = tmp_path / "mine.yaml"
    other.write_text("datasets: {mnist: {train_limit: 10}}\n")
    assert preset_names([tmp_path / "config" / "config.yaml"], tmp_path) == "config/config.yaml"
    assert preset_names([str(copy)], tmp_path) == "config/mnist.yaml"
    assert preset_names([other, copy], tmp_path) == f"{CUSTOM}, config/mnist.yaml"
