from semaug.figures import class_delta_file
from semaug.runlog import log_to, snakemake_job

snakemake = snakemake_job(globals(), "class_delta_figure", ds="ck_demo")
log_to(snakemake.log[0])
class_delta_file(snakemake.input[0], snakemake.wildcards.ds, snakemake.output[0])
