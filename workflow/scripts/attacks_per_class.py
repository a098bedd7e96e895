from advtransfer.attacks.job import attacks_per_class_job
from advtransfer.jobs import job

with job(snakemake):
    attacks_per_class_job(list(snakemake.input), snakemake.params.samples, snakemake.output[0])
