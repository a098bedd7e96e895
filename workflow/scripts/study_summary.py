from advtransfer.jobs import job
from advtransfer.jobs.report import study_job

p = snakemake.params
with job(snakemake):
    study_job(p.preset, p.grid, p.seeds, p.benchmarks, p.caption, snakemake.output.csv,
              snakemake.output.html, provenance_json=snakemake.output.provenance, study_code=p.study_code)
