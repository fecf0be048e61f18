from semaug.demo import contact_sheet
from semaug.runlog import log_to, snakemake_job

snakemake = snakemake_job(globals(), "demo_contact_sheet", ds="ck_demo")
log_to(snakemake.log[0])
contact_sheet(snakemake.params.format, snakemake.params.root, snakemake.output[0])
