# The figures (method §3, §4), drawn by advtransfer.figures (the jobs: advtransfer.jobs.figures):
# paper 1's Isomap and histograms, the defences' DBM and AM, metrics against Mean L2 (Figs 5, 6),
# paper 2's LOTS visualisation, and the training curves.


rule zero_shot_figures:
    input:
        soft_labels_of_figure,
    output:
        isomap=report(
            f"{R}/figures/{{dataset}}/{{architecture}}_isomap.png",
            caption="../report/isomap.rst",
            category="Raw Zero-Shot",
            labels={
                "figure": "Isomap (Fig 3)",
                "dataset": "{dataset}",
                "architecture": "{architecture}",
            },
        ),
        histograms=report(
            f"{R}/figures/{{dataset}}/{{architecture}}_histograms.png",
            caption="../report/histograms.rst",
            category="Raw Zero-Shot",
            labels={
                "figure": "Histograms (Fig 4)",
                "dataset": "{dataset}",
                "architecture": "{architecture}",
            },
        ),
    log:
        "logs/figures/{dataset}/{architecture}.log",
    benchmark:
        f"{R}/benchmarks/zero_shot_figures/{{dataset}}/{{architecture}}.tsv"
    conda:
        CONDA_ENV
    params:
        title=figure_title,
        data=data_params,
        max_points=STUDY.isomap_max_points,
        seed=FIRST_SEED,
        code=data_code("zero_shot_figures"),
    script:
        "../scripts/zero_shot_figures.py"


rule table1_figure:
    input:
        per_class=rules.aggregate.output.per_class,
        table1=rules.aggregate.output.table1,
    output:
        report(
            f"{R}/figures/table1.png",
            caption="../report/table1_figure.rst",
            category="Raw Zero-Shot",
            labels={"figure": "Table 1: mean, 95% CI and seeds"},
        ),
    log:
        "logs/figures/table1.log",
    benchmark:
        f"{R}/benchmarks/table1_figure.tsv"
    conda:
        CONDA_ENV
    params:
        code=code("table1_figure"),
    script:
        "../scripts/table1_figure.py"


rule defence_figures:
    input:
        rules.aggregate.output.per_class,
    output:
        [
            report(
                f"{R}/figures/{d}/defences.png",
                caption="../report/defences.rst",
                category="Defences",
                labels={"figure": "DBM and AM per defence", "dataset": d},
            )
            for d in STUDY.defended_datasets
        ],
    log:
        "logs/figures/defences.log",
    benchmark:
        f"{R}/benchmarks/defence_figures.tsv"
    conda:
        CONDA_ENV
    params:
        datasets=STUDY.defended_datasets,
        code=code("defence_figures"),
    script:
        "../scripts/defence_figures.py"


rule correlation_figures:
    input:
        attacks=rules.attacks_per_class.output[0],
        metrics=rules.aggregate.output.per_class,
        table3=rules.table3.output.table3,
    output:
        [
            report(
                f"{R}/figures/{d}/correlation_{attack}.png",
                caption="../report/correlation.rst",
                category="Attacks",
                labels={
                    "figure": "metrics vs Mean L2 (Figs 5, 6)",
                    "dataset": d,
                    "attack": attack,
                },
            )
            for d, attack in attack_figures()
        ],
    log:
        "logs/figures/correlation.log",
    benchmark:
        f"{R}/benchmarks/correlation_figures.tsv"
    conda:
        CONDA_ENV
    params:
        figure_keys=attack_figures(),
        code=code("correlation_figures"),
    script:
        "../scripts/correlation_figures.py"


rule lots_figure:
    input:
        model=trained("model", standard=True, defence="vanilla", seed=FIRST_SEED),
    output:
        report(
            f"{R}/figures/{{dataset}}/{{architecture}}_lots.png",
            caption="../report/lots_figure.rst",
            category="LOTS",
            labels={
                "figure": "LOTS visualisation (paper 2 Figs 1, 3)",
                "dataset": "{dataset}",
                "architecture": "{architecture}",
            },
        ),
    log:
        "logs/figures/{dataset}/{architecture}_lots.log",
    benchmark:
        f"{R}/benchmarks/lots_figure/{{dataset}}/{{architecture}}_lots.tsv"
    wildcard_constraints:
        architecture=architectures_pattern(),
    conda:
        CONDA_ENV
    resources:
        gpu=gpus(1),
    params:
        data=data_params,
        layers=lots_param("layers"),
        n=lots_param("visualise"),
        code=model_code("lots_figure"),
    script:
        "../scripts/lots_figure.py"


# One job draws every model's figure (they are small): one submission on a cluster, not one per model.
# The curves are the first seed's (README, "Replicate seeds"), from each classifier's history.csv.
rule training_curves:
    input:
        outputs(rules.train.output.history, classifier_rows(seeds=[FIRST_SEED])),
    output:
        [
            report(
                f"{R}/figures/{m['dataset']}/training/{m['architecture']}/{m['defence']}.png",
                caption="../report/training_curves.rst",
                category="Training",
                labels={"figure": "training curves", **m},
            )
            for m in training_figure_rows()
        ],
    log:
        "logs/report/training_curves.log",
    benchmark:
        f"{R}/benchmarks/training_curves.tsv"
    conda:
        CONDA_ENV
    params:
        figures=[
            {
                "title": f"{m['dataset']} / {m['architecture']} / {m['defence']}",
                "excluded": [STANDARD, *STUDY.datasets[m["dataset"]].excluded_classes],
                "histories": outputs(
                    rules.train.output.history,
                    [
                        dict(m, seed=FIRST_SEED, excluded=e)
                        for e in [
                            STANDARD,
                            *STUDY.datasets[m["dataset"]].excluded_classes,
                        ]
                    ],
                ),
            }
            for m in training_figure_rows()
        ],
        code=code("training_curves"),
    script:
        "../scripts/training_curves.py"
