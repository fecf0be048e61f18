# Subject-independent folds, stratified by class: no subject in two folds.


rule folds:
    input:
        faces="results/{ds}/faces.csv",
    output:
        folds="results/{ds}/folds.csv",
    params:
        n_folds=config["folds"],
        seed=config["fold_seed"],
    log:
        "logs/folds/{ds}.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    localrule: True
    conda:
        "../../envs/semaug.yaml"
    script:
        "../scripts/folds.py"
