from semaug.runlog import log_to
from semaug.demo import contact_sheet

log_to(snakemake.log[0])
ds = snakemake.params.dataset
contact_sheet(ds["format"], ds["root"], snakemake.output[0])
