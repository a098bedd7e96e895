from advtransfer.jobs import job
from advtransfer.jobs.zero_shot import soft_labels_job

with job(snakemake):
    soft_labels_job(snakemake.params.data, snakemake.input.zero_shot, snakemake.input.standard,
                    int(snakemake.wildcards.klass), snakemake.output[0])
