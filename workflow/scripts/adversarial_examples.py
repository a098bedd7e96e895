from advtransfer.finetuning import examples_job
from advtransfer.jobs import job

with job(snakemake):
    examples_job(snakemake.params.data, snakemake.input.model, snakemake.params.excluded, **snakemake.params.job,
                 out=snakemake.output[0], code=snakemake.params.code, predictions=snakemake.input.predictions)
