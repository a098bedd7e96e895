from advtransfer.jobs import job
from advtransfer.lots.job import comparison_job

with job(snakemake):
    comparison_job(list(snakemake.input), snakemake.output.table, snakemake.output.table_md)
