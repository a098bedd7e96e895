from advtransfer.jobs import job
from advtransfer.jobs.lots import attempts_job

p = snakemake.params
with job(snakemake):
    attempts_job(p.data, snakemake.input.model, p.model_keys, p.techniques, p.layers, p.modes, p.n_lots, p.limit,
                 snakemake.output[0], predictions=snakemake.input.predictions, code=p.code)
