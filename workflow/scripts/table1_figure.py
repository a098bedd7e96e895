from advtransfer.jobs import job
from advtransfer.jobs.figures import table1_figure_job

with job(snakemake):
    table1_figure_job(snakemake.input.per_class, snakemake.input.table1, snakemake.output[0])
