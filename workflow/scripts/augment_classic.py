import torch

from semaug.runlog import log_to
from semaug.synthesis.render import augment_classic_file

log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
synth = snakemake.params.synthesis
augment_classic_file(
    snakemake.params.options, snakemake.input.folds, int(snakemake.wildcards.k),
    snakemake.input.plan, snakemake.output.videos, snakemake.params.clip_dir,
    device="cpu", batch_size=synth["batch_size"], previews=synth["previews"],
    preview_fps=synth["preview_fps"],
)
