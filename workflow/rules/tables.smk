# The tables (method §3, §4), built by advtransfer.tables (the jobs: advtransfer.jobs.tables): Table 1,
# Table 2 (defences), the attacks per class and Table 3, paper 2's LOTS comparison and its Table 1,
# and every classifier's final accuracy.


rule aggregate:
    input:
        outputs(rules.metrics.output[0], grid()),
    output:
        per_class=f"{R}/tables/metrics_per_class.csv",
        table1=f"{R}/tables/table1.csv",
        table1_md=f"{R}/tables/table1.md",
    log:
        "logs/aggregate/table1.log",
    benchmark:
        f"{R}/benchmarks/aggregate.tsv"
    conda:
        CONDA_ENV
    params:
        code=code("aggregate"),
    script:
        "../scripts/aggregate.py"


rule table2:
    input:
        rules.aggregate.output.per_class,
    output:
        table2=f"{R}/tables/table2.csv",
        table2_md=f"{R}/tables/table2.md",
    log:
        "logs/aggregate/table2.log",
    benchmark:
        f"{R}/benchmarks/table2.tsv"
    conda:
        CONDA_ENV
    params:
        code=code("table2"),
    script:
        "../scripts/table2.py"


rule attacks_per_class:
    input:
        outputs(rules.attack.output.samples, attack_rows()),
    output:
        f"{R}/tables/attacks_per_class.csv",
    log:
        "logs/aggregate/attacks_per_class.log",
    benchmark:
        f"{R}/benchmarks/attacks_per_class.tsv"
    conda:
        CONDA_ENV
    params:
        samples=attack_rows(),
        code=code("attacks_per_class"),
    script:
        "../scripts/attacks_per_class.py"


rule table3:
    input:
        attacks=rules.attacks_per_class.output[0],
        metrics=rules.aggregate.output.per_class,
    output:
        table3=f"{R}/tables/table3.csv",
        table3_md=f"{R}/tables/table3.md",
    log:
        "logs/aggregate/table3.log",
    benchmark:
        f"{R}/benchmarks/table3.tsv"
    conda:
        CONDA_ENV
    params:
        code=code("table3"),
    script:
        "../scripts/table3.py"


rule lots_comparison:
    input:
        outputs(rules.lots.output[0], lots_rows()),
    output:
        table=f"{R}/tables/lots_comparison.csv",
        table_md=f"{R}/tables/lots_comparison.md",
    log:
        "logs/aggregate/lots_comparison.log",
    benchmark:
        f"{R}/benchmarks/lots_comparison.tsv"
    conda:
        CONDA_ENV
    params:
        code=code("lots_comparison"),
    script:
        "../scripts/lots_comparison.py"


rule accuracies:
    input:
        outputs(rules.train.output.history, classifier_rows()),
    output:
        csv=f"{R}/tables/accuracies.csv",
        md=f"{R}/tables/accuracies.md",
    log:
        "logs/report/accuracies.log",
    benchmark:
        f"{R}/benchmarks/accuracies.tsv"
    conda:
        CONDA_ENV
    params:
        classifiers=classifier_rows(),
        code=code("accuracies"),
    script:
        "../scripts/accuracies.py"


rule paper2_table1:
    input:
        attempts=outputs(
            rules.lots.output[0],
            [r for r in lots_rows() if r["dataset"] in STUDY.finetuning_datasets],
        ),
        histories=outputs(
            rules.train.output.history,
            [dict(m, excluded=STANDARD) for m in finetuning_models()],
        ),
    output:
        table=f"{R}/tables/paper2_table1.csv",
        table_md=f"{R}/tables/paper2_table1.md",
        seeds=f"{R}/tables/paper2_seeds.csv",
        seeds_md=f"{R}/tables/paper2_seeds.md",
    log:
        "logs/aggregate/paper2_table1.log",
    benchmark:
        f"{R}/benchmarks/paper2_table1.tsv"
    conda:
        CONDA_ENV
    params:
        models=finetuning_models(),
        code=code("paper2_table1"),
    script:
        "../scripts/paper2_table1.py"
