from semaug.runlog import log_to
from semaug.datasets import build_index, write_index

log = log_to(snakemake.log[0])
ds = snakemake.params.dataset
index, rejects = build_index(
    ds["format"],
    ds["root"],
    classes=ds.get("classes"),
    subject_regex=ds["subject_regex"],
    landmarks=ds["landmarks"],
)
write_index(index, rejects, snakemake.output.index, snakemake.output.rejects)
