from advtransfer.jobs import job
from advtransfer.zero_shot import metrics_job

w = snakemake.wildcards
with job(snakemake):
    metrics_job(snakemake.input.soft_labels, snakemake.input.zero_shot_history, snakemake.input.standard_history,
                {"dataset": w.dataset, "architecture": w.architecture, "defence": w.defence,
                 "seed": int(w.seed), "excluded_class": int(w.klass)}, snakemake.output[0])
