# Adversarial fine-tuning (method §4.10), stage 1: the adversarial examples of one technique (FGS, FGV,
# HC, or LOTS at one layer) for the training split, made on the vanilla classifier
# (advtransfer.jobs.finetune). Stage 2, the fine-tuning, is the train rule with a fine-tuning defence.


rule adversarial_examples:
    input:
        model=vanilla("train", "model"),
        predictions=vanilla("predictions"),
    output:
        f"{R}/adversarial_examples/{{dataset}}/{{architecture}}/seed{{seed}}/{{excluded}}/{{examples}}.npz",
    log:
        "logs/adversarial_examples/{dataset}/{architecture}/seed{seed}/{excluded}/{examples}.log",
    benchmark:
        f"{R}/benchmarks/adversarial_examples/{{dataset}}/{{architecture}}/seed{{seed}}/{{excluded}}/{{examples}}.tsv"
    wildcard_constraints:
        examples=r"fgs|fgv|hc|lots_[\w.]+",
    conda:
        CONDA_ENV
    resources:
        gpu=gpus(1),
    params:
        data=data_params,
        job=example_params,
        excluded=excluded_param,
        code=model_code("adversarial_examples"),
    script:
        "../scripts/adversarial_examples.py"
