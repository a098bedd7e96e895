from advtransfer.jobs import job
from advtransfer.jobs.figures import zero_shot_figures_job

p, out = snakemake.params, snakemake.output
with job(snakemake):
    zero_shot_figures_job(p.data, list(snakemake.input), p.title, out.isomap, out.histograms,
                          max_points=p.max_points, seed=p.seed)
