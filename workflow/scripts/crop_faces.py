from semaug.faces import crop_shard_file
from semaug.runlog import log_to, snakemake_job

snakemake = snakemake_job(globals(), "crop_faces", ds="ck_demo", shard=0)
log_to(snakemake.log[0])
faces = snakemake.params.faces
crop_shard_file(snakemake.input.index, snakemake.output.table, snakemake.output.rejects,
                shard=int(snakemake.wildcards.shard), n_shards=faces["shards"],
                clip_dir=snakemake.params.clip_dir, backend=snakemake.params.landmarks,
                size=faces["size"], max_missing=faces["max_missing"], device=faces["device"],
                batch_size=faces["batch_size"], preview_fps=faces["preview_fps"],
                dlib_options=faces["dlib"], code=snakemake.params.code)
