from advtransfer.jobs import job
from advtransfer.jobs.tables import table3_job

with job(snakemake):
    table3_job(snakemake.input.attacks, snakemake.input.metrics, snakemake.output.table3, snakemake.output.table3_md)
