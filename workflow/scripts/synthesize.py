from semaug.runlog import log_to, snakemake_job
from semaug.synthesis.render import synthesize_file

snakemake = snakemake_job(globals(), "synthesize", ds="ck_demo", k=0, gen="landmark_warp")
log_to(snakemake.log[0], threads=snakemake.threads)
p = snakemake.params
synthesize_file(snakemake.wildcards.gen, p.options, snakemake.input.folds,
                int(snakemake.wildcards.k), snakemake.input.plan, snakemake.output.videos,
                p.clip_dir, checkpoint=(snakemake.input.model or [None])[0], device=p.device,
                batch_size=p.batch_size, previews=p.previews, preview_fps=p.preview_fps,
                code=p.code)
