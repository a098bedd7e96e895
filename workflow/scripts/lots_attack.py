from advtransfer.jobs import job
from advtransfer.lots.job import attack_job

p = snakemake.params
with job(snakemake):
    attack_job(p.data, snakemake.input.model, p.layer, p.n_attack, p.limit, snakemake.output[0])
