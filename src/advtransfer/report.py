"""The report's own pages (README "The report"): every table as an HTML page with its caption, and
what the study cost and where it was made. The jobs that write them are ``advtransfer.jobs.report``;
the training curves are figures (``advtransfer.figures.training_curves``).

Snakemake's report shows an HTML result inside the page and a CSV only as a download link, so each
table is also written as a small self-contained HTML page.
"""

from __future__ import annotations

import html
import math
import re
from pathlib import Path

import pandas as pd

from advtransfer.files import atomic_path

P_COLUMNS = {"p_value", "p_holm"}
# The ends of the names of confidence-interval columns (Table 3's ci_low, Table 1's dbm_ci_low, ...):
# shown with CI_DIGITS decimals, enough for an interval's bounds.
CI_SUFFIXES = ("ci_low", "ci_high")
CI_DIGITS = 3

# Wide tables (README "The report"): Snakemake's report shows a page in a pane beside its menu, often
# 500–700 px wide at a 1400-px window. Each table scrolls in its own box (``.wide``, scroll bars
# drawn visibly, the header row kept in view) and its key columns (``key_columns``: the identifying
# columns that vary, e.g. architecture, attack, metric) stay fixed at the left while the numbers
# scroll, a line at the right of the last one. Key cells have a fixed width (``--wN``) and offset
# (``--lN``) set on their table, as CSS without JavaScript cannot measure them; a key column beyond
# the first stays fixed only where the window leaves STICKY_ROOM beside it (class ``fromN``: fixed in
# a window wider than N em; ``html_page`` writes the media query of each N its tables use).
KEY_NAMES = ("dataset", "architecture", "defence", "seed", "attack", "metric", "technique", "layer", "mode",
             "class", "excluded_class", "classifier", "excluded", "kind", "what", "quantity", "claim")
TABLE_EM = 0.8  # the table's font size (em of the page)
PAGE_MARGIN_EM = 1.5  # the body's margin (em of the page)
CHAR_EM = 0.58  # an upper estimate of a character's width in a sans-serif font (em)
CELL_PAD_EM = 1.1  # a cell's padding and border (em)
KEY_MAX_CHARS = 24  # a longer key value wraps
MAX_KEYS = 6
STICKY_ROOM = 12  # em of the page left to the scrolling columns (two or three numeric columns)

STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #111; background: #fff; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.5em; }
.caption { max-width: 60em; font-size: 0.9em; line-height: 1.4; }
.wide { overflow: auto; width: fit-content; max-width: 100%; max-height: 85vh; margin-top: 0.8em; }
.wide::-webkit-scrollbar { width: 12px; height: 12px; }
.wide::-webkit-scrollbar-track { background: #e4e4e4; }
.wide::-webkit-scrollbar-thumb { background: #8a8a8a; border: 2px solid #e4e4e4; border-radius: 6px; }
@supports not selector(::-webkit-scrollbar) { .wide { scrollbar-color: #8a8a8a #e4e4e4; } }
table { border-collapse: separate; border-spacing: 0; font-size: 0.8em; }
th, td { border: 0 solid #bbb; border-width: 0 1px 1px 0; padding: 0.25em 0.5em; text-align: left;
         vertical-align: top; background: #fff; }
th:first-child, td:first-child { border-left-width: 1px; }
th { background: #eee; position: sticky; top: 0; z-index: 2; border-top-width: 1px; vertical-align: bottom; }
tr:nth-child(even) td { background: #f7f7f7; }
td.num { text-align: right; white-space: nowrap; } th.num { text-align: right; }
.key { position: sticky; z-index: 1; box-sizing: border-box; overflow-wrap: anywhere; }
th.key { z-index: 3; } .key-end { box-shadow: 2px 0 #777; }
.source { font-size: 0.8em; color: #555; }
""" + "".join(f".k{i} {{ left: var(--l{i}); width: var(--w{i}); min-width: var(--w{i}); max-width: var(--w{i}); }}\n"
              for i in range(MAX_KEYS))


def sticky_css(body: str) -> str:
    """The media queries of the ``fromN`` classes that ``body`` uses: in a window at most N em wide
    those key columns scroll with the others (their header cells stay at the top), and the line
    that ends the fixed columns moves to the key column before them (class ``endN``)."""
    widths = sorted({int(n) for n in re.findall(r"\bfrom(\d+)\b", body)})
    return "".join(f"@media (max-width: {n}em) {{ .from{n} {{ position: static; }} th.from{n} {{ position: sticky; "
                   f"left: auto; }} .end{n} {{ box-shadow: 2px 0 #777; }} .key.from{n} {{ box-shadow: none; }} }}\n"
                   for n in widths)


# --- HTML pages ------------------------------------------------------------------------------------


def rst_to_html(text: str) -> str:
    """The body of a reStructuredText caption rendered as HTML (docutils, as Snakemake renders it)."""
    from docutils.core import publish_parts

    return publish_parts(text, writer="html", settings_overrides={"report_level": 5})["body"]


def format_table(df: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """Numbers as text: floats with ``digits`` decimals (confidence intervals' bounds with
    ``CI_DIGITS``), p-values with 3 significant digits, NaN as –."""
    out = df.astype(object).copy()
    for col in df.columns:
        if pd.api.types.is_float_dtype(df[col]):
            places = CI_DIGITS if str(col).endswith(CI_SUFFIXES) else digits
            fmt = "{:.3g}" if col in P_COLUMNS else f"{{:.{places}f}}"
            out[col] = [("–" if pd.isna(v) else fmt.format(v)) for v in df[col]]
        else:
            out[col] = ["–" if v is None or (not isinstance(v, str) and pd.isna(v)) else v for v in df[col]]
    return out


def _width_chars(values) -> int:
    return max([len(str(v)) for v in values] + [1])


def key_columns(df: pd.DataFrame) -> list[tuple[int, float]]:
    """The columns of ``df`` kept at the left of a wide table, as (position, width in em of the
    table): of the leading identifying columns (``KEY_NAMES``; else a first column that is not
    numeric) those whose value changes from row to row (a column of one value identifies nothing:
    it scrolls away), or the first of them where none does. Never the last column; at most
    ``MAX_KEYS``. The width fits the longest value (up to ``KEY_MAX_CHARS`` characters) and the
    longest part of the header (it breaks after an underscore)."""
    leading = 0
    while leading < len(df.columns) - 1 and str(df.columns[leading]) in KEY_NAMES:
        leading += 1
    if not leading and len(df.columns) > 1 and not pd.api.types.is_numeric_dtype(df.iloc[:, 0]):
        leading = 1
    text = format_table(df)
    varying = [i for i in range(leading) if text.iloc[:, i].astype(str).nunique() > 1] or list(range(min(1, leading)))
    keys = []
    for i in varying[:MAX_KEYS]:
        header = max(len(part) for part in str(df.columns[i]).replace("_", "_ ").split())
        chars = max(header, min(KEY_MAX_CHARS, _width_chars(text.iloc[:, i])))
        keys.append((i, round(CHAR_EM * chars + CELL_PAD_EM, 1)))
    return keys


def _breakable(name) -> str:
    """A header, escaped, that may break after each underscore."""
    return "_<wbr>".join(html.escape(part) for part in str(name).split("_"))


def html_table(df: pd.DataFrame) -> str:
    """An HTML table of ``df`` (values escaped; numeric columns right-aligned) in a box that scrolls
    when the table is wider than the window, with its key columns (``key_columns``) fixed at the left."""
    numeric = [pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) for c in df.columns]
    text = format_table(df)
    keys = key_columns(df)
    classes = [["num"] if num else [] for num in numeric]
    variables, left, previous = [], 0.0, None
    for k, (i, width) in enumerate(keys):
        variables += [f"--l{k}:{left:g}em", f"--w{k}:{width:g}em"]
        classes[i] = ["key", f"k{k}"] + classes[i]
        left += width
        if k:  # the window width (em of the page) from which this column stays fixed
            needed = math.ceil(PAGE_MARGIN_EM + TABLE_EM * left + STICKY_ROOM)
            classes[i].append(f"from{needed}")
            classes[previous].append(f"end{needed}")
        previous = i
    if keys:
        classes[previous].append("key-end")
    attrs = [f' class="{" ".join(c)}"' if c else "" for c in classes]

    def cells(values, tag, header=False):
        return "".join(f"<{tag}{a}>{_breakable(v) if header else html.escape(str(v))}</{tag}>"
                       for v, a in zip(values, attrs))

    style = f' style="{";".join(variables)}"' if variables else ""
    rows = "\n".join(f"<tr>{cells(row, 'td')}</tr>" for row in text.itertuples(index=False))
    return (f'<div class="wide">\n<table{style}>\n<thead><tr>{cells(df.columns, "th", header=True)}</tr></thead>\n'
            f"<tbody>\n{rows}\n</tbody>\n</table>\n</div>")


def html_page(title: str, caption_rst: str, tables: list[tuple[str, pd.DataFrame]], source: str = "") -> str:
    """A self-contained HTML page: a title, the caption, and each (heading, table)."""
    parts = [f"<h1>{html.escape(title)}</h1>", f'<div class="caption">{rst_to_html(caption_rst)}</div>']
    shown = []
    for heading, df in tables:
        if heading:
            parts.append(f"<h2>{html.escape(heading)}</h2>")
        if df.empty:
            parts.append("<p>(no rows)</p>")
        else:
            shown.append(html_table(df))
            parts.append(shown[-1])
    if source:
        parts.append(f'<p class="source">Data: {html.escape(source)}</p>')
    return ("<!doctype html>\n<html><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{STYLE}{sticky_css(''.join(shown))}</style></head>\n<body>\n"
            + "\n".join(parts) + "\n</body></html>\n")


def write_html(text: str, out: str) -> None:
    with atomic_path(out) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")


# --- the study and its cost ------------------------------------------------------------------------


def cost_table(benchmarks: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per kind of job: jobs, total and longest wall time (s), peak memory (MB), from Snakemake's
    benchmark files; ``benchmarks`` maps each file's path below ``results/benchmarks/`` (its first
    folder, or its name for a job of its own, is the kind: train, attack, table2, ...) to its
    table. The last row, ``all``, sums the jobs and times."""
    rows = [{"kind": Path(Path(path).parts[0]).stem, "s": float(df["s"].iloc[0]),
             "max_rss": float(df["max_rss"].iloc[0])} for path, df in benchmarks.items()]
    if not rows:
        return pd.DataFrame(columns=["kind", "jobs", "total_s", "longest_s", "peak_rss_mb"])
    df = pd.DataFrame(rows)
    per_kind = df.groupby("kind", sort=True).agg(jobs=("s", "size"), total_s=("s", "sum"), longest_s=("s", "max"),
                                                 peak_rss_mb=("max_rss", "max")).reset_index()
    total = {"kind": "all", "jobs": len(df), "total_s": df["s"].sum(), "longest_s": df["s"].max(),
             "peak_rss_mb": df["max_rss"].max()}
    return pd.concat([per_kind, pd.DataFrame([total])], ignore_index=True).round(2)


def hours_minutes(seconds: float) -> str:
    minutes = int(round(seconds / 60))
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{seconds / 60:.1f} min"


def study_table(preset: str, grid: pd.DataFrame, cost: pd.DataFrame, seeds: list[int] = (0,)) -> pd.DataFrame:
    """The study at a glance: preset, grid (``grid``: dataset, architecture, defence rows), the
    replicate seeds and the cost."""
    total = cost[cost["kind"] == "all"]
    jobs = int(total["jobs"].iloc[0]) if len(total) else 0
    seconds = float(total["total_s"].iloc[0]) if len(total) else 0.0
    rows = [("preset", preset)]
    for dataset, part in grid.groupby("dataset", sort=False):
        rows.append((f"{dataset}: architectures", ", ".join(dict.fromkeys(part["architecture"]))))
        rows.append((f"{dataset}: defences", ", ".join(dict.fromkeys(part["defence"]))))
    rows.append(("seeds", ", ".join(map(str, seeds))))
    rows += [("jobs with a benchmark", str(jobs)),
             ("sum of their wall times", f"{hours_minutes(seconds)} ({seconds:.0f} s)")]
    return pd.DataFrame(rows, columns=["what", "value"])


def read_benchmarks(folder: str, datasets: list[str]) -> dict[str, pd.DataFrame]:
    """The benchmark files below ``folder`` that belong to ``datasets`` (or to no dataset, e.g. the
    aggregation jobs), keyed by their path below ``folder``."""
    found = {}
    for path in sorted(Path(folder).rglob("*.tsv")):
        rel = path.relative_to(folder)
        if len(rel.parts) > 2 and rel.parts[1] not in datasets:
            continue
        found[str(rel)] = pd.read_csv(path, sep="\t")
    return found


def provenance(preset: str, seeds: list[int], cost: pd.DataFrame, benchmarks: str, study_code: str) -> dict:
    """Where and when the study's results were made: the preset, the commit of the code (and whether
    its work tree had changes), the study's code version (every job script and module its jobs import:
    equal versions make equal results, docs/results.md), the machine, the main packages' versions,
    the date (UTC, when this summary ran), and the jobs' summed wall time and the span from the first
    job's start to the last job's end (from the benchmark files' times)."""
    import datetime
    import os
    import platform
    import subprocess
    from importlib.metadata import PackageNotFoundError, version

    repo = Path(__file__).resolve().parents[2]

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=30,
                                  check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    times = [(p.stat().st_mtime, float(pd.read_csv(p, sep="\t")["s"].iloc[0]))
             for p in Path(benchmarks).rglob("*.tsv")]
    span = max(t for t, _ in times) - min(t - s for t, s in times) if times else 0.0
    total = cost[cost["kind"] == "all"]
    return {
        "preset": preset, "seeds": list(seeds), "commit": git("rev-parse", "HEAD") or "unknown",
        "work_tree_changed": bool(git("status", "--porcelain", "--untracked-files=no")),
        "study_code": study_code,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{cpu}, {os.cpu_count()} CPU threads, {platform.system()} {platform.machine()}",
        "packages": {name: installed(name) for name in ("torch", "lightning", "snakemake", "numpy", "pandas",
                                                         "scipy", "opencv-python-headless")},
        "python": platform.python_version(),
        "jobs": int(total["jobs"].iloc[0]) if len(total) else 0,
        "jobs_wall_s": round(float(total["total_s"].iloc[0]), 1) if len(total) else 0.0,
        "span_s": round(span, 1),
    }
