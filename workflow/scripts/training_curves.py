from advtransfer.jobs import job
from advtransfer.jobs.figures import training_curves_job

with job(snakemake):
    for figure, out in zip(snakemake.params.figures, snakemake.output):
        training_curves_job(figure["histories"], figure["excluded"], figure["title"], out)
