from advtransfer.jobs import job
from advtransfer.zero_shot import aggregate_job

with job(snakemake):
    aggregate_job(list(snakemake.input), snakemake.output.per_class, snakemake.output.table1,
                  snakemake.output.table1_md)
