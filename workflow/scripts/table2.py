from advtransfer.jobs import job
from advtransfer.ttests import table2_job

with job(snakemake):
    table2_job(snakemake.input[0], snakemake.output.table2, snakemake.output.table2_md,
               dict(zip(snakemake.params.datasets, snakemake.output.figures)))
