from semaug.aggregate import class_recall_file
from semaug.runlog import log_to, snakemake_job

snakemake = snakemake_job(globals(), "class_recall")
log_to(snakemake.log[0])
p, out = snakemake.params, snakemake.output
class_recall_file(snakemake.input.predictions, dict(zip(p.datasets, snakemake.input.folds, strict=True)),
                  dict(zip([(ds, k) for ds in p.datasets for k in p.folds],
                           snakemake.input.class_counts, strict=True)),
                  md=out.md, csv=out.csv, html=out.html)
