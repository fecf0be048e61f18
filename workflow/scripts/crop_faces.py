import pandas as pd

from semaug.runlog import log_to
from semaug.faces import crop_shard

log_to(snakemake.log[0])
faces = snakemake.params.faces
table, rejects = crop_shard(
    pd.read_csv(snakemake.input.index, dtype={"subject": str, "video_id": str}),
    shard=int(snakemake.wildcards.shard),
    n_shards=snakemake.params.n_shards,
    clip_dir=snakemake.params.clip_dir,
    backend=snakemake.params.dataset["landmarks"],
    size=faces["size"],
    max_missing=faces["max_missing"],
    device=faces["device"],
    batch_size=faces["batch_size"],
    preview_fps=faces["preview_fps"],
)
table.to_csv(snakemake.output.table, index=False)
rejects.to_csv(snakemake.output.rejects, index=False)
