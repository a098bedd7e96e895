# Raw Zero-Shot stage (method §1, §3): soft-labels on Eᵢ, DBMᵢ and AMᵢ, Table 1 and figures.


rule soft_labels:
    input:
        zero_shot=model_path("{dataset}", "{architecture}", "{defence}", "{klass}"),
        standard=model_path("{dataset}", "{architecture}", "{defence}", study.STANDARD),
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
        zero_shot_history=history_path("{dataset}", "{architecture}", "{defence}", "{klass}"),
        standard_history=history_path("{dataset}", "{architecture}", "{defence}", study.STANDARD),
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


rule aggregate:
    input:
        metric_files(),
    output:
        per_class=f"{R}/tables/metrics_per_class.csv",
        table1=f"{R}/tables/table1.csv",
        table1_md=f"{R}/tables/table1.md",
    params:
        code=code("aggregate"),
    conda:
        CONDA_ENV
    log:
        "logs/aggregate/table1.log",
    benchmark:
        "results/benchmarks/aggregate/table1.tsv"
    script:
        "../scripts/aggregate.py"


rule zero_shot_figures:
    input:
        lambda w: [
            f"{R}/soft_labels/{w.dataset}/{w.architecture}/vanilla/{i}.npz"
            for i in study.excluded_classes(config, w.dataset)
        ],
    output:
        isomap=report(
            f"{R}/figures/{{dataset}}/{{architecture}}_isomap.png",
            caption="../report/isomap.rst",
            category="Raw Zero-Shot",
            labels={"figure": "Isomap (Fig 3)", "dataset": "{dataset}", "architecture": "{architecture}"},
        ),
        histograms=report(
            f"{R}/figures/{{dataset}}/{{architecture}}_histograms.png",
            caption="../report/histograms.rst",
            category="Raw Zero-Shot",
            labels={"figure": "Histograms (Fig 4)", "dataset": "{dataset}", "architecture": "{architecture}"},
        ),
    params:
        title=lambda w: f"{w.dataset} / {w.architecture}",
        data=lambda w: study.data_params(config, w.dataset),
        max_points=config.get("figures", {}).get("isomap_max_points", 500),
        seed=config.get("seed", 0),
        code=code("zero_shot_figures"),
    conda:
        CONDA_ENV
    log:
        "logs/figures/{dataset}/{architecture}.log",
    script:
        "../scripts/zero_shot_figures.py"
