from advtransfer.jobs import job
from advtransfer.jobs.report import paper2_table1_page_job

with job(snakemake):
    paper2_table1_page_job(snakemake.input.table, snakemake.input.seeds, snakemake.params.caption, snakemake.output[0])
