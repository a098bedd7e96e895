from advtransfer.jobs import job
from advtransfer.lots.visualise import figure_job

p = snakemake.params
with job(snakemake):
    figure_job(p.data, snakemake.input.model, p.layers, p.n, snakemake.output[0])
