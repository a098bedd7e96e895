# Attacks on the standard classifiers (method §2.6, §3 Table 3): every registered attack, paper 2's
# LOTS included (advtransfer.catalog.ATTACKS).


rule attack:
    input:
        model=trained("model", standard=True),
    output:
        samples=f"{R}/attacks/{{dataset}}/{{architecture}}/{{defence}}/seed{{seed}}/{{attack}}.csv",
        images=f"{R}/attacks/{{dataset}}/{{architecture}}/{{defence}}/seed{{seed}}/{{attack}}_images.npz",
    log:
        "logs/attack/{dataset}/{architecture}/{defence}/seed{seed}/{attack}.log",
    benchmark:
        f"{R}/benchmarks/attack/{{dataset}}/{{architecture}}/{{defence}}/seed{{seed}}/{{attack}}.tsv"
    wildcard_constraints:
        attack="|".join(study.ATTACK_NAMES),
    group:
        MODEL_GROUP
    conda:
        CONDA_ENV
    resources:
        gpu=gpus(1),
    params:
        data=lambda w: study.data_params(config, w.dataset),
        params=lambda w: study.attack_params(config, w.dataset, w.attack),
        n_attack=lambda w: study.attack_setting(config, w.dataset, "n_attack"),
        batch_size=lambda w: study.attack_setting(config, w.dataset, "batch_size"),
        code=model_code("attack"),
    script:
        "../scripts/attack.py"
