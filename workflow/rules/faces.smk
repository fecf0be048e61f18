# Aligned face crops + landmarks per video, cached as clips. Videos are spread over
# `faces.shards` jobs (not one job per video) so a cluster is not flooded; each shard skips
# clips already written, so a killed job resumes where it stopped.


rule crop_faces:
    input:
        index="results/{ds}/index.csv",
    output:
        table="results/{ds}/faces/shard{shard}.csv",
        rejects="results/{ds}/faces/shard{shard}_rejects.csv",
    params:
        dataset=lambda wc: dataset(wc.ds),
        faces=config["faces"],
        n_shards=config["faces"]["shards"],
        clip_dir=lambda wc: f"results/{wc.ds}/faces/clips",
    log:
        "logs/faces/{ds}_shard{shard}.log",
    benchmark:
        "results/benchmarks/faces/{ds}_shard{shard}.tsv"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=120,
        gpu=lambda wc: 1 if dataset(wc.ds)["landmarks"] == "face_alignment" else 0,
    retries: 1
    conda:
        "../../envs/semaug.yaml"
    script:
        "../scripts/crop_faces.py"


rule faces_table:
    input:
        shards=lambda wc: face_shards(wc.ds),
    output:
        table="results/{ds}/faces.csv",
        rejects="results/{ds}/faces_rejects.csv",
    log:
        "logs/faces/{ds}_table.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    localrule: True
    conda:
        "../../envs/semaug.yaml"
    script:
        "../scripts/faces_table.py"
