import torch

from semaug.runlog import log_to
from semaug.synthesis.render import synthesize_file

log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
synth = snakemake.params.synthesis
synthesize_file(
    snakemake.wildcards.gen, snakemake.params.options, snakemake.input.folds,
    int(snakemake.wildcards.k), snakemake.input.plan, snakemake.output.videos,
    snakemake.params.clip_dir, checkpoint=(snakemake.input.model or [None])[0],
    device=synth["device"], batch_size=synth["batch_size"], previews=synth["previews"],
    preview_fps=synth["preview_fps"],
)
