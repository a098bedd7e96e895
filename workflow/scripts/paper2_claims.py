from advtransfer.jobs import job
from advtransfer.jobs.report import paper2_claims_job

with job(snakemake):
    paper2_claims_job(snakemake.input.table1, snakemake.params.caption, snakemake.output.csv, snakemake.output.md,
                      snakemake.output.html)
