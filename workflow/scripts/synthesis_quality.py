import torch

from semaug.generators import build_generator
from semaug.runlog import log_to
from semaug.synthesis.quality import quality_file

log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
synth = snakemake.params.synthesis
generator = build_generator(
    snakemake.wildcards.gen, snakemake.params.options,
    checkpoint=(snakemake.input.model or [None])[0], device=synth["device"],
)
quality_file(
    generator, snakemake.input.folds, int(snakemake.wildcards.k), snakemake.input.regressor,
    snakemake.input.videos, snakemake.output.quality, snakemake.output.samples,
    max_videos=synth["quality_videos"], batch_size=synth["batch_size"],
    sample_frames=synth["sample_frames"],
)
