# One training job per (dataset, architecture, defence, seed, excluded class); "none" = the standard classifier.


rule train:
    input:
        unpack(train_inputs),
    output:
        model=f"{R}/models/{{dataset}}/{{architecture}}/{{defence}}/seed{{seed}}/{{excluded}}/model.pt",
        history=f"{R}/models/{{dataset}}/{{architecture}}/{{defence}}/seed{{seed}}/{{excluded}}/history.csv",
    log:
        "logs/train/{dataset}/{architecture}/{defence}/seed{seed}/{excluded}.log",
    benchmark:
        f"{R}/benchmarks/train/{{dataset}}/{{architecture}}/{{defence}}/seed{{seed}}/{{excluded}}.tsv"
    conda:
        CONDA_ENV
    resources:
        gpu=lambda w: gpus(
            study.recipe(config, w.dataset, w.architecture).get("devices", 1)
        ),
    params:
        job=lambda w: study.train_params(
            config, w.dataset, w.architecture, w.defence, w.seed
        ),
        excluded=lambda w: study.excluded_value(w.excluded),
        examples=example_files,
        code=model_code("train"),
    script:
        "../scripts/train.py"
