from advtransfer.jobs import job
from advtransfer.jobs.tables import table2_job

with job(snakemake):
    table2_job(snakemake.input[0], snakemake.output.table2, snakemake.output.table2_md)
