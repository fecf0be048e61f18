# Learned generators (monkeynet; fomm = the same model with first-order Jacobians), trained per
# fold on the fold's training subjects only, through the training entry point their module
# names in the catalog. GPU jobs (`--resources gpu=1` runs them one at a time); a killed job
# resumes from `resume.pt` beside `model.pt`.
rule train_generator:
    input:
        folds=results(layout.FOLDS),
    output:
        model=results(layout.GENERATOR_MODEL),
        losses=results(layout.GENERATOR_LOSSES),
        plot=report(
            results(layout.GENERATOR_LOSS_PLOT),
            caption="../report/generator_losses.rst",
            category="Generators",
            labels={"dataset": "{ds}", "fold": "{k}", "generator": "{gen}"},
        ),
        samples=report(
            results(layout.GENERATOR_SAMPLES),
            caption="../report/generator_samples.rst",
            category="Generators",
            labels={
                "dataset": "{ds}",
                "fold": "{k}",
                "generator": "{gen}",
                "figure": "samples",
            },
        ),
    log:
        logs("generators/{ds}/fold{k}_{gen}"),
    benchmark:
        benchmarks("generators/{ds}/fold{k}_{gen}")
    wildcard_constraints:
        gen=_alternatives(learned_generators()),
    # the longest chain (generator -> videos -> a training job per model): start it first
    priority: 20
    retries: 1
    conda:
        "../../envs/semaug.yaml"
    threads: generator_threads
    resources:
        gpu=1,
        mem_mb=lambda wc, attempt: 6000 * attempt,
        runtime=lambda wc, attempt: semaug_config.generator_runtime_minutes(
            generator_options(wc.gen)
        )
        * attempt,
    params:
        options=lambda wc: generator_training_options(wc.gen),
        code=lambda wc: generator_code(
            wc.gen, catalog.scenario(wc.gen).train.split(":")[0]
        ),
    script:
        "../scripts/train_generator.py"
