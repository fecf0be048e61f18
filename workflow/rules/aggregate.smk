# Everything the training jobs measured, gathered: the Table-13-shaped accuracy table per
# dataset (mean ± sd over folds × seeds, Δ vs original, paired test), confusion matrices summed
# over folds × seeds, class distributions per scenario and original-vs-synthetic frame grids.
rule accuracy_table:
    input:
        metrics=[p for ds in DATASETS for p in train_metrics(ds)],
    output:
        md=results(layout.ACCURACY_TABLE, ext="md"),
        csv=results(layout.ACCURACY_TABLE, ext="csv"),
        tex=results(layout.ACCURACY_TABLE, ext="tex"),
        html=report(
            results(layout.ACCURACY_TABLE, ext="html"),
            caption="../report/accuracy.rst",
            category="Accuracy",
            labels={"table": "normalized accuracy"},
        ),
    log:
        logs("aggregate/accuracy_table"),
    benchmark:
        benchmarks("aggregate/accuracy_table")
    localrule: True
    conda:
        "../../envs/semaug.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        models={ds: models_for(ds) for ds in DATASETS},
        scenarios=list(SCENARIOS),
        code=code("semaug.aggregate"),
    script:
        "../scripts/accuracy_table.py"


rule confusion_figures:
    input:
        metrics=lambda wc: train_metrics(wc.ds, model=wc.model, scenario=wc.scenario),
    output:
        report(
            results(layout.CONFUSION_FIGURE),
            caption="../report/confusion.rst",
            category="Confusion matrices",
            subcategory="{ds}",
            labels={"model": "{model}", "scenario": "{scenario}"},
        ),
    log:
        logs("aggregate/confusion_{ds}_{model}_{scenario}"),
    benchmark:
        benchmarks("aggregate/confusion_{ds}_{model}_{scenario}")
    localrule: True
    conda:
        "../../envs/semaug.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        code=code("semaug.figures"),
    script:
        "../scripts/confusion_figures.py"


rule class_distribution:
    input:
        manifests=lambda wc: [m for k in fold_ids() for m in manifests(wc.ds, k)],
        folds=results(layout.FOLDS),
    output:
        report(
            results(layout.CLASS_DISTRIBUTION_FIGURE),
            caption="../report/class_distribution.rst",
            category="Data",
            subcategory="{ds}",
            labels={"dataset": "{ds}", "figure": "class distribution"},
        ),
    log:
        logs("aggregate/class_distribution_{ds}"),
    benchmark:
        benchmarks("aggregate/class_distribution_{ds}")
    localrule: True
    conda:
        "../../envs/semaug.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        dataset=lambda wc: train_dataset(wc.ds),
        code=code("semaug.figures"),
    script:
        "../scripts/class_distribution.py"


rule sample_grid:
    input:
        manifest=lambda wc: results(
            layout.MANIFEST, ds=wc.ds, k=0, scenario=wc.scenario
        ),
        folds=results(layout.FOLDS),
    output:
        report(
            results(layout.SAMPLES_FIGURE),
            caption="../report/samples.rst",
            category="Synthetic samples",
            subcategory="{ds}",
            labels={"dataset": "{ds}", "scenario": "{scenario}"},
        ),
    log:
        logs("aggregate/samples_{ds}_{scenario}"),
    benchmark:
        benchmarks("aggregate/samples_{ds}_{scenario}")
    wildcard_constraints:
        scenario=_alternatives(rendering_scenarios()),
    localrule: True
    conda:
        "../../envs/semaug.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        code=code("semaug.figures"),
    script:
        "../scripts/sample_grid.py"


rule accuracy_delta:
    input:
        metrics=[p for ds in DATASETS for p in train_metrics(ds)],
        predictions=[p for ds in DATASETS for p in train_predictions(ds)],
        folds=all_folds_tables(),
    output:
        md=results(layout.DELTA_TABLE, ext="md"),
        csv=results(layout.DELTA_TABLE, ext="csv"),
        tex=results(layout.DELTA_TABLE, ext="tex"),
        html=report(
            results(layout.DELTA_TABLE, ext="html"),
            caption="../report/accuracy_delta.rst",
            category="Accuracy",
            labels={"table": "Δ vs original, CI and paired tests"},
        ),
    log:
        logs("aggregate/accuracy_delta"),
    benchmark:
        benchmarks("aggregate/accuracy_delta")
    localrule: True
    conda:
        "../../envs/semaug.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        datasets=list(DATASETS),
        code=code("semaug.aggregate"),
    script:
        "../scripts/accuracy_delta.py"


rule class_recall:
    input:
        predictions=[p for ds in DATASETS for p in train_predictions(ds)],
        folds=all_folds_tables(),
        class_counts=all_class_counts(),
    output:
        md=results(layout.CLASS_RECALL_TABLE, ext="md"),
        csv=results(layout.CLASS_RECALL_TABLE, ext="csv"),
        html=report(
            results(layout.CLASS_RECALL_TABLE, ext="html"),
            caption="../report/class_recall.rst",
            category="Accuracy",
            labels={"table": "recall per class"},
        ),
    log:
        logs("aggregate/class_recall"),
    benchmark:
        benchmarks("aggregate/class_recall")
    localrule: True
    conda:
        "../../envs/semaug.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        datasets=list(DATASETS),
        folds=list(fold_ids()),
        code=code("semaug.aggregate"),
    script:
        "../scripts/class_recall.py"


rule delta_figure:
    input:
        results(layout.DELTA_TABLE, ext="csv"),
    output:
        report(
            results(layout.DELTA_FIGURE),
            caption="../report/delta_forest.rst",
            category="Accuracy",
            subcategory="{ds}",
            labels={"dataset": "{ds}", "figure": "Δ vs original (forest plot)"},
        ),
    log:
        logs("aggregate/delta_figure_{ds}"),
    benchmark:
        benchmarks("aggregate/delta_figure_{ds}")
    localrule: True
    conda:
        "../../envs/semaug.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        code=code("semaug.figures"),
    script:
        "../scripts/delta_figure.py"


rule class_delta_figure:
    input:
        results(layout.CLASS_RECALL_TABLE, ext="csv"),
    output:
        report(
            results(layout.CLASS_DELTA_FIGURE),
            caption="../report/class_recall.rst",
            category="Accuracy",
            subcategory="{ds}",
            labels={"dataset": "{ds}", "figure": "Δ recall vs class size"},
        ),
    log:
        logs("aggregate/class_delta_figure_{ds}"),
    benchmark:
        benchmarks("aggregate/class_delta_figure_{ds}")
    localrule: True
    conda:
        "../../envs/semaug.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        code=code("semaug.figures"),
    script:
        "../scripts/class_delta_figure.py"
