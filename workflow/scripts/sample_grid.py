import pandas as pd

from semaug.figures import plot_samples
from semaug.runlog import log_to

log_to(snakemake.log[0])
dtypes = {"label": str, "subject": str, "driver_subject": str, "video_id": str}
wc = snakemake.wildcards
plot_samples(pd.read_csv(snakemake.input.manifest, dtype=dtypes),
             pd.read_csv(snakemake.input.folds, dtype=dtypes), snakemake.output[0],
             title=f"{wc.ds} · {wc.scenario} (fold 0): appearance, motion, synthetic frames")
