from semaug.figures import delta_forest_file
from semaug.runlog import log_to, snakemake_job

snakemake = snakemake_job(globals(), "delta_figure", ds="ck_demo")
log_to(snakemake.log[0])
delta_forest_file(snakemake.input[0], snakemake.wildcards.ds, snakemake.output[0])
