from semaug.runlog import log_to
from semaug.synthesis.plan import plan_file

log_to(snakemake.log[0])
plan_file(
    snakemake.input.folds, int(snakemake.wildcards.k), snakemake.output.plan,
    snakemake.output.targets, balance=snakemake.params.synthesis["balance"],
    seed=snakemake.params.synthesis["seed"],
)
