"""How long does Snakemake take to plan the full CK+-sized grid? (`snakemake -n`)

Builds a synthetic CK+-sized setup without rendering a frame: 593 sequences of 123 subjects,
their index / face / fold tables written directly (in stage order, with increasing mtimes, so a
dry run sees them up to date), a config with the study's grid (10 folds x 3 models x 5
scenarios x 3 seeds, plus the learned generator per fold), then times `snakemake -n` on it.
Nothing upstream of the folds is rebuilt, so the dry run plans exactly what a user would run
after cropping: synthesis, generators, 450 training jobs and the aggregation.

    .venv/bin/python benchmarks/dag_scale.py            # best of 3
    .venv/bin/python benchmarks/dag_scale.py --repeat 5 --keep

Prints the wall and CPU seconds of the dry run (and of `snakemake --version`, the fixed cost of
starting Snakemake), and the number of jobs per rule. Target: <= 5 s wall for the dry run.
Works on whatever stages exist: the job table lists the rules the workflow has today.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
OUT = REPO / "benchmarks" / "out" / "dag_scale"

N_VIDEOS, N_SUBJECTS = 593, 123
# CK+'s labelled class shares (anger 45, contempt 18, disgust 59, fear 25, happy 69, sadness 28,
# surprise 83), spread over all 593 sequences
CLASSES = {"anger": 45, "contempt": 18, "disgust": 59, "fear": 25, "happy": 69, "sadness": 28,
           "surprise": 83}
GRID = {
    "folds": 10,
    "seeds": [0, 1, 2],
    "models": ["cnn", "mobilenet", "resnet50"],
    "scenarios": ["original", "oversample", "classic", "landmark_warp", "monkeynet"],
}
DS = "ck"


def videos(seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    labels = rng.choices(list(CLASSES), weights=list(CLASSES.values()), k=N_VIDEOS)
    subjects = [f"S{i:03d}" for i in range(5, 5 + N_SUBJECTS)]
    rows = []
    for i, label in enumerate(labels):
        subject = subjects[i % N_SUBJECTS]  # every subject has 4-5 sequences
        seq = i // N_SUBJECTS + 1
        vid = f"{subject}_{seq:03d}"
        rows.append({"video_id": vid, "subject": subject, "label": label,
                     "n_frames": rng.randint(6, 71), "source": f"cohn-kanade-images/{subject}/{seq:03d}",
                     "landmarks_source": "dataset", "fps": 30.0})
    return rows


def write_csv(path: Path, rows: list[dict], stamp: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = list(rows[0]) if rows else ["item", "reason"]
    lines = [",".join(cols)] + [",".join(str(r[c]) for c in cols) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    os.utime(path, (stamp, stamp))


def build_setup(workdir: Path, shards: int) -> Path:
    """Raw root + index/faces/folds tables + config; returns the config file."""
    if workdir.exists():
        shutil.rmtree(workdir)
    (workdir / "raw_ck").mkdir(parents=True)  # the dataset root only has to exist
    res = workdir / "results" / DS
    rows = videos()
    # one second per stage, all newer than the rule scripts (an output older than its rule's
    # script counts as "code changed" and would be planned again)
    t = time.time() - 5
    write_csv(res / "index.csv", rows, t)
    write_csv(res / "index_rejects.csv", [], t)
    faces = [dict(r, path=f"results/{DS}/faces/clips/{r['video_id']}.npz",
                  preview=f"results/{DS}/faces/clips/{r['video_id']}.mp4", n_missing=0)
             for r in rows]
    for s in range(shards):
        write_csv(res / "faces" / f"shard{s}.csv", faces[s::shards], t + 1)
        write_csv(res / "faces" / f"shard{s}_rejects.csv", [], t + 1)
    write_csv(res / "faces.csv", faces, t + 2)
    write_csv(res / "faces_rejects.csv", [], t + 2)
    subjects = sorted({r["subject"] for r in rows})
    fold_of = {s: i % GRID["folds"] for i, s in enumerate(subjects)}  # the usual CK+ protocol
    write_csv(res / "folds.csv", [dict(r, fold=fold_of[r["subject"]]) for r in faces], t + 3)
    config = {
        "datasets": {DS: {"format": "ckplus", "root": str(workdir / "raw_ck"),
                          "landmarks": "dataset"}},
        "faces": {"shards": shards, "size": 224},  # the study's classifier input (train default)
        **GRID,
    }
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def timed(cmd: list[str]) -> tuple[float, float, subprocess.CompletedProcess]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc


def job_counts(text: str) -> dict[str, int]:
    counts, in_table = {}, False
    for line in text.splitlines():
        if line.startswith("job ") and "count" in line:
            in_table = True
            continue
        if in_table:
            m = re.match(r"^([\w-]+)\s+(\d+)$", line.strip())
            if m:
                counts[m.group(1)] = int(m.group(2))
                if m.group(1) == "total":
                    break
    return counts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="dry runs to time (best is reported)")
    ap.add_argument("--shards", type=int, default=8, help="faces.shards of the synthetic setup")
    ap.add_argument("--workdir", type=Path, default=OUT)
    ap.add_argument("--keep", action="store_true", help="keep the synthetic setup")
    ap.add_argument("--target", type=float, default=5.0, help="seconds; exit 1 when slower")
    args = ap.parse_args()

    config = build_setup(args.workdir, args.shards)
    base = [SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--directory", str(args.workdir),
            "--configfile", str(config)]
    start_wall, start_cpu, _ = min((timed([SNAKEMAKE, "--version"]) for _ in range(2)),
                                   key=lambda r: r[0])
    runs = []
    for _ in range(args.repeat):
        wall, cpu, proc = timed([*base, "-n", "--quiet", "rules"])
        if proc.returncode != 0:
            print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n", file=sys.stderr)
            return 2
        runs.append((wall, cpu, proc))
    wall, cpu, proc = min(runs, key=lambda r: r[0])
    counts = job_counts(proc.stdout + proc.stderr)
    print(f"synthetic CK+: {N_VIDEOS} sequences, {N_SUBJECTS} subjects; grid "
          f"{GRID['folds']} folds x {len(GRID['models'])} models x {len(GRID['scenarios'])} "
          f"scenarios x {len(GRID['seeds'])} seeds")
    print(f"snakemake -n: {wall:.2f} s wall, {cpu:.2f} s CPU (best of {args.repeat}; all: "
          + ", ".join(f"{w:.2f}" for w, _, _ in runs) + " s)")
    print(f"  of which starting Snakemake (`snakemake --version`): {start_wall:.2f} s wall, "
          f"{start_cpu:.2f} s CPU")
    print(f"jobs: {counts.get('total', '?')}")
    for rule, n in counts.items():
        if rule != "total":
            print(f"  {rule:<24}{n:>6}")
    load = os.getloadavg()[0]
    print(f"load average (1 min): {load:.1f} on {os.cpu_count()} CPUs")
    if not args.keep:
        shutil.rmtree(args.workdir)
    return 0 if wall <= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
