import torch

from semaug.runlog import log_to
from semaug.synthesis.landmark_regressor import train_regressor_file

log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
reg = snakemake.params.synthesis["landmark_regressor"]
train_regressor_file(
    snakemake.input.folds, int(snakemake.wildcards.k), snakemake.output.model,
    snakemake.output.metrics, res=reg["resolution"], alpha=reg["alpha"],
    max_frames=reg["max_frames"],
)
