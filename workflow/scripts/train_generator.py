import torch

from semaug.runlog import log_to

log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)

from semaug.generators.monkeynet.train import train_fold  # noqa: E402 - after the log is set up

wc = snakemake.wildcards
train_fold(
    snakemake.input.folds,
    int(wc.k),
    out_dir=snakemake.output.model.rsplit("/", 1)[0],
    options=snakemake.params.options,
    name=wc.gen,
    dataset=wc.ds,
)
