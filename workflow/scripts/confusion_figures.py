from semaug.figures import confusion_figures_file
from semaug.runlog import log_to, snakemake_job

snakemake = snakemake_job(globals(), "confusion_figures", ds="ck_demo", model="cnn", scenario="original")
log_to(snakemake.log[0])
confusion_figures_file(snakemake.input.metrics, [snakemake.wildcards.scenario], list(snakemake.output),
                       title=f"{snakemake.wildcards.ds} · {snakemake.wildcards.model}")
