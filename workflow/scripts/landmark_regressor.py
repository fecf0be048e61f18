from semaug.runlog import log_to, snakemake_job
from semaug.synthesis.landmark_regressor import train_regressor_file

snakemake = snakemake_job(globals(), "landmark_regressor", ds="ck_demo", k=0)
log_to(snakemake.log[0], threads=snakemake.threads)
reg = snakemake.params.regressor
train_regressor_file(snakemake.input.folds, int(snakemake.wildcards.k), snakemake.output.model,
                     snakemake.output.metrics, res=reg["resolution"], alpha=reg["alpha"],
                     max_frames=reg["max_frames"], augment_copies=reg["augment_copies"])
