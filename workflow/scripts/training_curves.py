from advtransfer.jobs import job
from advtransfer.report import training_curves_job

with job(snakemake):
    training_curves_job(list(snakemake.input), snakemake.params.excluded, snakemake.params.title, snakemake.output[0])
