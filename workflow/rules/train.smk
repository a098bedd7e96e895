# One training job per (dataset, architecture, defence, seed, excluded class); "none" = the standard
# classifier (advtransfer.jobs.train). The model's folder also holds its checkpoints/ and the
# training's Lightning logs/ (CSV, and TensorBoard's when installed); history.csv is the CSV log's.


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
        gpu=recipe_devices,
    params:
        job=train_params,
        excluded=excluded_param,
        examples=example_files,
        code=model_code("train"),
    script:
        "../scripts/train.py"
