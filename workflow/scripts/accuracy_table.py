from semaug.aggregate import aggregate
from semaug.runlog import log_to

log = log_to(snakemake.log[0])
out = snakemake.output
summary = aggregate(
    snakemake.input.metrics, md=out.md, csv=out.csv, tex=out.tex, html=out.html,
    models=snakemake.params.models, scenarios=snakemake.params.scenarios,
)
log.info("accuracy table over %d cells written to %s", len(summary), out.md)
