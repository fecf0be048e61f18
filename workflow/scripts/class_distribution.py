from semaug.figures import class_distribution_file
from semaug.runlog import log_to, snakemake_job

snakemake = snakemake_job(globals(), "class_distribution", ds="ck_demo")
log_to(snakemake.log[0])
class_distribution_file(snakemake.input.manifests, snakemake.input.folds, snakemake.params.dataset,
                        snakemake.output[0],
                        title=f"{snakemake.wildcards.ds}: training videos per class")
