from semaug.faces import merge_shards
from semaug.runlog import log_to, snakemake_job

snakemake = snakemake_job(globals(), "faces_table", ds="ck_demo")
log_to(snakemake.log[0])
merge_shards(snakemake.input.shards, snakemake.output.table, snakemake.output.rejects)
