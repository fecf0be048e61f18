from semaug.runlog import log_to, snakemake_job
from semaug.synthesis.manifest import manifest_file

snakemake = snakemake_job(globals(), "manifest", ds="ck_demo", k=0, scenario="original")
log_to(snakemake.log[0])
manifest_file(snakemake.wildcards.scenario, snakemake.input.folds, int(snakemake.wildcards.k),
              snakemake.output.manifest, plan_csv=snakemake.input.get("plan"),
              videos_csv=snakemake.input.get("videos"))
