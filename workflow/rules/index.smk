# Raw layout -> one row per usable sequence; every rejected item with its reason.


rule index:
    input:
        raw=lambda wc: raw_input(wc.ds),
    output:
        index="results/{ds}/index.csv",
        rejects="results/{ds}/index_rejects.csv",
    params:
        dataset=lambda wc: dataset(wc.ds),
    log:
        "logs/index/{ds}.log",
    benchmark:
        "results/benchmarks/index/{ds}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../../envs/semaug.yaml"
    script:
        "../scripts/index.py"
