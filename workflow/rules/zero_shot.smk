# Raw Zero-Shot stage (method §1): soft-labels on Eᵢ, DBMᵢ and AMᵢ per classifier (advtransfer.jobs.zero_shot).


rule soft_labels:
    input:
        zero_shot=trained("model"),
        standard=trained("model", standard=True),
    output:
        f"{R}/soft_labels/{{dataset}}/{{architecture}}/{{defence}}/seed{{seed}}/{{klass}}.npz",
    log:
        "logs/soft_labels/{dataset}/{architecture}/{defence}/seed{seed}/{klass}.log",
    benchmark:
        f"{R}/benchmarks/soft_labels/{{dataset}}/{{architecture}}/{{defence}}/seed{{seed}}/{{klass}}.tsv"
    group:
        MODEL_GROUP
    conda:
        CONDA_ENV
    resources:
        gpu=gpus(1),
    params:
        data=data_params,
        code=model_code("soft_labels"),
    script:
        "../scripts/soft_labels.py"


rule metrics:
    input:
        soft_labels=rules.soft_labels.output[0],
        zero_shot_history=trained("history"),
        standard_history=trained("history", standard=True),
    output:
        f"{R}/metrics/{{dataset}}/{{architecture}}/{{defence}}/seed{{seed}}/{{klass}}.csv",
    log:
        "logs/metrics/{dataset}/{architecture}/{defence}/seed{seed}/{klass}.log",
    benchmark:
        f"{R}/benchmarks/metrics/{{dataset}}/{{architecture}}/{{defence}}/seed{{seed}}/{{klass}}.tsv"
    group:
        MODEL_GROUP
    conda:
        CONDA_ENV
    params:
        classifier=class_keys,
        code=code("metrics"),
    script:
        "../scripts/metrics.py"
