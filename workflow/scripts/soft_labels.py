from advtransfer.io import log_to
from advtransfer.zero_shot import soft_labels_job

with log_to(snakemake.log[0]):
    soft_labels_job(snakemake.params.data, snakemake.input.zero_shot, snakemake.input.standard,
                    int(snakemake.wildcards.klass), snakemake.output[0])
