from advtransfer.jobs import job
from advtransfer.jobs.figures import defence_figures_job

with job(snakemake):
    defence_figures_job(snakemake.input[0], dict(zip(snakemake.params.datasets, snakemake.output)))
