from advtransfer.jobs import job
from advtransfer.jobs.zero_shot import metrics_job

with job(snakemake):
    metrics_job(snakemake.input.soft_labels, snakemake.input.zero_shot_history, snakemake.input.standard_history,
                snakemake.params.classifier, snakemake.output[0])
