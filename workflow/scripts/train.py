import os

from semaug.runlog import log_to, snakemake_job
from semaug.training import train_job_file

snakemake = snakemake_job(globals(), "train", ds="ck_demo", k=0, model="cnn", scenario="original", s=0)
log_to(snakemake.log[0], threads=snakemake.threads)
wc = snakemake.wildcards
train_job_file(manifest=snakemake.input.manifest, folds=snakemake.input.folds, fold=int(wc.k),
               model_name=wc.model, dataset=snakemake.params.dataset,
               settings=snakemake.params.train, seed=int(wc.s),
               out_dir=os.path.dirname(snakemake.output.metrics), code=snakemake.params.code)
