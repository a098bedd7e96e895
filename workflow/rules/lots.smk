# LOTS (method §4) on the standard classifiers: the attempts of paper 2's comparison of FGS, FGV, HC
# and LOTS (advtransfer.jobs.lots). Each classifier's predicted class of every image is computed once
# (rule predictions); the jobs choose their origins and targets from it. The attack "lots" of Table 3
# is an attack like the others (attacks.smk); the comparison table is in tables.smk, the LOTS figure
# in figures.smk. The table of the techniques without a layer (FGS, FGV, HC) is "baselines.csv",
# a name no layer takes (rule lots's {layer}).


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
        data=data_params,
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
        layer=r"(?!baselines\b)[\w.]+",
    group:
        MODEL_GROUP
    conda:
        CONDA_ENV
    resources:
        gpu=gpus(1),
    params:
        data=data_params,
        model_keys=model_keys,
        techniques=["LOTS"],
        layers=one_layer,
        modes=lots_param("modes"),
        n_lots=lots_param("n_lots"),
        limit=lots_param("limit"),
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
        data=data_params,
        model_keys=model_keys,
        techniques=baseline_techniques,
        layers=[],
        modes=lots_param("modes"),
        n_lots=lots_param("n_lots"),
        limit=lots_param("limit"),
        code=model_code("lots_attempts"),
    script:
        "../scripts/lots_attempts.py"
