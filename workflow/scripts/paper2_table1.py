from advtransfer.jobs import job
from advtransfer.jobs.tables import paper2_table1_job

with job(snakemake):
    paper2_table1_job(list(snakemake.input.attempts), list(snakemake.input.histories), snakemake.params.models,
                      snakemake.output.table, snakemake.output.table_md,
                      snakemake.output.seeds, snakemake.output.seeds_md)
