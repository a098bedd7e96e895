from advtransfer.jobs import job
from advtransfer.jobs.figures import lots_figure_job

p = snakemake.params
with job(snakemake):
    lots_figure_job(p.data, snakemake.input.model, p.layers, p.n, snakemake.output[0],
                    architecture=snakemake.wildcards.architecture)
