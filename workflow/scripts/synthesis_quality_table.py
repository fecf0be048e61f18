from semaug.runlog import log_to, snakemake_job
from semaug.synthesis.quality_table import comparison_table_file

snakemake = snakemake_job(globals(), "synthesis_quality_table", ds="ck_demo")
log_to(snakemake.log[0])
comparison_table_file(snakemake.input.quality, snakemake.output[0])
