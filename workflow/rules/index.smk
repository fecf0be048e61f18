# Raw layout -> one row per usable sequence; every rejected item with its reason.
rule index:
    input:
        raw=lambda wc: raw_input(wc.ds),
    output:
        index=results(layout.INDEX),
        rejects=results(layout.INDEX_REJECTS),
    log:
        logs("index/{ds}"),
    benchmark:
        benchmarks("index/{ds}")
    priority: 20  # everything else waits on the data: prepare it before training anything
    conda:
        "../../envs/semaug.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        dataset=lambda wc: index_settings(wc.ds),
        code=code("semaug.datasets"),
    script:
        "../scripts/index.py"
