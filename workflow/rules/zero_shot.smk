# Raw Zero-Shot stage (method §1): soft-labels on Eᵢ, DBMᵢ and AMᵢ per classifier (advtransfer.zero_shot).


rule soft_labels:
    input:
        zero_shot=trained("model"),
        standard=trained("model", standard=True),
    output:
        f"{R}/soft_labels/{{dataset}}/{{architecture}}/{{defence}}/{{klass}}.npz",
    params:
        data=lambda w: study.data_params(config, w.dataset),
        code=model_code("soft_labels"),
    resources:
        gpu=gpus(1),
    group:
        MODEL_GROUP
    conda:
        CONDA_ENV
    log:
        "logs/soft_labels/{dataset}/{architecture}/{defence}/{klass}.log",
    benchmark:
        "results/benchmarks/soft_labels/{dataset}/{architecture}/{defence}/{klass}.tsv"
    script:
        "../scripts/soft_labels.py"


rule metrics:
    input:
        soft_labels=rules.soft_labels.output[0],
        zero_shot_history=trained("history"),
        standard_history=trained("history", standard=True),
    output:
        f"{R}/metrics/{{dataset}}/{{architecture}}/{{defence}}/{{klass}}.csv",
    params:
        code=code("metrics"),
    group:
        MODEL_GROUP
    conda:
        CONDA_ENV
    log:
        "logs/metrics/{dataset}/{architecture}/{defence}/{klass}.log",
    benchmark:
        "results/benchmarks/metrics/{dataset}/{architecture}/{defence}/{klass}.tsv"
    script:
        "../scripts/metrics.py"
