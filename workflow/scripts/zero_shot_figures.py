from advtransfer.data import load_dataset
from advtransfer.jobs import job
from advtransfer.figures import figures_job

p = snakemake.params
with job(snakemake):
    names = load_dataset(**p.data).class_names
    figures_job(list(snakemake.input), names, p.title, snakemake.output.isomap, snakemake.output.histograms,
                max_points=p.max_points, seed=p.seed)
