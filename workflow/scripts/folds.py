from semaug.folds import assign_folds_file
from semaug.runlog import log_to, snakemake_job

snakemake = snakemake_job(globals(), "folds", ds="ck_demo")
log_to(snakemake.log[0])
assign_folds_file(snakemake.input.faces, snakemake.output.folds, n_folds=snakemake.params.n_folds,
                  seed=snakemake.params.seed)
