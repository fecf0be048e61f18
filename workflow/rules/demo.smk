# The embedded demo: procedural facial-expression sequences rendered into the real CK+ / MUG
# layouts, so that the real loaders (not a side door) read them.


rule render_demo:
    output:
        sentinel="{demo_root}/.semaug_demo.json",
    params:
        dataset=lambda wc: dataset(demo_by_root()[os.path.normpath(wc.demo_root)]),
    wildcard_constraints:
        demo_root="|".join(map(re.escape, demo_by_root())) or "^$",
    log:
        "logs/demo/{demo_root}.log",
    benchmark:
        "results/benchmarks/demo/{demo_root}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../../envs/semaug.yaml"
    script:
        "../scripts/render_demo.py"


rule demo_contact_sheet:
    input:
        sentinel=lambda wc: demo_sentinel(wc.ds),
    output:
        report(
            "results/{ds}/demo_contact_sheet.png",
            caption="../report/demo_contact_sheet.rst",
            category="Data",
            labels={"dataset": "{ds}", "figure": "demo contact sheet"},
        ),
    params:
        dataset=lambda wc: dataset(wc.ds),
    log:
        "logs/demo/{ds}_contact_sheet.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    localrule: True
    conda:
        "../../envs/semaug.yaml"
    script:
        "../scripts/demo_contact_sheet.py"
