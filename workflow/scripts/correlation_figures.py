from advtransfer.jobs import job
from advtransfer.jobs.figures import correlation_figures_job

inp = snakemake.input
with job(snakemake):
    figures = {tuple(key): path for key, path in zip(snakemake.params.figure_keys, snakemake.output)}
    correlation_figures_job(inp.attacks, inp.metrics, inp.table3, figures)
