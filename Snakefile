# semaug: does balancing a small facial-expression video dataset with synthetic videos
# (one face animated with another subject's expression motion) help expression classifiers?
#
#   raw sequences -> index -> aligned face crops -> subject-independent folds
#   -> per fold: synthesis plan -> generator -> synthetic videos -> training manifests
#   -> per (fold, model, scenario, seed): train + evaluate -> tables, figures, report
from snakemake.utils import min_version

min_version("9.0")


# The embedded demo, unless the run brings its own datasets (`--configfile my.yaml`): a user
# config replaces the demo datasets instead of being merged into them.
if "datasets" not in config:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/demo.smk"
include: "workflow/rules/index.smk"
include: "workflow/rules/faces.smk"
include: "workflow/rules/folds.smk"
include: "workflow/rules/synthesis.smk"
include: "workflow/rules/generators.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/aggregate.smk"


rule all:
    input:
        final_outputs(),
