# The report (README "Outputs"): every table as an HTML page with its caption, the training curves
# and final accuracies of the classifiers, paper vs ours, and the study's cost. Captions are the .rst
# files of workflow/report/. Render with:  snakemake --report results/report.html  (or .zip)
# The logic lives in advtransfer.report, advtransfer.training_curves, advtransfer.paper and
# advtransfer.presets.

from advtransfer.paper import attack_measure
from advtransfer.presets import preset_names

REPORT_RST = Path(workflow.basedir) / "report"
# A caption for report(...) (relative to this file), and the same file for a job that reads it.
caption = lambda name: f"../report/{name}.rst"
caption_file = lambda name: str(REPORT_RST / f"{name}.rst")

# The tables of the study shown as HTML pages: name (results/tables/<name>.csv) -> category, title.
# Raw Zero-Shot classifiers: else no Table 1 and no paper 1 (a study of paper 2 alone).
ZERO_SHOT = bool(study.zero_shot_datasets(config))
REPORT_TABLES = {
    **(
        {
            "table1": ("Raw Zero-Shot", "Table 1: DBM and AM per architecture"),
            "metrics_per_class": ("Raw Zero-Shot", "DBM and AM per excluded class"),
        }
        if ZERO_SHOT
        else {}
    ),
    "accuracies": ("Training", "Final test accuracy of every classifier"),
    **(
        {"table2": ("Defences", "Table 2: defences vs vanilla (paired t-tests)")}
        if defended_datasets()
        else {}
    ),
    **(
        {
            "attacks_per_class": ("Attacks", "Attack results per class"),
            "table3": ("Attacks", "Table 3: DBM and AM vs Mean L2 (Pearson)"),
        }
        if attacked_datasets()
        else {}
    ),
    **(
        {"lots_comparison": ("LOTS", "FGS, FGV, HC and LOTS (paper 2's comparison)")}
        if lots_rows()
        else {}
    ),
}
# Paper 2's Table 1 row "Basic LeNet" has a counterpart where the study runs LOTS on MNIST's lenet_caffe.
PAPER2 = ("mnist", "lenet_caffe", "vanilla")
PAPER2_TABLES = [t for d, a, f, t in study.lots_tables(config) if (d, a, f) == PAPER2]
# Paper 1's claims are checked on the tables the study makes (Tables 2 and 3 only with defences, attacks).
PAPER1_INPUTS = {
    "table1": f"{R}/tables/table1.csv",
    "metrics_per_class": rules.aggregate.output.per_class,
    **({"table2": f"{R}/tables/table2.csv"} if defended_datasets() else {}),
    **({"table3": f"{R}/tables/table3.csv"} if attacked_datasets() else {}),
}
# The report's pages and figures; with the study summary, this stage's targets for `rule all`.
REPORT_PAGES = [
    *[f"{R}/report/{name}.html" for name in REPORT_TABLES],
    *TRAINING_FIGURES,
    *([f"{R}/report/paper1_claims.html"] if ZERO_SHOT else []),
    *([f"{R}/report/paper2_lenet.html"] if PAPER2_TABLES else []),
    *([f"{R}/report/paper2_table1.html"] if finetuning_models() else []),
    *([f"{R}/report/paper2_claims.html"] if finetuning_models() else []),
]
report_targets = lambda: [*REPORT_PAGES, f"{R}/report/study.html"]


for _name, (_category, _title) in REPORT_TABLES.items():

    rule:
        name:
            f"html_{_name}"
        input:
            table=f"{R}/tables/{_name}.csv",
            caption=caption_file(_name),
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
            code=code("html_table"),
        script:
            "../scripts/html_table.py"


rule paper1_claims:
    input:
        unpack(lambda w: PAPER1_INPUTS),
        caption=caption_file("paper1_claims"),
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
                    a, study.attack_params(config, d, a)
                ),
            }
            for d in attacked_datasets()
            for a in study.attack_names(config, d)
        ],
        code=code("paper1_claims"),
    script:
        "../scripts/paper1_claims.py"


rule paper2_lenet:
    input:
        # the Basic LeNet's own attempts: this page needs no other model of the study
        attempts=outputs(
            rules.lots.output[0],
            [
                dict(
                    zip(["dataset", "architecture", "defence"], PAPER2),
                    seed=FIRST_SEED,
                    layer=t,
                )
                for t in PAPER2_TABLES
            ],
        ),
        history=history_of(*PAPER2, FIRST_SEED, study.STANDARD),
        caption=caption_file("paper2_lenet"),
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
        code=code("paper2_lenet"),
    script:
        "../scripts/paper2_lenet.py"


rule html_paper2_table1:
    input:
        table=rules.paper2_table1.output.table,
        seeds=rules.paper2_table1.output.seeds,
        caption=caption_file("paper2_table1"),
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
        code=code("html_paper2_table1"),
    script:
        "../scripts/html_paper2_table1.py"


rule paper2_claims:
    input:
        table1=rules.paper2_table1.output.table,
        caption=caption_file("paper2_claims"),
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
        code=code("paper2_claims"),
    script:
        "../scripts/paper2_claims.py"


rule study_summary:
    input:
        # everything else the study makes, so that every benchmark file is written when this job runs
        done=[*study_outputs(), *REPORT_PAGES],
        caption=caption_file("study"),
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
        grid=[list(m) for m in study.models(config)],
        seeds=SEEDS,
        benchmarks=f"{R}/benchmarks",
        # one version of all the code that makes the study's results (docs/results.md)
        study_code=code_version(
            *sorted(SCRIPTS.glob("*.py")), modules=study.code_modules(config)
        ),
        code=code("study_summary"),
    script:
        "../scripts/study_summary.py"
