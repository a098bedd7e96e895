from advtransfer.jobs import job
from advtransfer.paper import lenet_job

with job(snakemake):
    lenet_job(list(snakemake.input.attempts), snakemake.input.history, snakemake.input.caption,
              snakemake.output.csv, snakemake.output.md, snakemake.output.html)
