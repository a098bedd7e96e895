from advtransfer.attacks.job import attack_job
from advtransfer.jobs import job

p = snakemake.params
with job(snakemake):
    attack_job(p.data, snakemake.input.model, snakemake.wildcards.attack, p.params, p.n_attack, p.batch_size,
               snakemake.output[0], images_out=p.images)
