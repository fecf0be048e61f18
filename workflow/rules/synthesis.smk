# Per fold: a plan of (source identity, driving video) pairs for the deficit classes, built from
# the fold's training subjects only; the rendered videos of each generator and of classic
# augmentation (one rule for both: the catalog says which module renders a scenario); one
# training manifest per scenario; class counts before/after; and the generators'
# self-reenactment quality on the fold's held-out videos.
rule synthesis_plan:
    input:
        folds=results(layout.FOLDS),
    output:
        plan=results(layout.PLAN),
        targets=results(layout.TARGETS),
    log:
        logs("synthesis/{ds}/fold{k}_plan"),
    benchmark:
        benchmarks("synthesis/{ds}/fold{k}_plan")
    priority: 10  # inputs of training jobs: ready them first
    localrule: True
    conda:
        "../../envs/semaug.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        balance=config["synthesis"]["balance"],
        seed=config["synthesis"]["seed"],
        code=code("semaug.synthesis.plan"),
    script:
        "../scripts/synthesis_plan.py"


rule synthesize:
    input:
        folds=results(layout.FOLDS),
        plan=results(layout.PLAN),
        model=lambda wc: generator_model(wc.ds, wc.k, wc.gen),
    output:
        # clips/{index}.npz|.mp4 beside it are not declared: kept across reruns (resumable)
        videos=results(layout.VIDEOS),
    log:
        logs("synthesis/{ds}/fold{k}_{gen}"),
    benchmark:
        benchmarks("synthesis/{ds}/fold{k}_{gen}")
    priority: 10  # the training jobs wait on these videos
    retries: 1
    conda:
        "../../envs/semaug.yaml"
    # One core for landmark_warp (~1000 frames/s on it): a 2-thread job on a 2-core machine
    # waits until every training job has finished, and its videos gate a quarter of them.
    threads: generator_threads
    resources:
        gpu=lambda wc: int(is_learned(wc.gen)),
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=lambda wc: 120 if is_learned(wc.gen) else 30,
    params:
        options=lambda wc: generator_options(wc.gen),
        device=config["synthesis"]["device"],
        batch_size=config["synthesis"]["batch_size"],
        previews=config["synthesis"]["previews"],
        preview_fps=config["synthesis"]["preview_fps"],
        clip_dir=lambda wc: results(
            layout.SYNTHETIC_CLIPS, ds=wc.ds, k=wc.k, gen=wc.gen
        ),
        code=lambda wc: generator_code(wc.gen, "semaug.synthesis.render"),
    script:
        "../scripts/synthesize.py"


rule manifest:
    input:
        unpack(manifest_inputs),
    output:
        manifest=results(layout.MANIFEST),
    log:
        logs("synthesis/{ds}/fold{k}_manifest_{scenario}"),
    benchmark:
        benchmarks("synthesis/{ds}/fold{k}_manifest_{scenario}")
    priority: 10  # inputs of training jobs: ready them first
    localrule: True
    conda:
        "../../envs/semaug.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=code("semaug.synthesis.manifest"),
    script:
        "../scripts/manifest.py"


rule class_counts:
    input:
        manifests=lambda wc: manifests(wc.ds, wc.k),
    output:
        counts=results(layout.CLASS_COUNTS),
        figure=report(
            results(layout.FOLD_CLASS_FIGURE),
            caption="../report/fold_class_distribution.rst",
            category="Data",
            subcategory="{ds}",
            labels={"dataset": "{ds}", "fold": "{k}", "figure": "class distribution"},
        ),
    log:
        logs("synthesis/{ds}/fold{k}_class_counts"),
    benchmark:
        benchmarks("synthesis/{ds}/fold{k}_class_counts")
    localrule: True
    conda:
        "../../envs/semaug.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        scenarios=lambda wc: scenarios_for(wc.ds),
        code=code("semaug.figures"),
    script:
        "../scripts/class_counts.py"


rule landmark_regressor:
    input:
        folds=results(layout.FOLDS),
    output:
        model=results(layout.REGRESSOR),
        metrics=results(layout.REGRESSOR_METRICS),
    log:
        logs("synthesis/{ds}/fold{k}_landmark_regressor"),
    benchmark:
        benchmarks("synthesis/{ds}/fold{k}_landmark_regressor")
    retries: 1
    conda:
        "../../envs/semaug.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=15,
    params:
        regressor=config["synthesis"]["landmark_regressor"],
        code=code("semaug.synthesis.landmark_regressor", "semaug.generators.classic"),
    script:
        "../scripts/landmark_regressor.py"


rule quality_reference:
    input:
        folds=results(layout.FOLDS),
        regressor=results(layout.REGRESSOR),
    output:
        results(layout.QUALITY_REFERENCE),
    log:
        logs("synthesis/{ds}/fold{k}_quality_reference"),
    benchmark:
        benchmarks("synthesis/{ds}/fold{k}_quality_reference")
    retries: 1
    conda:
        "../../envs/semaug.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=30,
    params:
        quality_videos=config["synthesis"]["quality_videos"],
        measures=semaug_config.quality_measures(config),
        auto_can_use=semaug_config.instrument_installed(config),
        code=code("semaug.synthesis.quality"),
    script:
        "../scripts/quality_reference.py"


rule synthesis_quality:
    input:
        folds=results(layout.FOLDS),
        regressor=results(layout.REGRESSOR),
        videos=results(layout.VIDEOS),
        model=lambda wc: generator_model(wc.ds, wc.k, wc.gen),
        reference=lambda wc: quality_reference(wc.ds, wc.k),
    output:
        quality=results(layout.QUALITY),
        per_class=results(layout.QUALITY_PER_CLASS),
        samples=report(
            results(layout.QUALITY_SAMPLES),
            caption="../report/synthesis_samples.rst",
            category="Synthetic samples",
            subcategory="{ds}",
            labels={"dataset": "{ds}", "fold": "{k}", "generator": "{gen}"},
        ),
    log:
        logs("synthesis/{ds}/fold{k}_{gen}_quality"),
    benchmark:
        benchmarks("synthesis/{ds}/fold{k}_{gen}_quality")
    retries: 1
    conda:
        "../../envs/semaug.yaml"
    threads: generator_threads
    resources:
        gpu=lambda wc: int(is_learned(wc.gen)),
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=lambda wc: 60 if is_learned(wc.gen) else 30,
    params:
        options=lambda wc: generator_options(wc.gen),
        device=config["synthesis"]["device"],
        batch_size=config["synthesis"]["batch_size"],
        quality_videos=config["synthesis"]["quality_videos"],
        sample_frames=config["synthesis"]["sample_frames"],
        measures=semaug_config.quality_measures(config),
        # a rerun trigger only: under `instrument: auto`, installing dlib changes the measure
        auto_can_use=semaug_config.instrument_installed(config),
        code=lambda wc: generator_code(wc.gen, "semaug.synthesis.quality"),
    script:
        "../scripts/synthesis_quality.py"


rule synthesis_quality_table:
    input:
        quality=lambda wc: quality_reports(wc.ds),
    output:
        report(
            results(layout.QUALITY_TABLE),
            caption="../report/synthesis_quality.rst",
            category="Synthetic samples",
            subcategory="{ds}",
            labels={"dataset": "{ds}", "table": "synthetic-video quality"},
        ),
    log:
        logs("synthesis/{ds}/quality_table"),
    benchmark:
        benchmarks("synthesis/{ds}/quality_table")
    localrule: True
    conda:
        "../../envs/semaug.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=code("semaug.synthesis.quality_table"),
    script:
        "../scripts/synthesis_quality_table.py"
