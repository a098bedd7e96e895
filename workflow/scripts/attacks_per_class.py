from advtransfer.jobs import job
from advtransfer.jobs.tables import attacks_per_class_job

with job(snakemake):
    attacks_per_class_job(list(snakemake.input), snakemake.params.samples, snakemake.output[0])
