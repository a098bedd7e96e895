from advtransfer.io import log_to
from advtransfer.zero_shot import aggregate_job

with log_to(snakemake.log[0]):
    aggregate_job(list(snakemake.input), snakemake.output.per_class, snakemake.output.table1,
                  snakemake.output.table1_md)
