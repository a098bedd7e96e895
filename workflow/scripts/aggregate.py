from advtransfer.jobs import job
from advtransfer.jobs.tables import aggregate_job

out = snakemake.output
with job(snakemake):
    aggregate_job(list(snakemake.input), out.per_class, out.table1, out.table1_md)
