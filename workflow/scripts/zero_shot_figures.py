from advtransfer.data import load_dataset
from advtransfer.figures import zero_shot_figures_job
from advtransfer.jobs import job

p, out = snakemake.params, snakemake.output
with job(snakemake):
    names = load_dataset(**p.data).class_names
    zero_shot_figures_job(list(snakemake.input), names, p.title, out.isomap, out.histograms,
                          max_points=p.max_points, seed=p.seed)
