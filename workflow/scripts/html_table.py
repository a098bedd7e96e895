from advtransfer.jobs import job
from advtransfer.report import html_table_job

with job(snakemake):
    html_table_job(snakemake.input.table, snakemake.input.caption, snakemake.params.title, snakemake.output[0])
