from advtransfer.correlation import table3_job
from advtransfer.jobs import job

with job(snakemake):
    figures = {tuple(key): path for key, path in zip(snakemake.params.figure_keys, snakemake.output.figures)}
    table3_job(snakemake.input.attacks, snakemake.input.metrics, snakemake.output.table3,
               snakemake.output.table3_md, figures)
