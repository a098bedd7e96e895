from advtransfer.jobs import job
from advtransfer.paper import lenet_job

with job(snakemake):
    lenet_job(snakemake.input.lots, snakemake.input.history, snakemake.params.seed, snakemake.input.caption,
              snakemake.output.csv, snakemake.output.md, snakemake.output.html)
