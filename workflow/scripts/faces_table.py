from semaug.runlog import log_to
from semaug.faces import merge_shards

log_to(snakemake.log[0])
merge_shards(snakemake.input.shards, snakemake.output.table, snakemake.output.rejects)
