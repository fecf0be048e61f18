from semaug.demo import render_dataset
from semaug.runlog import log_to, snakemake_job

snakemake = snakemake_job(globals(), "render_demo", demo_root="results/demo/ckplus")
log_to(snakemake.log[0])
render_dataset(snakemake.params.format, snakemake.wildcards.demo_root,
               sentinel=snakemake.output.sentinel, **snakemake.params.demo)
