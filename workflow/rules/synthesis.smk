# Per fold: a plan of (source identity, driving video) pairs for the deficit classes, built from
# the fold's training subjects only; the synthetic videos of each generator and of classic
# augmentation; one training manifest per scenario; class counts before/after; and the
# generators' self-reenactment quality on the fold's held-out videos.


rule synthesis_plan:
    input:
        folds="results/{ds}/folds.csv",
    output:
        plan="results/{ds}/fold{k}/synthesis_plan.csv",
        targets="results/{ds}/fold{k}/synthesis_targets.csv",
    params:
        synthesis=config["synthesis"],
    log:
        "logs/synthesis/{ds}/fold{k}_plan.log",
    benchmark:
        "results/benchmarks/synthesis/{ds}/fold{k}_plan.tsv"
    threads: 1
    priority: 10  # inputs of training jobs: ready them first
    resources:
        mem_mb=500,
        runtime=5,
    localrule: True
    conda:
        "../../envs/semaug.yaml"
    script:
        "../scripts/synthesis_plan.py"


rule synthesize:
    input:
        folds="results/{ds}/folds.csv",
        plan="results/{ds}/fold{k}/synthesis_plan.csv",
        model=lambda wc: generator_model(wc.ds, wc.k, wc.gen),
    output:
        # clips/{index}.npz|.mp4 beside it are not declared: kept across reruns (resumable)
        videos="results/{ds}/fold{k}/synthetic/{gen}/videos.csv",
    params:
        options=lambda wc: generator_options(wc.gen),
        synthesis=config["synthesis"],
        clip_dir=lambda wc: f"results/{wc.ds}/fold{wc.k}/synthetic/{wc.gen}/clips",
    wildcard_constraints:
        gen="|".join(KNOWN_GENERATORS),
    log:
        "logs/synthesis/{ds}/fold{k}_{gen}.log",
    benchmark:
        "results/benchmarks/synthesis/{ds}/fold{k}_{gen}.tsv"
    # One core for landmark_warp (~1000 frames/s on it): a 2-thread job on a 2-core machine
    # waits until every training job has finished, and its videos gate a quarter of them.
    threads: generator_threads
    priority: 10  # the training jobs wait on these videos
    resources:
        gpu=lambda wc: 1 if wc.gen in LEARNED_GENERATORS else 0,
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=lambda wc: 120 if wc.gen in LEARNED_GENERATORS else 30,
    retries: 1
    conda:
        "../../envs/semaug.yaml"
    script:
        "../scripts/synthesize.py"


rule augment_classic:
    input:
        folds="results/{ds}/folds.csv",
        plan="results/{ds}/fold{k}/synthesis_plan.csv",
    output:
        videos="results/{ds}/fold{k}/synthetic/classic/videos.csv",
    params:
        options=config["generators"]["classic"],
        synthesis=config["synthesis"],
        clip_dir=lambda wc: f"results/{wc.ds}/fold{wc.k}/synthetic/classic/clips",
    log:
        "logs/synthesis/{ds}/fold{k}_classic.log",
    benchmark:
        "results/benchmarks/synthesis/{ds}/fold{k}_classic.tsv"
    threads: 1
    priority: 10  # inputs of training jobs: ready them first
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=30,
    retries: 1
    conda:
        "../../envs/semaug.yaml"
    script:
        "../scripts/augment_classic.py"


rule manifest:
    input:
        unpack(manifest_inputs),
    output:
        manifest="results/{ds}/fold{k}/train_{scenario}.csv",
    wildcard_constraints:
        scenario="|".join(SYNTHESIS_BASELINES + KNOWN_GENERATORS),
    log:
        "logs/synthesis/{ds}/fold{k}_manifest_{scenario}.log",
    benchmark:
        "results/benchmarks/synthesis/{ds}/fold{k}_manifest_{scenario}.tsv"
    threads: 1
    priority: 10  # inputs of training jobs: ready them first
    resources:
        mem_mb=500,
        runtime=5,
    localrule: True
    conda:
        "../../envs/semaug.yaml"
    script:
        "../scripts/manifest.py"


rule class_counts:
    input:
        manifests=lambda wc: expand(
            "results/{ds}/fold{k}/train_{sc}.csv", ds=wc.ds, k=wc.k, sc=config["scenarios"]
        ),
    output:
        counts="results/{ds}/fold{k}/class_counts.csv",
        figure=report(
            "results/{ds}/fold{k}/class_distribution.png",
            caption="../report/fold_class_distribution.rst",
            category="Data",
            subcategory="{ds}",
            labels={"dataset": "{ds}", "fold": "{k}", "figure": "class distribution"},
        ),
    params:
        scenarios=config["scenarios"],
    log:
        "logs/synthesis/{ds}/fold{k}_class_counts.log",
    benchmark:
        "results/benchmarks/synthesis/{ds}/fold{k}_class_counts.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    localrule: True
    conda:
        "../../envs/semaug.yaml"
    script:
        "../scripts/class_counts.py"


rule landmark_regressor:
    input:
        folds="results/{ds}/folds.csv",
    output:
        model="results/{ds}/fold{k}/landmark_regressor/model.npz",
        metrics="results/{ds}/fold{k}/landmark_regressor/metrics.json",
    params:
        synthesis=config["synthesis"],
    log:
        "logs/synthesis/{ds}/fold{k}_landmark_regressor.log",
    benchmark:
        "results/benchmarks/synthesis/{ds}/fold{k}_landmark_regressor.tsv"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=15,
    retries: 1
    conda:
        "../../envs/semaug.yaml"
    script:
        "../scripts/landmark_regressor.py"


rule synthesis_quality:
    input:
        folds="results/{ds}/folds.csv",
        regressor="results/{ds}/fold{k}/landmark_regressor/model.npz",
        videos="results/{ds}/fold{k}/synthetic/{gen}/videos.csv",
        model=lambda wc: generator_model(wc.ds, wc.k, wc.gen),
    output:
        quality="results/{ds}/fold{k}/synthetic/{gen}/quality.json",
        samples=report(
            "results/{ds}/fold{k}/synthetic/{gen}/samples.png",
            caption="../report/synthesis_samples.rst",
            category="Synthetic samples",
            subcategory="{ds}",
            labels={"dataset": "{ds}", "fold": "{k}", "generator": "{gen}"},
        ),
    params:
        options=lambda wc: generator_options(wc.gen),
        synthesis=config["synthesis"],
    wildcard_constraints:
        gen="|".join(KNOWN_GENERATORS),
    log:
        "logs/synthesis/{ds}/fold{k}_{gen}_quality.log",
    benchmark:
        "results/benchmarks/synthesis/{ds}/fold{k}_{gen}_quality.tsv"
    threads: generator_threads
    resources:
        gpu=lambda wc: 1 if wc.gen in LEARNED_GENERATORS else 0,
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=lambda wc: 60 if wc.gen in LEARNED_GENERATORS else 15,
    retries: 1
    conda:
        "../../envs/semaug.yaml"
    script:
        "../scripts/synthesis_quality.py"
