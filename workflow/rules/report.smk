# The report (README "Outputs"): every table as an HTML page with its caption, the training curves
# and final accuracies of the classifiers, paper vs ours, and the study's cost. Captions are the .rst
# files of workflow/report/ (given to the jobs as text: a study folder copied elsewhere re-runs no
# page). Render with:  snakemake --report results/report.html  (or .zip)
# The jobs are advtransfer.jobs.report (pages: advtransfer.report; the papers: advtransfer.paper).

from advtransfer.paper import attack_measure
from advtransfer.presets import preset_names

# The tables of the study shown as HTML pages: name -> (category, title, the table's file).
# Raw Zero-Shot classifiers: else no Table 1 and no paper 1 (a study of paper 2 alone).
REPORT_TABLES = {
    **(
        {
            "table1": (
                "Raw Zero-Shot",
                "Table 1: DBM and AM per architecture",
                rules.aggregate.output.table1,
            ),
            "metrics_per_class": (
                "Raw Zero-Shot",
                "DBM and AM per excluded class",
                rules.aggregate.output.per_class,
            ),
        }
        if STUDY.zero_shot_datasets
        else {}
    ),
    "accuracies": (
        "Training",
        "Final test accuracy of every classifier",
        rules.accuracies.output.csv,
    ),
    **(
        {
            "table2": (
                "Defences",
                "Table 2: defences vs vanilla (paired t-tests)",
                rules.table2.output.table2,
            )
        }
        if STUDY.defended_datasets
        else {}
    ),
    **(
        {
            "attacks_per_class": (
                "Attacks",
                "Attack results per class",
                rules.attacks_per_class.output[0],
            ),
            "table3": (
                "Attacks",
                "Table 3: DBM and AM vs Mean L2 (Pearson)",
                rules.table3.output.table3,
            ),
        }
        if STUDY.attacked_datasets
        else {}
    ),
    **(
        {
            "lots_comparison": (
                "LOTS",
                "FGS, FGV, HC and LOTS (paper 2's comparison)",
                rules.lots_comparison.output.table,
            )
        }
        if lots_rows()
        else {}
    ),
}


for _name, (_category, _title, _table) in REPORT_TABLES.items():

    rule:
        name:
            f"html_{_name}"
        input:
            table=_table,
        output:
            report(
                f"{R}/report/{_name}.html",
                caption=caption(_name),
                category=_category,
                labels={"table": _title},
            ),
        log:
            f"logs/report/{_name}.log",
        benchmark:
            f"{R}/benchmarks/html/{_name}.tsv"
        conda:
            CONDA_ENV
        params:
            title=_title,
            caption=caption_text(_name),
            code=code("html_table"),
        script:
            "../scripts/html_table.py"


rule paper1_claims:
    input:
        unpack(paper1_inputs),
    output:
        csv=f"{R}/tables/paper1_claims.csv",
        md=f"{R}/tables/paper1_claims.md",
        tests=f"{R}/tables/paper1_table3_tests.csv",
        html=report(
            f"{R}/report/paper1_claims.html",
            caption=caption("paper1_claims"),
            category="Paper vs ours",
            labels={"table": "Paper 1's claims, checked"},
        ),
    log:
        "logs/report/paper1_claims.log",
    benchmark:
        f"{R}/benchmarks/paper1_claims.tsv"
    conda:
        CONDA_ENV
    params:
        # what each attack's Mean L2 measures: the distance to the boundary or how far into its ε-ball
        measures=[
            {
                "dataset": d,
                "attack": a,
                "Mean L2 measures": attack_measure(
                    a, STUDY.datasets[d].attack_params(a)
                ),
            }
            for d, a in attack_figures()
        ],
        caption=caption_text("paper1_claims"),
        code=code("paper1_claims"),
    script:
        "../scripts/paper1_claims.py"


rule paper2_lenet:
    input:
        # the Basic LeNet's own attempts: this page needs no other model of the study
        attempts=basic_lenet_attempts(),
        history=basic_lenet_history(),
    output:
        csv=f"{R}/tables/paper2_lenet.csv",
        md=f"{R}/tables/paper2_lenet.md",
        html=report(
            f"{R}/report/paper2_lenet.html",
            caption=caption("paper2_lenet"),
            category="Paper vs ours",
            labels={"table": "Paper 2, Table 1 (Basic LeNet) vs ours"},
        ),
    log:
        "logs/report/paper2_lenet.log",
    benchmark:
        f"{R}/benchmarks/paper2_lenet.tsv"
    conda:
        CONDA_ENV
    params:
        model=basic_lenet_keys(),
        caption=caption_text("paper2_lenet"),
        code=code("paper2_lenet"),
    script:
        "../scripts/paper2_lenet.py"


rule html_paper2_table1:
    input:
        table=rules.paper2_table1.output.table,
        seeds=rules.paper2_table1.output.seeds,
    output:
        report(
            f"{R}/report/paper2_table1.html",
            caption=caption("paper2_table1"),
            category="LOTS",
            labels={"table": "Paper 2's Table 1: every fine-tuned model"},
        ),
    log:
        "logs/report/paper2_table1.log",
    benchmark:
        f"{R}/benchmarks/html/paper2_table1.tsv"
    conda:
        CONDA_ENV
    params:
        caption=caption_text("paper2_table1"),
        code=code("html_paper2_table1"),
    script:
        "../scripts/html_paper2_table1.py"


rule paper2_claims:
    input:
        table1=rules.paper2_table1.output.table,
    output:
        csv=f"{R}/tables/paper2_claims.csv",
        md=f"{R}/tables/paper2_claims.md",
        html=report(
            f"{R}/report/paper2_claims.html",
            caption=caption("paper2_claims"),
            category="Paper vs ours",
            labels={"table": "Paper 2's claims, checked"},
        ),
    log:
        "logs/report/paper2_claims.log",
    benchmark:
        f"{R}/benchmarks/paper2_claims.tsv"
    conda:
        CONDA_ENV
    params:
        caption=caption_text("paper2_claims"),
        code=code("paper2_claims"),
    script:
        "../scripts/paper2_claims.py"


rule study_summary:
    input:
        # everything else the study makes, so that every benchmark file is written when this job runs
        done=[*study_outputs(), *report_pages()],
    output:
        csv=f"{R}/tables/cost.csv",
        provenance=f"{R}/provenance.json",
        html=report(
            f"{R}/report/study.html",
            caption=caption("study"),
            category="Study",
            labels={"table": "the study and its cost"},
        ),
    log:
        "logs/report/study.log",
    benchmark:
        f"{R}/benchmarks/study_summary.tsv"
    conda:
        CONDA_ENV
    params:
        # by content: the same config under another name or path re-runs nothing
        preset=preset_names(workflow.configfiles, Path(workflow.basedir).parent),
        grid=[list(m) for m in STUDY.models],
        seeds=SEEDS,
        benchmarks=f"{R}/benchmarks",
        # one version of all the code that makes the study's results (docs/results.md)
        study_code=code_version(
            *sorted(SCRIPTS.glob("*.py")), modules=STUDY.code_modules()
        ),
        caption=caption_text("study"),
        code=code("study_summary"),
    script:
        "../scripts/study_summary.py"
