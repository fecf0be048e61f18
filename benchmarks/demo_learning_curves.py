"""Learning curves of one demo training job: per epoch, training loss/accuracy and the held-out
fold's video-level normalized accuracy, with the job's wall time.

It does what `semaug.training.train_job` does (same model, data, loop, settings via
`semaug.config.train_settings`), plus one evaluation of the test fold after every epoch, so that
the epoch budget in config/config.yaml's `train.by_model` (or a dataset's `train`) can be read off a curve. The
evaluation time is measured apart and left out of "train s".

    PYTHONPATH=src python benchmarks/demo_learning_curves.py --ds ck_demo --model mobilenet \\
        --set image_size=48 frames=3 epochs=20 --csv curves.csv
"""

from __future__ import annotations

import argparse
import json
import time

import pandas as pd
import torch
import yaml

from semaug.config import train_settings
from semaug.metrics import class_order
from semaug.training import TrainConfig, fit, predict
from semaug.training.loop import (
    build_classifier, load_samples, mobilenet_head, prediction_table, score,
)


def parse_settings(items: list[str]) -> dict[str, object]:
    """key=value pairs, values read as YAML (48 → int, all → str)."""
    return {k: yaml.safe_load(v) for k, v in (item.split("=", 1) for item in items)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ds", required=True)
    ap.add_argument("--fold", type=int, default=0)
    ap.add_argument("--model", required=True)
    ap.add_argument("--scenario", default="original")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--config", default="config/config.yaml")
    ap.add_argument("--set", nargs="*", default=[], help="train settings overriding the config's")
    ap.add_argument("--csv", help="append the curve here")
    args = ap.parse_args()

    t_job = time.perf_counter()
    config = yaml.safe_load(open(args.config))
    # the job's own settings (train block, by_model, the dataset's train block), then --set
    cfg = TrainConfig.from_config({**train_settings(config, args.model, args.ds),
                                   **parse_settings(args.set)})
    torch.set_num_threads(1)
    dataset = config["datasets"][args.ds]
    dtypes = {"video_id": str, "subject": str, "label": str}
    folds = pd.read_csv(f"results/{args.ds}/folds.csv", dtype=dtypes)
    train_table = pd.read_csv(f"results/{args.ds}/fold{args.fold}/train_{args.scenario}.csv", dtype=dtypes)
    test_table = folds[folds["fold"] == args.fold]
    classes = class_order(dataset, folds["label"])
    torch.manual_seed(args.seed)
    cpu = torch.device("cpu")
    model = build_classifier(args.model, cfg, len(classes), mobilenet_head(dataset), cpu)
    train = load_samples(train_table, classes, cfg, model, cpu)
    test = load_samples(test_table, classes, cfg, model, cpu)
    rows: list[dict[str, object]] = []
    eval_s = 0.0

    def on_epoch_end(epoch: int, row: dict[str, float]) -> None:
        nonlocal eval_s
        t0 = time.perf_counter()
        frame_probs, video_probs = predict(model, test, cfg)
        p = prediction_table(test, frame_probs, video_probs, classes)
        m = score(model, p, classes)
        eval_s += time.perf_counter() - t0
        rows.append({**row, "test_normalized_accuracy": m["normalized_accuracy"]})
        print(f"epoch {epoch:3d} loss {row['loss']:.3f} train acc {row['accuracy']:.3f} "
              f"test NA {m['normalized_accuracy']:.3f} ({row['seconds']:.1f} s)", flush=True)

    fit(model, train, cfg, seed=args.seed, on_epoch_end=on_epoch_end)
    wall = time.perf_counter() - t_job - eval_s
    chance = 1 / len(classes)
    best = max(r["test_normalized_accuracy"] for r in rows)
    last = rows[-1]["test_normalized_accuracy"]
    print(json.dumps({"ds": args.ds, "model": args.model, "settings": parse_settings(args.set),
                      "train_s_without_eval": round(wall, 1), "last": round(last, 3),
                      "best": round(best, 3), "x_chance_last": round(last / chance, 2)}))
    if args.csv:
        out = pd.DataFrame(rows).assign(ds=args.ds, model=args.model,
                                        settings=" ".join(args.set), wall_s=round(wall, 1))
        out.to_csv(args.csv, mode="a", header=not pd.io.common.file_exists(args.csv), index=False)


if __name__ == "__main__":
    main()
