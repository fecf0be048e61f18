# One classifier training job per (dataset, fold, model, scenario, seed): trains on the fold's
# manifest for the scenario, tests on the fold's held-out videos. GPU jobs (gpu=1):
# `--resources gpu=1` runs them one at a time. A killed job resumes from `resume.pt` in its
# output directory.


rule train:
    input:
        manifest="results/{ds}/fold{k}/train_{scenario}.csv",
        folds="results/{ds}/folds.csv",
    output:
        model="results/{ds}/fold{k}/{model}/{scenario}/seed{s}/model.pt",
        history="results/{ds}/fold{k}/{model}/{scenario}/seed{s}/history.csv",
        predictions="results/{ds}/fold{k}/{model}/{scenario}/seed{s}/predictions.csv",
        metrics="results/{ds}/fold{k}/{model}/{scenario}/seed{s}/metrics.json",
    params:
        dataset=lambda wc: dataset(wc.ds),
        train=config["train"],
    wildcard_constraints:
        model="|".join(map(re.escape, available_models())),
        scenario=r"[A-Za-z0-9_-]+",
    log:
        "logs/train/{ds}/fold{k}/{model}_{scenario}_seed{s}.log",
    benchmark:
        "results/benchmarks/train/{ds}/fold{k}_{model}_{scenario}_seed{s}.tsv"
    threads: config["train"]["threads"]
    resources:
        gpu=train_gpu(),  # 1 unless `train.gpu` says otherwise
        mem_mb=lambda wc, attempt: 8000 * attempt,
        runtime=lambda wc, attempt: (20 + 2 * config["train"]["epochs"]) * attempt,
    retries: 1
    conda:
        "../../envs/semaug.yaml"
    script:
        "../scripts/train.py"
