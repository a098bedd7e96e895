from advtransfer.jobs import job
from advtransfer.jobs.attack import attack_job

p, out = snakemake.params, snakemake.output
with job(snakemake):
    attack_job(p.data, snakemake.input.model, snakemake.wildcards.attack, p.params, p.n_attack, p.batch_size,
               out.samples, out.images)
