# Learned generators (monkeynet; fomm = the same model with first-order Jacobians), trained per
# fold on the fold's training subjects only: frame pairs (source, driving) of one training video
# are reconstructed from the source frame and the keypoints of both. GPU jobs (`--resources
# gpu=1` runs them one at a time); a killed job resumes from `resume.pt` beside `model.pt`.


rule train_generator:
    input:
        folds="results/{ds}/folds.csv",
    output:
        model="results/{ds}/fold{k}/generators/{gen}/model.pt",
        losses="results/{ds}/fold{k}/generators/{gen}/losses.csv",
        plot=report(
            "results/{ds}/fold{k}/generators/{gen}/losses.png",
            caption="../report/generator_losses.rst",
            category="Generators",
            labels={"dataset": "{ds}", "fold": "{k}", "generator": "{gen}"},
        ),
    params:
        options=lambda wc: generator_options(wc.gen),
    wildcard_constraints:
        gen="|".join(LEARNED_GENERATORS),
    log:
        "logs/generators/{ds}/fold{k}_{gen}.log",
    benchmark:
        "results/benchmarks/generators/{ds}/fold{k}_{gen}.tsv"
    threads: lambda wc: generator_options(wc.gen)["threads"]
    resources:
        gpu=1,
        mem_mb=lambda wc, attempt: 6000 * attempt,
        runtime=lambda wc, attempt: generator_runtime_minutes(wc.gen) * attempt,
    retries: 1
    conda:
        "../../envs/semaug.yaml"
    script:
        "../scripts/train_generator.py"
