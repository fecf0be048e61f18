import os

from semaug.catalog import train_entry
from semaug.runlog import log_to, snakemake_job

snakemake = snakemake_job(globals(), "train_generator", ds="ck_demo", k=0, gen="monkeynet")
log_to(snakemake.log[0], threads=snakemake.threads)
wc = snakemake.wildcards
train_entry(wc.gen)(snakemake.input.folds, int(wc.k), out_dir=os.path.dirname(snakemake.output.model),
                    options=snakemake.params.options, name=wc.gen, dataset=wc.ds,
                    code=snakemake.params.code)
