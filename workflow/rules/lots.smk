# LOTS (method §4) on the standard classifiers: paper 2's comparison of FGS, FGV, HC and LOTS, the
# attack "lots" of Table 3, and the LOTS visualisation. The logic lives in advtransfer.lots.job.

from advtransfer.lots.job import check_lots_config

try:
    check_lots_config(config)
except ValueError as err:
    raise WorkflowError(f"config: {err}") from None


LOTS_TABLES = [f"{R}/lots/{d}/{a}/{f}/{table}.csv" for d, a, f, table in study.lots_tables(config)]
LOTS_FIGURES = [f"{R}/figures/{d}/{a}_lots.png" for d, a in study.lots_figures(config)]
# This stage's targets for `rule all` (a lambda: `snakemake --lint` wants no function beside rules).
lots_targets = lambda: (
    [f"{R}/tables/lots_comparison.csv", f"{R}/tables/lots_comparison.md", *LOTS_FIGURES] if LOTS_TABLES else []
)


ruleorder: lots_baselines > lots


rule lots:
    input:
        model=model_path("{dataset}", "{architecture}", "{defence}", study.STANDARD),
    output:
        f"{R}/lots/{{dataset}}/{{architecture}}/{{defence}}/{{layer}}.csv",
    params:
        data=lambda w: study.data_params(config, w.dataset),
        techniques=["LOTS"],
        layers=lambda w: [w.layer],
        modes=study.lots_param(config, "modes"),
        n_lots=study.lots_param(config, "n_lots"),
        limit=study.lots_param(config, "limit"),
        code=model_code("lots_attempts"),
    wildcard_constraints:
        layer=r"[\w.]+",
    resources:
        gpu=gpus(1),
    group:
        MODEL_GROUP
    conda:
        CONDA_ENV
    log:
        "logs/lots/{dataset}/{architecture}/{defence}/{layer}.log",
    benchmark:
        "results/benchmarks/lots/{dataset}/{architecture}/{defence}/{layer}.tsv"
    script:
        "../scripts/lots_attempts.py"


rule lots_baselines:
    input:
        model=model_path("{dataset}", "{architecture}", "{defence}", study.STANDARD),
    output:
        f"{R}/lots/{{dataset}}/{{architecture}}/{{defence}}/baselines.csv",
    params:
        data=lambda w: study.data_params(config, w.dataset),
        techniques=lambda w: [t for t in study.lots_params(config, w.dataset, w.architecture)["techniques"] if t != "LOTS"],
        layers=[],
        modes=study.lots_param(config, "modes"),
        n_lots=study.lots_param(config, "n_lots"),
        limit=study.lots_param(config, "limit"),
        code=model_code("lots_attempts"),
    resources:
        gpu=gpus(1),
    group:
        MODEL_GROUP
    conda:
        CONDA_ENV
    log:
        "logs/lots/{dataset}/{architecture}/{defence}/baselines.log",
    benchmark:
        "results/benchmarks/lots/{dataset}/{architecture}/{defence}/baselines.tsv"
    script:
        "../scripts/lots_attempts.py"


rule lots_comparison:
    input:
        LOTS_TABLES,
    output:
        table=f"{R}/tables/lots_comparison.csv",
        table_md=f"{R}/tables/lots_comparison.md",
    params:
        code=code("lots_comparison"),
    conda:
        CONDA_ENV
    log:
        "logs/aggregate/lots_comparison.log",
    script:
        "../scripts/lots_comparison.py"


rule lots_attack:
    input:
        model=model_path("{dataset}", "{architecture}", "{defence}", study.STANDARD),
    output:
        f"{R}/attacks/{{dataset}}/{{architecture}}/{{defence}}/lots.csv",
    params:
        data=lambda w: study.data_params(config, w.dataset),
        layer=study.lots_param(config, "attack_layer"),
        limit=study.lots_param(config, "limit"),
        n_attack=lambda w: study.dataset_cfg(config, w.dataset).get("attacks", {}).get("n_attack", 1000),
        code=model_code("lots_attack"),
    resources:
        gpu=gpus(1),
    group:
        MODEL_GROUP
    conda:
        CONDA_ENV
    log:
        "logs/attack/{dataset}/{architecture}/{defence}/lots.log",
    benchmark:
        "results/benchmarks/attack/{dataset}/{architecture}/{defence}/lots.tsv"
    script:
        "../scripts/lots_attack.py"


rule lots_figure:
    input:
        model=model_path("{dataset}", "{architecture}", "vanilla", study.STANDARD),
    output:
        report(
            f"{R}/figures/{{dataset}}/{{architecture}}_lots.png",
            caption="../report/lots_figure.rst",
            category="LOTS",
            labels={"figure": "LOTS visualisation (paper 2 Figs 1, 3)", "dataset": "{dataset}", "architecture": "{architecture}"},
        ),
    wildcard_constraints:
        architecture="|".join(sorted({a for d in config["datasets"] for a in study.architectures(config, d)})),
    params:
        data=lambda w: study.data_params(config, w.dataset),
        layers=study.lots_param(config, "layers"),
        n=study.lots_param(config, "visualise"),
        code=model_code("lots_figure"),
    resources:
        gpu=gpus(1),
    conda:
        CONDA_ENV
    log:
        "logs/figures/{dataset}/{architecture}_lots.log",
    benchmark:
        "results/benchmarks/figures/{dataset}/{architecture}_lots.tsv"
    script:
        "../scripts/lots_figure.py"
