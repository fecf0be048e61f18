# The embedded demo: procedural facial-expression sequences rendered into the real CK+ / MUG
# layouts, so that the real loaders (not a side door) read them.
rule render_demo:
    output:
        sentinel="{demo_root}/.semaug_demo.json",
    log:
        logs("demo/{demo_root}"),
    benchmark:
        benchmarks("demo/{demo_root}")
    wildcard_constraints:
        demo_root=_alternatives(demo_by_root()),
    priority: 20  # everything else waits on the data: prepare it before training anything
    conda:
        "../../envs/semaug.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        format=lambda wc: demo_of_root(wc.demo_root)["format"],
        demo=lambda wc: demo_of_root(wc.demo_root)["demo"],
        code=code("semaug.demo.dataset"),
    script:
        "../scripts/render_demo.py"


rule demo_contact_sheet:
    input:
        sentinel=lambda wc: demo_sentinel(wc.ds),
    output:
        report(
            results(layout.DEMO_SHEET),
            caption="../report/demo_contact_sheet.rst",
            category="Data",
            labels={"dataset": "{ds}", "figure": "demo contact sheet"},
        ),
    log:
        logs("demo/{ds}_contact_sheet"),
    benchmark:
        benchmarks("demo/{ds}_contact_sheet")
    localrule: True
    conda:
        "../../envs/semaug.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        format=lambda wc: dataset(wc.ds)["format"],
        root=lambda wc: dataset(wc.ds)["root"],
        code=code("semaug.demo.sheet"),
    script:
        "../scripts/demo_contact_sheet.py"
