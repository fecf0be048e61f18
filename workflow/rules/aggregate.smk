# Everything the training jobs measured, gathered: the Table-13-shaped accuracy table per
# dataset (mean ± sd over folds × seeds, Δ vs original, paired test), confusion matrices summed
# over folds × seeds, class distributions per scenario and original-vs-synthetic frame grids.


rule accuracy_table:
    input:
        metrics=[p for ds in DATASETS for p in train_metrics(ds)],
    output:
        md="results/tables/accuracy.md",
        csv="results/tables/accuracy.csv",
        tex="results/tables/accuracy.tex",
        html=report(
            "results/tables/accuracy.html",
            caption="../report/accuracy.rst",
            category="Accuracy",
            labels={"table": "normalized accuracy"},
        ),
    params:
        models={ds: models_for(ds) for ds in DATASETS},
        scenarios=config["scenarios"],
    log:
        "logs/aggregate/accuracy_table.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    localrule: True
    conda:
        "../../envs/semaug.yaml"
    script:
        "../scripts/accuracy_table.py"


rule confusion_figures:
    input:
        metrics=lambda wc: train_metrics(wc.ds, model=wc.model),
    output:
        [
            report(
                f"results/figures/confusion/{{ds}}/{{model}}_{sc}.png",
                caption="../report/confusion.rst",
                category="Confusion matrices",
                subcategory="{ds}",
                labels={"model": "{model}", "scenario": sc},
            )
            for sc in config["scenarios"]
        ],
    params:
        scenarios=config["scenarios"],
    wildcard_constraints:
        model="|".join(map(re.escape, available_models())),
    log:
        "logs/aggregate/confusion_{ds}_{model}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    localrule: True
    conda:
        "../../envs/semaug.yaml"
    script:
        "../scripts/confusion_figures.py"


rule class_distribution:
    input:
        manifests=lambda wc: expand(
            "results/{ds}/fold{k}/train_{sc}.csv", ds=wc.ds, k=fold_ids(), sc=config["scenarios"]
        ),
        folds="results/{ds}/folds.csv",
    output:
        report(
            "results/figures/class_distribution/{ds}.png",
            caption="../report/class_distribution.rst",
            category="Data",
            subcategory="{ds}",
            labels={"dataset": "{ds}", "figure": "class distribution"},
        ),
    params:
        dataset=lambda wc: dataset(wc.ds),
    log:
        "logs/aggregate/class_distribution_{ds}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    localrule: True
    conda:
        "../../envs/semaug.yaml"
    script:
        "../scripts/class_distribution.py"


rule sample_grid:
    input:
        manifest="results/{ds}/fold0/train_{scenario}.csv",
        folds="results/{ds}/folds.csv",
    output:
        report(
            "results/figures/samples/{ds}_{scenario}.png",
            caption="../report/samples.rst",
            category="Synthetic samples",
            subcategory="{ds}",
            labels={"dataset": "{ds}", "scenario": "{scenario}"},
        ),
    wildcard_constraints:
        scenario="|".join(map(re.escape, sample_scenarios())) or "^$",
    log:
        "logs/aggregate/samples_{ds}_{scenario}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    localrule: True
    conda:
        "../../envs/semaug.yaml"
    script:
        "../scripts/sample_grid.py"
