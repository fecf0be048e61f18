# Subject-independent folds, stratified by class: no subject in two folds.
rule folds:
    input:
        faces=results(layout.FACES),
    output:
        folds=results(layout.FOLDS),
    log:
        logs("folds/{ds}"),
    benchmark:
        benchmarks("folds/{ds}")
    priority: 20  # everything else waits on the data: prepare it before training anything
    localrule: True
    conda:
        "../../envs/semaug.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        n_folds=config["folds"],
        seed=config["fold_seed"],
        code=code("semaug.folds"),
    script:
        "../scripts/folds.py"
