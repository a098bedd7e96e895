from advtransfer.jobs import job
from advtransfer.jobs.report import html_table_job

with job(snakemake):
    html_table_job(snakemake.input.table, snakemake.params.caption, snakemake.params.title, snakemake.output[0])
