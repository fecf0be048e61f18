from semaug.datasets import build_index_file
from semaug.runlog import log_to, snakemake_job

snakemake = snakemake_job(globals(), "index", ds="ck_demo")
log_to(snakemake.log[0])
build_index_file(snakemake.params.dataset, snakemake.output.index, snakemake.output.rejects)
