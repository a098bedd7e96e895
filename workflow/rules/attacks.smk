# Attacks on the standard classifiers (method §2.6, §3 Table 3): every registered attack, paper 2's
# LOTS included (advtransfer.catalog.ATTACKS).


rule attack:
    input:
        model=trained("model", standard=True),
    output:
        samples=f"{R}/attacks/{{dataset}}/{{architecture}}/{{defence}}/{{attack}}.csv",
        images=f"{R}/attacks/{{dataset}}/{{architecture}}/{{defence}}/{{attack}}_images.npz",
    params:
        data=lambda w: study.data_params(config, w.dataset),
        params=lambda w: study.attack_params(config, w.dataset, w.attack),
        n_attack=lambda w: study.attack_setting(config, w.dataset, "n_attack"),
        batch_size=lambda w: study.attack_setting(config, w.dataset, "batch_size"),
        code=model_code("attack"),
    wildcard_constraints:
        attack="|".join(study.ATTACK_NAMES),
    resources:
        gpu=gpus(1),
    group:
        MODEL_GROUP
    conda:
        CONDA_ENV
    log:
        "logs/attack/{dataset}/{architecture}/{defence}/{attack}.log",
    benchmark:
        "results/benchmarks/attack/{dataset}/{architecture}/{defence}/{attack}.tsv"
    script:
        "../scripts/attack.py"


rule attacks_per_class:
    input:
        outputs(rules.attack.output.samples, attack_rows()),
    output:
        report(f"{R}/tables/attacks_per_class.csv", category="Attacks", labels={"table": "attacks per class"}),
    params:
        samples=attack_rows(),
        code=code("attacks_per_class"),
    conda:
        CONDA_ENV
    log:
        "logs/aggregate/attacks_per_class.log",
    script:
        "../scripts/attacks_per_class.py"


rule table3:
    input:
        attacks=rules.attacks_per_class.output[0],
        metrics=rules.aggregate.output.per_class,
    output:
        table3=report(f"{R}/tables/table3.csv", category="Attacks", labels={"table": "Table 3"}),
        table3_md=f"{R}/tables/table3.md",
        figures=[
            report(
                f"{R}/figures/{d}/correlation_{attack}.png",
                category="Attacks",
                labels={"figure": "metrics vs Mean L2 (Figs 5, 6)", "dataset": d, "attack": attack},
            )
            for d in attacked_datasets()
            for attack in study.attack_names(config, d)
        ],
    params:
        figure_keys=[[d, attack] for d in attacked_datasets() for attack in study.attack_names(config, d)],
        code=code("table3"),
    conda:
        CONDA_ENV
    log:
        "logs/aggregate/table3.log",
    script:
        "../scripts/table3.py"
