# Aligned face crops + landmarks per video, cached as clips. Videos are spread over
# `faces.shards` jobs (not one job per video) so a cluster is not flooded; each shard skips
# clips already written, so a killed job resumes where it stopped.
rule crop_faces:
    input:
        index=results(layout.INDEX),
    output:
        table=results(layout.FACE_SHARD),
        rejects=results(layout.FACE_SHARD_REJECTS),
    log:
        logs("faces/{ds}_shard{shard}"),
    benchmark:
        benchmarks("faces/{ds}_shard{shard}")
    priority: 20  # everything else waits on the data: prepare it before training anything
    retries: 1
    conda:
        "../../envs/semaug.yaml"
    threads: lambda wc: crop_threads(wc.ds)
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=120,
        gpu=lambda wc: 1 if dataset(wc.ds)["landmarks"] == "face_alignment" else 0,
    params:
        landmarks=lambda wc: dataset(wc.ds)["landmarks"],
        faces=config["faces"],
        clip_dir=lambda wc: results(layout.FACE_CLIPS, ds=wc.ds),
        code=code("semaug.faces"),
    script:
        "../scripts/crop_faces.py"


rule faces_table:
    input:
        shards=lambda wc: face_shards(wc.ds),
    output:
        table=results(layout.FACES),
        rejects=results(layout.FACES_REJECTS),
    log:
        logs("faces/{ds}_table"),
    benchmark:
        benchmarks("faces/{ds}_table")
    priority: 20
    localrule: True
    conda:
        "../../envs/semaug.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=code("semaug.faces.crop"),
    script:
        "../scripts/faces_table.py"
