from advtransfer.jobs import job
from advtransfer.jobs.report import lenet_job

with job(snakemake):
    lenet_job(list(snakemake.input.attempts), snakemake.input.history, snakemake.params.caption,
              snakemake.output.csv, snakemake.output.md, snakemake.output.html, snakemake.params.model)
