# LOTS (method §4) on the standard classifiers: the attempts of paper 2's comparison of FGS, FGV, HC
# and LOTS (advtransfer.lots.job). Each classifier's predicted class of every image is computed once
# (rule predictions); the jobs choose their origins and targets from it. The attack "lots" of Table 3
# is an attack like the others (attacks.smk); the comparison table is in tables.smk, the LOTS figure
# in figures.smk.


ruleorder: lots_baselines > lots


rule predictions:
    input:
        model=rules.train.output.model,
    output:
        f"{R}/predictions/{{dataset}}/{{architecture}}/{{defence}}/seed{{seed}}/{{excluded}}.npz",
    log:
        "logs/predictions/{dataset}/{architecture}/{defence}/seed{seed}/{excluded}.log",
    benchmark:
        f"{R}/benchmarks/predictions/{{dataset}}/{{architecture}}/{{defence}}/seed{{seed}}/{{excluded}}.tsv"
    group:
        MODEL_GROUP
    conda:
        CONDA_ENV
    resources:
        gpu=gpus(1),
    params:
        data=lambda w: study.data_params(config, w.dataset),
        code=model_code("predictions"),
    script:
        "../scripts/predictions.py"


rule lots:
    input:
        model=trained("model", standard=True),
        predictions=standard_predictions,
    output:
        f"{R}/lots/{{dataset}}/{{architecture}}/{{defence}}/seed{{seed}}/{{layer}}.csv",
    log:
        "logs/lots/{dataset}/{architecture}/{defence}/seed{seed}/{layer}.log",
    benchmark:
        f"{R}/benchmarks/lots/{{dataset}}/{{architecture}}/{{defence}}/seed{{seed}}/{{layer}}.tsv"
    wildcard_constraints:
        layer=r"[\w.]+",
    group:
        MODEL_GROUP
    conda:
        CONDA_ENV
    resources:
        gpu=gpus(1),
    params:
        data=lambda w: study.data_params(config, w.dataset),
        techniques=["LOTS"],
        layers=lambda w: [w.layer],
        modes=study.lots_param(config, "modes"),
        n_lots=study.lots_param(config, "n_lots"),
        limit=study.lots_param(config, "limit"),
        code=model_code("lots_attempts"),
    script:
        "../scripts/lots_attempts.py"


rule lots_baselines:
    input:
        model=trained("model", standard=True),
        predictions=standard_predictions,
    output:
        f"{R}/lots/{{dataset}}/{{architecture}}/{{defence}}/seed{{seed}}/baselines.csv",
    log:
        "logs/lots/{dataset}/{architecture}/{defence}/seed{seed}/baselines.log",
    benchmark:
        f"{R}/benchmarks/lots_baselines/{{dataset}}/{{architecture}}/{{defence}}/seed{{seed}}/baselines.tsv"
    group:
        MODEL_GROUP
    conda:
        CONDA_ENV
    resources:
        gpu=gpus(1),
    params:
        data=lambda w: study.data_params(config, w.dataset),
        techniques=lambda w: [
            t
            for t in study.lots_params(config, w.dataset, w.architecture)["techniques"]
            if t != "LOTS"
        ],
        layers=[],
        modes=study.lots_param(config, "modes"),
        n_lots=study.lots_param(config, "n_lots"),
        limit=study.lots_param(config, "limit"),
        code=model_code("lots_attempts"),
    script:
        "../scripts/lots_attempts.py"
