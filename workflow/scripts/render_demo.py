from semaug.runlog import log_to
from semaug.demo import render_dataset

log_to(snakemake.log[0])
ds = snakemake.params.dataset
render_dataset(ds["format"], ds["root"], sentinel=snakemake.output.sentinel, **ds["demo"])
