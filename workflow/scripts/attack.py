from advtransfer.attacks.job import attack_job
from advtransfer.jobs import job

p, out = snakemake.params, snakemake.output
with job(snakemake):
    attack_job(p.data, snakemake.input.model, snakemake.wildcards.attack, p.params, p.n_attack, p.batch_size,
               out.samples, out.images)
