# The embedded demo: procedural facial-expression sequences rendered into the real CK+ / MUG
# layouts, so that the real loaders (not a side door) read them.
rule render_demo:
    output:
        sentinel="{demo_root}/.semaug_demo.json",
    params:
        format=lambda wc: demo_of_root(wc.demo_root)["format"],
        demo=lambda wc: demo_of_root(wc.demo_root)["demo"],
        code=code("semaug.demo.dataset"),
    wildcard_constraints:
        demo_root=_alternatives(demo_by_root()),
    log:
        logs("demo/{demo_root}"),
    benchmark:
        benchmarks("demo/{demo_root}")
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
            results(layout.DEMO_SHEET),
            caption="../report/demo_contact_sheet.rst",
            category="Data",
            labels={"dataset": "{ds}", "figure": "demo contact sheet"},
        ),
    params:
        format=lambda wc: dataset(wc.ds)["format"],
        root=lambda wc: dataset(wc.ds)["root"],
        code=code("semaug.demo.sheet"),
    log:
        logs("demo/{ds}_contact_sheet"),
    benchmark:
        benchmarks("demo/{ds}_contact_sheet")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    localrule: True
    conda:
        "../../envs/semaug.yaml"
    script:
        "../scripts/demo_contact_sheet.py"
