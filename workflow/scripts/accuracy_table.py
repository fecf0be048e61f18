from semaug.aggregate import aggregate
from semaug.runlog import log_to, snakemake_job

snakemake = snakemake_job(globals(), "accuracy_table")
log_to(snakemake.log[0])
out = snakemake.output
aggregate(snakemake.input.metrics, md=out.md, csv=out.csv, tex=out.tex, html=out.html,
          models=snakemake.params.models, scenarios=snakemake.params.scenarios)
