from semaug.runlog import log_to
from semaug.synthesis.manifest import class_counts_file

log_to(snakemake.log[0])
class_counts_file(
    dict(zip(snakemake.params.scenarios, snakemake.input.manifests)), snakemake.output.counts,
    snakemake.output.figure,
    title=f"{snakemake.wildcards.ds} fold {snakemake.wildcards.k}: training videos per class",
)
