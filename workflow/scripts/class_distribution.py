import re

import pandas as pd

from semaug.figures import plot_class_distribution
from semaug.metrics import class_order
from semaug.runlog import log_to

log_to(snakemake.log[0])
manifests = {}
for path in snakemake.input.manifests:
    m = re.search(r"fold(\d+)/train_(.+)\.csv$", path)
    manifests[(int(m[1]), m[2])] = pd.read_csv(path, dtype={"label": str, "subject": str})
folds = pd.read_csv(snakemake.input.folds, dtype={"label": str, "subject": str})
classes = class_order(snakemake.params.dataset, folds["label"])
plot_class_distribution(manifests, classes, snakemake.output[0],
                        title=f"{snakemake.wildcards.ds}: training videos per class")
