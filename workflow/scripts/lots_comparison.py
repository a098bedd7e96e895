from advtransfer.jobs import job
from advtransfer.jobs.tables import lots_comparison_job

with job(snakemake):
    lots_comparison_job(list(snakemake.input), snakemake.output.table, snakemake.output.table_md)
