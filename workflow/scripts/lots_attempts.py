from advtransfer.jobs import job
from advtransfer.lots.job import attempts_job

p, w = snakemake.params, snakemake.wildcards
with job(snakemake):
    attempts_job(p.data, snakemake.input.model, {"dataset": w.dataset, "architecture": w.architecture,
                 "defence": w.defence, "seed": int(w.seed)}, p.techniques, p.layers, p.modes, p.n_lots, p.limit,
                 snakemake.output[0], predictions=snakemake.input.predictions, code=p.code)
