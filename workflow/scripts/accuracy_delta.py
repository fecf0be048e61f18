from semaug.aggregate import delta_table_file
from semaug.runlog import log_to, snakemake_job

snakemake = snakemake_job(globals(), "accuracy_delta")
log_to(snakemake.log[0])
out = snakemake.output
delta_table_file(snakemake.input.metrics, snakemake.input.predictions,
                 dict(zip(snakemake.params.datasets, snakemake.input.folds, strict=True)),
                 md=out.md, csv=out.csv, html=out.html, tex=out.tex)
