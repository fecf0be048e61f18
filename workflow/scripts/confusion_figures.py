from semaug.figures import plot_confusion, summed_confusion
from semaug.runlog import log_to

log_to(snakemake.log[0])
wc = snakemake.wildcards
for scenario, png in zip(snakemake.params.scenarios, snakemake.output):
    paths = [p for p in snakemake.input.metrics if f"/{wc.model}/{scenario}/seed" in p]
    counts, labels = summed_confusion(paths)
    plot_confusion(counts, labels, png,
                   title=f"{wc.ds} · {wc.model} · {scenario}\nvideo level, {len(paths)} runs summed")
