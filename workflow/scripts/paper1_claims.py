from advtransfer.jobs import job
from advtransfer.jobs.report import claims_job

with job(snakemake):
    claims_job({k: snakemake.input.get(k) for k in ("table1", "table2", "table3", "metrics_per_class")},
               snakemake.params.caption, snakemake.params.measures, snakemake.output.csv, snakemake.output.md,
               snakemake.output.html, snakemake.output.tests)
