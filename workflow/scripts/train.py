from advtransfer.jobs import job
from advtransfer.jobs.train import train_job

with job(snakemake):
    train_job(**snakemake.params.job, excluded=snakemake.params.excluded, init_from=snakemake.input.get("base"),
              examples=snakemake.params.examples, model=snakemake.output.model, history=snakemake.output.history,
              code=snakemake.params.code)
