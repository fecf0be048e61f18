# One classifier training job per (dataset, fold, model, scenario, seed): trains on the fold's
# manifest for the scenario, tests on the fold's held-out videos. GPU jobs (gpu=1):
# `--resources gpu=1` runs them one at a time. A killed job resumes from `resume.pt` in its
# output directory. Its params are its own model's settings only, so editing another model's
# `train.by_model` entry (or the dataset's `models` list) reruns none of its jobs.
rule train:
    input:
        manifest=results(layout.MANIFEST),
        folds=results(layout.FOLDS),
    output:
        model=results(layout.TRAIN_MODEL),
        history=results(layout.TRAIN_HISTORY),
        predictions=results(layout.TRAIN_PREDICTIONS),
        metrics=results(layout.TRAIN_METRICS),
    log:
        logs("train/{ds}/fold{k}/{model}_{scenario}_seed{s}"),
    benchmark:
        benchmarks("train/{ds}/fold{k}/{model}_{scenario}_seed{s}")
    retries: 1
    conda:
        "../../envs/semaug.yaml"
    threads: config["train"]["threads"]
    resources:
        gpu=semaug_config.train_gpu(config),  # 1 unless `train.gpu` says otherwise
        mem_mb=lambda wc, attempt: 8000 * attempt,
        runtime=lambda wc, attempt: semaug_config.train_runtime_minutes(
            train_settings(wc.ds, wc.model)
        )
        * attempt,
    params:
        dataset=lambda wc: train_dataset(wc.ds),
        train=lambda wc: train_settings(wc.ds, wc.model),
        code=lambda wc: code("semaug.training", f"semaug.models.{wc.model}"),
    script:
        "../scripts/train.py"
