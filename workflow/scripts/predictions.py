from advtransfer.jobs import job
from advtransfer.jobs.lots import predictions_job

with job(snakemake):
    predictions_job(snakemake.params.data, snakemake.input.model, snakemake.output[0])
