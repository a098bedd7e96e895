# Attacks on the standard classifiers (method §2.6, §3 Table 3): every registered attack, paper 2's
# LOTS included (advtransfer.catalog.ATTACKS; the job: advtransfer.jobs.attack).


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
        attack="|".join(ATTACK_NAMES),
    group:
        MODEL_GROUP
    conda:
        CONDA_ENV
    resources:
        gpu=gpus(1),
    params:
        data=data_params,
        params=attack_params,
        n_attack=attack_setting("n_attack"),
        batch_size=attack_setting("batch_size"),
        code=model_code("attack"),
    script:
        "../scripts/attack.py"
