from semaug.runlog import log_to, snakemake_job
from semaug.synthesis.quality import quality_job

snakemake = snakemake_job(globals(), "synthesis_quality", ds="ck_demo", k=0, gen="landmark_warp")
log_to(snakemake.log[0], threads=snakemake.threads)
p = snakemake.params
quality_job(snakemake.wildcards.gen, p.options, snakemake.input.folds, int(snakemake.wildcards.k),
            snakemake.input.regressor, snakemake.input.videos, snakemake.output.quality,
            snakemake.output.samples, checkpoint=(snakemake.input.model or [None])[0],
            device=p.device, max_videos=p.quality_videos, batch_size=p.batch_size,
            sample_frames=p.sample_frames, per_class_csv=snakemake.output.per_class,
            reference=(snakemake.input.reference or [None])[0], **p.measures)
