# Attacks of paper 1 (method §2.6, §3 Table 3) on the standard classifiers.


rule attack:
    input:
        model=model_path("{dataset}", "{architecture}", "{defence}", study.STANDARD),
    output:
        f"{R}/attacks/{{dataset}}/{{architecture}}/{{defence}}/{{attack}}.csv",
    params:
        data=lambda w: study.data_params(config, w.dataset),
        params=lambda w: study.attack_params(config, w.dataset, w.attack),
        n_attack=lambda w: attack_cfg(w.dataset).get("n_attack", 1000),
        batch_size=lambda w: attack_cfg(w.dataset).get("batch_size", 256),
        images=lambda w, output: (
            output[0].replace(".csv", "_images.npz") if attack_cfg(w.dataset).get("save_images", False) else None
        ),
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
        [path for path, _ in attack_samples()],
    output:
        f"{R}/tables/attacks_per_class.csv",
    params:
        samples=[keys for _, keys in attack_samples()],
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
        table3=f"{R}/tables/table3.csv",
        table3_md=f"{R}/tables/table3.md",
        figures=[
            report(
                f"{R}/figures/{d}/correlation_{attack}.png",
                caption="../report/correlation.rst",
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
