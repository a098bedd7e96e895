from advtransfer.jobs import job
from advtransfer.report import study_job

with job(snakemake):
    study_job(snakemake.params.preset, snakemake.params.grid, snakemake.params.benchmarks, snakemake.input.caption,
              snakemake.output.csv, snakemake.output.html)
