# LOTS (method §4) on the standard classifiers: paper 2's comparison of FGS, FGV, HC and LOTS and the
# LOTS visualisation (the attack "lots" of Table 3 is an attack like the others: attacks.smk). The
# logic lives in advtransfer.lots.job.

ruleorder: lots_baselines > lots


rule lots:
    input:
        model=trained("model", standard=True),
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
        model=trained("model", standard=True),
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
        outputs(rules.lots.output[0], lots_rows()),
    output:
        table=report(f"{R}/tables/lots_comparison.csv", category="LOTS", labels={"table": "FGS, FGV, HC and LOTS"}),
        table_md=f"{R}/tables/lots_comparison.md",
    params:
        code=code("lots_comparison"),
    conda:
        CONDA_ENV
    log:
        "logs/aggregate/lots_comparison.log",
    script:
        "../scripts/lots_comparison.py"


rule lots_figure:
    input:
        model=trained("model", standard=True, defence="vanilla"),
    output:
        report(
            f"{R}/figures/{{dataset}}/{{architecture}}_lots.png",
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
