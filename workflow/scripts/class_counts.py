from semaug.runlog import log_to, snakemake_job
from semaug.figures import class_counts_file

snakemake = snakemake_job(globals(), "class_counts", ds="ck_demo", k=0)
log_to(snakemake.log[0])
wc = snakemake.wildcards
class_counts_file(dict(zip(snakemake.params.scenarios, snakemake.input.manifests)),
                  snakemake.output.counts, snakemake.output.figure, fold=int(wc.k),
                  title=f"{wc.ds} fold {wc.k}: training videos per class")
