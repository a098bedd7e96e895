from advtransfer.io import log_to
from advtransfer.training import train_job

with log_to(snakemake.log[0]):
    train_job(**snakemake.params.job, excluded=snakemake.params.excluded,
              model=snakemake.output.model, history=snakemake.output.history)
