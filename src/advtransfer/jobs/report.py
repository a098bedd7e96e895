"""The report's jobs (``workflow/rules/report.smk``, README "The report"): every table as an HTML
page with its caption (``advtransfer.report``), the papers' claims checked and paper 2's Basic
LeNet against ours (``advtransfer.paper``, method §3.4, §4), and the study's summary and provenance.
Every ``caption`` is the text of a caption (reStructuredText, ``workflow/report/*.rst``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from advtransfer.files import atomic_path, read_back
from advtransfer.io import write_table
from advtransfer.paper import (
    POOLED_LAYERS,
    paper1_claims,
    paper2_at_papers_rate,
    paper2_claims,
    paper2_lenet,
    table3_tests,
)
from advtransfer.report import cost_table, html_page, provenance, read_benchmarks, study_table, write_html
from advtransfer.tables import lots_comparison_table, paper2_markdown, paper2_seeds_markdown


def html_table_job(csv: str, caption: str, title: str, out: str) -> None:
    """One table of the study (CSV) as an HTML page with its ``caption`` (reStructuredText)."""
    table = read_back(csv)
    write_html(html_page(title, caption, [("", table)], source=csv), out)


def paper2_table1_page_job(csv: str, seeds_csv: str, caption: str, out: str) -> None:
    """Paper 2's Table 1 (``tables.paper2_table1``) as an HTML page laid out like the paper: with
    several seeds first the mean ± between-seed std of each model (``tables.paper2_seeds``)."""
    title = "Paper 2's Table 1: the Basic LeNet and its fine-tuned models"
    table, seeds = read_back(csv), read_back(seeds_csv)
    parts = [("", paper2_markdown(table))]
    if (seeds["n_seeds"] > 1).any():
        parts = [("Over the seeds: mean ± between-seed standard deviation", paper2_seeds_markdown(seeds)),
                 ("Each model and seed: mean ± standard deviation over the successful attempts",
                  paper2_markdown(table))]
    write_html(html_page(title, caption, parts, source=csv), out)


def study_job(preset: str, grid: list[list[str]], seeds: list[int], benchmarks: str, caption: str, out_csv: str,
              out_html: str, provenance_json: str | None = None, study_code: str = "") -> None:
    """The study summary page: the preset, its grid, and jobs and wall time by kind of job; and the
    study's provenance (``report.provenance``) as JSON."""
    grid_df = pd.DataFrame(grid, columns=["dataset", "architecture", "defence"])
    cost = cost_table(read_benchmarks(benchmarks, list(dict.fromkeys(grid_df["dataset"]))))
    write_table(cost, out_csv)
    study = study_table(preset, grid_df, cost, seeds)
    made = provenance(preset, seeds, cost, benchmarks, study_code)
    if provenance_json:
        with atomic_path(provenance_json) as tmp:
            Path(tmp).write_text(json.dumps(made, indent=1) + "\n")
    origin = pd.DataFrame([(k, v if not isinstance(v, dict) else ", ".join(f"{a} {b}" for a, b in v.items()))
                           for k, v in made.items() if k not in ("preset", "seeds")], columns=["what", "value"])
    write_html(html_page("The study and its cost", caption,
                         [("Study", study), ("Made with", origin), ("Jobs and wall time by kind of job", cost)],
                         source=out_csv), out_html)


def _write(table: pd.DataFrame, title: str, caption: str, out_csv: str, out_md: str, out_html: str,
           more: list[tuple[str, pd.DataFrame]] = ()) -> None:
    write_table(table, out_csv, out_md)
    write_html(html_page(title, caption, [("", table), *more], source=out_csv), out_html)


def claims_job(tables: dict, caption: str, measures: list[dict], out_csv: str, out_md: str, out_html: str,
               tests_csv: str) -> None:
    """Paper 1's claims on the study's tables: ``tables`` maps table1, table2, table3 and
    metrics_per_class to a path or None; ``measures``, rows (dataset, attack, measures) saying what
    each attack's Mean L2 measures (``paper.attack_measure``). Also writes Table 3 test by test
    (``paper.table3_tests``)."""
    read = {k: (read_back(v) if v else None) for k, v in tables.items()}
    claims = paper1_claims(read.get("table1"), read.get("table2"), read.get("table3"),
                           per_class=read.get("metrics_per_class"))
    tests = table3_tests(read["table3"]) if read.get("table3") is not None else pd.DataFrame()
    write_table(tests, tests_csv)
    more = [("Table 3 test by test (Holm's correction over the tests of one dataset and metric)", tests)] \
        if len(tests) else []
    if measures:
        more.append(("What each attack's Mean L2 measures", pd.DataFrame(measures)))
    _write(claims, "Paper 1's claims, checked", caption, out_csv, out_md, out_html, more)


def paper2_claims_job(table1: str, caption: str, out_csv: str, out_md: str, out_html: str) -> None:
    """Paper 2's claims on its Table 1 (the per-seed rows of ``paper2_table1.csv``)."""
    _write(paper2_claims(read_back(table1)), "Paper 2's claims, checked", caption, out_csv, out_md, out_html)


def lenet_job(attempt_files: list[str], history: str, caption: str, out_csv: str, out_md: str,
              out_html: str, model: dict) -> None:
    """Paper 2's Basic LeNet row against the attempts of the study's vanilla classifier ``model``
    (dataset, architecture: paper 2's ``lenet_caffe`` on MNIST; one seed) and its training history."""
    attempts = pd.concat([read_back(path) for path in attempt_files], ignore_index=True)
    pooled = attempts[attempts["technique"] == "LOTS"].assign(layer=POOLED_LAYERS)  # paper 2 pools LOTS's layers
    lots = pd.concat([lots_comparison_table(attempts), lots_comparison_table(pooled)], ignore_index=True)
    table = paper2_lenet(lots.assign(**model, defence="vanilla"), read_back(history), model["dataset"],
                         model["architecture"])
    table = pd.concat([table, paper2_at_papers_rate(attempts)], ignore_index=True)
    _write(table, "Paper 2, Table 1 (Basic LeNet) vs ours", caption, out_csv, out_md, out_html)
