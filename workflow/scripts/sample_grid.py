from semaug.figures import samples_file
from semaug.runlog import log_to, snakemake_job

snakemake = snakemake_job(globals(), "sample_grid", ds="ck_demo", scenario="landmark_warp")
log_to(snakemake.log[0])
wc = snakemake.wildcards
samples_file(snakemake.input.manifest, snakemake.input.folds, snakemake.output[0],
             title=f"{wc.ds} · {wc.scenario} (fold 0): appearance, motion, synthetic frames")
