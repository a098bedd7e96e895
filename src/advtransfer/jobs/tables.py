"""The tables' jobs (``workflow/rules/tables.smk``, method §3, §4): each reads its inputs, builds its
table with ``advtransfer.tables`` and writes it with ``io.write_table`` (CSV, and Markdown where the
rule declares one).
"""

from __future__ import annotations

import pandas as pd

from advtransfer.files import read_back
from advtransfer.io import write_table
from advtransfer.tables import (
    MODEL_KEYS,
    PER_CLASS_KEYS,
    SEED,
    accuracy_table,
    as_written,
    attacks_per_class,
    lots_comparison_table,
    paper2_markdown,
    paper2_seeds,
    paper2_seeds_markdown,
    paper2_table1,
    table1,
    table2,
    table3,
    table3_input,
    with_seed,
)


def aggregate_job(metrics: list[str], per_class_out: str, table1_csv: str, table1_md: str) -> None:
    """Collect the per-class metrics and write Table 1."""
    per_class = with_seed(pd.concat([read_back(p) for p in metrics], ignore_index=True))
    per_class = per_class.sort_values(PER_CLASS_KEYS, kind="stable")
    write_table(as_written(per_class), per_class_out)
    write_table(table1(per_class), table1_csv, table1_md)


def table2_job(per_class_csv: str, table2_csv: str, table2_md: str) -> None:
    write_table(table2(read_back(per_class_csv)), table2_csv, table2_md)


def attacks_per_class_job(samples: list[str], keys: list[dict], out: str) -> None:
    """``attacks_per_class.csv``: per (dataset, architecture, defence, seed, attack, class)."""
    frames = [attacks_per_class(read_back(path)).assign(**k) for path, k in zip(samples, keys)]
    table = with_seed(pd.concat(frames, ignore_index=True))
    key_columns = MODEL_KEYS + [SEED, "attack"]
    write_table(as_written(table[key_columns + [c for c in table.columns if c not in key_columns]]), out)


def table3_job(attacks_per_class_csv: str, metrics_per_class_csv: str, table3_csv: str, table3_md: str) -> None:
    joined = table3_input(read_back(attacks_per_class_csv), read_back(metrics_per_class_csv))
    write_table(table3(joined), table3_csv, table3_md)


def lots_comparison_job(attempt_files: list[str], out_csv: str, out_md: str) -> None:
    """Paper 2's comparison table per (dataset, architecture, defence)."""
    attempts = with_seed(pd.concat([read_back(path) for path in attempt_files], ignore_index=True))
    keys = MODEL_KEYS + [SEED]
    tables = [lots_comparison_table(group).assign(**dict(zip(keys, key)))
              for key, group in attempts.groupby(keys, sort=False)]
    table = pd.concat(tables, ignore_index=True)
    write_table(as_written(table[keys + [c for c in table.columns if c not in keys]]), out_csv, out_md)


def accuracy_job(histories: list[str], keys: list[dict], out_csv: str, out_md: str) -> None:
    """The table of every classifier's final test accuracy."""
    table = accuracy_table([{**k, "history": read_back(p)} for k, p in zip(keys, histories)])
    write_table(as_written(table), out_csv, out_md)


def paper2_table1_job(attempt_files: list[str], history_files: list[str], models: list[dict],
                      out_csv: str, out_md: str, seeds_csv: str, seeds_md: str) -> None:
    """Paper 2's Table 1 from the comparison's attempts and each model's training history (its test
    error after the last epoch); ``models`` gives each history's (dataset, architecture, defence,
    seed). A one-seed study's table has no seed column. Also the table over the seeds
    (``paper2_seeds``: per model, the mean and between-seed std)."""
    attempts = pd.concat([read_back(path) for path in attempt_files], ignore_index=True)
    errors = pd.DataFrame([{**m, "test_error": 1 - float(read_back(h)["test_accuracy"].iloc[-1])}
                           for h, m in zip(history_files, models)])
    table = paper2_table1(attempts, errors)
    write_table(as_written(table), out_csv, out_md, markdown=paper2_markdown(as_written(table)))
    seeds = paper2_seeds(table)
    write_table(seeds, seeds_csv, seeds_md, markdown=paper2_seeds_markdown(seeds))
