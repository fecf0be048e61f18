from semaug.runlog import log_to, snakemake_job
from semaug.synthesis.plan import plan_file

snakemake = snakemake_job(globals(), "synthesis_plan", ds="ck_demo", k=0)
log_to(snakemake.log[0])
plan_file(snakemake.input.folds, int(snakemake.wildcards.k), snakemake.output.plan,
          snakemake.output.targets, balance=snakemake.params.balance, seed=snakemake.params.seed)
