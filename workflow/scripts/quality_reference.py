from semaug.runlog import log_to, snakemake_job
from semaug.synthesis.quality import reference_file

snakemake = snakemake_job(globals(), "quality_reference", ds="ck_demo", k=0)
log_to(snakemake.log[0])
p = snakemake.params
reference_file(snakemake.input.folds, int(snakemake.wildcards.k), snakemake.input.regressor,
               snakemake.output[0], max_videos=p.quality_videos, **p.measures)
