from advtransfer.jobs import job
from advtransfer.jobs.finetune import examples_job

with job(snakemake):
    examples_job(snakemake.params.data, snakemake.input.model, snakemake.params.excluded, **snakemake.params.job,
                 out=snakemake.output[0], code=snakemake.params.code, predictions=snakemake.input.predictions)
