"""The rendered report of a small digits study: tables shown as pages with captions, training curves,
paper vs ours, the workflow description and the study's cost.

Snakemake's HTML report keeps each result as a base64 data URI in a JSON object (``var results``);
the test decodes it, and also reads the raw files of the ``.zip`` form of the same report.
"""

import base64
import json
import re
import zipfile

import pytest

from workflow_helpers import digits_config, snakemake, write_config

pytestmark = pytest.mark.workflow


def script_json(page: str, name: str, script_id: str | None = None):
    """The JSON value that the report's ``<script id=...>`` assigns to ``var <name>``."""
    pattern = rf'<script id="{script_id or name}">\s*var {name} = (.*?);\s*</script>'
    match = re.search(pattern, page, re.DOTALL)
    assert match, f"no var {name} in the report"
    return json.loads(match.group(1))


def has_cell(page: str, text: str) -> bool:
    """Whether ``page`` has a table cell that reads ``text`` (a key column's cell has classes)."""
    return re.search(rf"<td(?: class=\"[^\"]*\")?>{re.escape(text)}</td>", page) is not None


def decoded(result: dict) -> bytes:
    """The file behind a result of the report (its data URI)."""
    return base64.b64decode(result["data_uri"].split("base64,", 1)[1])


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """Runs a small digits study (MLP, two excluded classes, vanilla) and renders both report forms."""
    workdir = tmp_path_factory.mktemp("report")
    configfile = write_config(workdir, digits_config(workdir / "data", ("mlp",), excluded=(0, 1)))
    snakemake(workdir, configfile)
    snakemake(workdir, configfile, "--report", "report.html")
    snakemake(workdir, configfile, "--report", "report.zip")
    page = (workdir / "report.html").read_text()
    return workdir, page, script_json(page, "results"), script_json(page, "categories")


def test_table1_is_a_page_with_its_caption(report):
    _, _, results, categories = report
    table1 = results["results/report/table1.html"]
    assert table1["mime_type"] == "text/html"  # shown inside the report, not only offered for download
    html = decoded(table1).decode()
    assert "<table" in html and "dbm_<wbr>mean</th>" in html and has_cell(html, "mlp")
    assert "Lower DBM" in html and "in [0, 2]" in html  # the caption, on the page
    assert "Lower DBM" in table1["caption"]  # and beside it in the report
    assert table1["labels"] == {"table": "Table 1: DBM and AM per architecture"}
    assert "results/report/table1.html" in categories["Raw Zero-Shot"]["Other"]
    # every result of the report has a caption; no table is left as a bare CSV download
    assert all(r["caption"].strip() for r in results.values())
    assert not [path for path in results if path.endswith(".csv")]


def test_training_curves_and_accuracies(report):
    _, _, results, _ = report
    figure = results["results/figures/digits/training/mlp/vanilla.png"]
    assert figure["mime_type"] == "image/png" and decoded(figure)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "test accuracy" in figure["caption"]
    accuracies = decoded(results["results/report/accuracies.html"]).decode()
    for classifier in ("standard", "without class 0", "without class 1"):
        assert has_cell(accuracies, classifier)


def test_paper_vs_ours_and_the_front_page(report):
    workdir, page, results, categories = report
    assert categories["Paper vs ours"]["Other"] == ["results/report/paper1_claims.html"]
    claims = decoded(results["results/report/paper1_claims.html"]).decode()
    assert "ConvNet has a lower DBM than MLP" in claims and "not produced by this preset" in claims
    study = decoded(results["results/report/study.html"]).decode()
    assert "jobs with a benchmark" in study and has_cell(study, "train") and has_cell(study, "all")
    description = script_json(page, "workflow_desc", "workflow-desc")
    assert "The run" in description and "digits" in description and "mlp" in description
    assert "study.html" in description  # the link to the preset and its cost


def test_the_zip_report_holds_the_pages(report):
    workdir, _, _, _ = report
    with zipfile.ZipFile(workdir / "report.zip") as z:
        names = z.namelist()
        assert "report/report.html" in names
        table1 = [n for n in names if n.startswith("report/data/raw/") and n.endswith("/table1.html")]
        assert len(table1) == 1 and b"dbm_<wbr>mean</th>" in z.read(table1[0])
        assert any(n.endswith("/vanilla.png") for n in names)
