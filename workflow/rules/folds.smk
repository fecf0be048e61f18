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
