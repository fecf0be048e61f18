import os

import torch

from semaug.runlog import log_to
from semaug.training import TrainConfig, train_job

log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
wc = snakemake.wildcards
train_job(
    manifest=snakemake.input.manifest,
    folds=snakemake.input.folds,
    fold=int(wc.k),
    model_name=wc.model,
    dataset=snakemake.params.dataset,
    cfg=TrainConfig.from_config(snakemake.params.train, wc.model),
    seed=int(wc.s),
    out_dir=os.path.dirname(snakemake.output.metrics),
)
