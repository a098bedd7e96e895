from advtransfer.jobs import job
from advtransfer.jobs.tables import accuracy_job

with job(snakemake):
    accuracy_job(list(snakemake.input), snakemake.params.classifiers, snakemake.output.csv, snakemake.output.md)
