from advtransfer.data import load_dataset
from advtransfer.io import log_to
from advtransfer.zero_shot import figures_job

p = snakemake.params
with log_to(snakemake.log[0]):
    names = load_dataset(**p.data).class_names
    figures_job(list(snakemake.input), names, p.title, snakemake.output.isomap, snakemake.output.histograms,
                max_points=p.max_points, seed=p.seed)
