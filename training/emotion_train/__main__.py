"""npm run train -- [--config training/configs/<name>.yaml] [--epochs N] [--resume RUN] ...

Exit codes: 0 done, 64 bad usage or config, 65 bad data folder, 70 internal error.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys

from . import config as config_mod
from .data import DataError, load_split
from .progress import Progress

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True, text=True).stdout.strip()
        return out + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def limit(split, per_class: int | None):  # type: ignore[no-untyped-def]
    if not per_class:
        return split
    import numpy as np
    keep = np.concatenate([np.flatnonzero(split.y == c)[:per_class] for c in range(7)])
    split.x, split.y = split.x[keep], split.y[keep]
    split.files = [split.files[i] for i in keep]
    split.manifest["used"] = int(len(keep))
    split.manifest["limitPerClass"] = per_class
    return split


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="npm run train --", description="Train the facial-expression classifier.")
    ap.add_argument("--config", help="YAML config (training/configs/*.yaml); default: built-in defaults")
    ap.add_argument("--epochs", type=int, help="override train.epochs")
    ap.add_argument("--resume", metavar="RUN", help="run id under --out (or a run folder) to continue")
    ap.add_argument("--out", default=os.path.join(REPO, "var", "train"), help="where run folders go (default var/train)")
    ap.add_argument("--run-id", help="name of a new run folder (default <config name>-<UTC time>)")
    ap.add_argument("--train-data", help="override data.train")
    ap.add_argument("--val-data", help="override data.val")
    ap.add_argument("--limit-per-class", type=int, help="override data.limit_per_class (smoke runs)")
    ap.add_argument("--threads", type=int, help="override train.threads")
    ap.add_argument("--precision", choices=config_mod.PRECISIONS,
                    help="override train.precision (bf16: bfloat16 autocast, about 2x faster on CPUs with AMX)")
    ap.add_argument("--teacher", action="append", metavar="RUN",
                    help="distil from this finished run folder or shipped fp32 bundle (repeat for an ensemble); overrides distill.teachers")
    ap.add_argument("--finetune", metavar="RUN",
                    help="start from this finished run folder's best weights, or a shipped fp32 bundle folder's; overrides finetune.from")
    ap.add_argument("--stop-after", type=int, help="stop after this epoch (the run stays resumable)")
    ap.add_argument("--no-export", action="store_true", help="train only; export later with --export-only")
    ap.add_argument("--export-only", action="store_true", help="with --resume: export the run's best checkpoint")
    ap.add_argument("--bundle", help="override export.bundle (folder names <NAME>-fp32/-int8; default emotion-<arch>)")
    ap.add_argument("--bundle-version", help="override export.version (the manifest's semver; remote updates refuse older ones)")
    ap.add_argument("--json", action="store_true", help="JSON-line progress even on a terminal")
    args = ap.parse_args(argv)
    progress = Progress(force_json=args.json)
    try:
        if args.resume:
            run_dir = args.resume if os.path.isdir(args.resume) else os.path.join(args.out, args.resume)
            if not os.path.isfile(os.path.join(run_dir, "config.yaml")):
                raise config_mod.ConfigError(f"--resume: no run folder with a config.yaml at {run_dir}")
            cfg = config_mod.load(os.path.join(run_dir, "config.yaml"))
            if args.epochs is not None and args.epochs != cfg["train"]["epochs"]:
                raise config_mod.ConfigError(
                    f"--epochs {args.epochs}: the run was configured for {cfg['train']['epochs']} epochs and the learning-rate "
                    "schedule depends on it; start a new run (or fine-tune from this one) instead")
            if args.precision and args.precision != cfg["train"]["precision"]:
                raise config_mod.ConfigError(
                    f"--precision {args.precision}: the run trains in {cfg['train']['precision']}, and a resume in "
                    "another precision would not reproduce it; start a new run (or fine-tune from this one) instead")
        else:
            cfg = config_mod.load(args.config)
            if args.epochs is not None:
                cfg["train"]["epochs"] = args.epochs
            if args.train_data:
                cfg["data"]["train"] = args.train_data
            if args.val_data:
                cfg["data"]["val"] = args.val_data
            if args.limit_per_class is not None:
                cfg["data"]["limit_per_class"] = args.limit_per_class
            if args.precision:
                cfg["train"]["precision"] = args.precision
            if args.config:
                cfg["name"] = cfg.get("name") or os.path.splitext(os.path.basename(args.config))[0]
            if args.teacher:
                cfg["distill"]["teachers"] = args.teacher
            # Teachers are checked before the run folder exists, and recorded by absolute path.
            from .distill import resolve_teachers, teacher_info  # torch: loaded only to train
            cfg["distill"]["teachers"] = resolve_teachers(cfg, REPO)
            cfg["distill"]["resolved"] = [teacher_info(t, cfg["preprocess"]) for t in cfg["distill"]["teachers"]]
            if args.finetune:
                cfg["finetune"]["from"] = args.finetune
            if cfg["finetune"]["from"]:
                from .runs import finetune_info, resolve
                cfg["finetune"]["from"] = resolve(cfg["finetune"]["from"], REPO)
                cfg["finetune"]["resolved"] = finetune_info(cfg["finetune"]["from"], cfg)
            run_id = args.run_id or f"{cfg['name']}-{datetime.datetime.utcnow().strftime('%Y%m%d-%H%M%S')}"
            run_dir = os.path.join(args.out, run_id)
            if args.run_id and os.path.exists(run_dir):
                raise config_mod.ConfigError(f"run folder already exists: {run_dir} (use --resume {run_id})")
            # Two runs started in the same second get -2, -3...: a default id never collides.
            n = 1
            while os.path.exists(run_dir):
                n += 1
                run_dir = os.path.join(args.out, f"{run_id}-{n}")
            os.makedirs(run_dir)
            cfg["gitCommit"] = git_commit()
            config_mod.dump(cfg, os.path.join(run_dir, "config.yaml"))
        if args.threads is not None:
            cfg["train"]["threads"] = args.threads
        # Export naming never changes the weights, so it may be overridden on --resume too.
        if args.bundle:
            cfg["export"]["bundle"] = args.bundle
        if args.bundle_version:
            cfg["export"]["version"] = args.bundle_version
        data_cfg = cfg["data"]
        cache = os.path.join(os.path.dirname(os.path.abspath(run_dir)), "cache")
        root = lambda p: p if os.path.isabs(p) else os.path.join(REPO, p)  # noqa: E731
        train_split = limit(load_split("train", root(data_cfg["train"]), cfg["preprocess"], cache, data_cfg["drop_blank"]),
                            data_cfg["limit_per_class"])
        val_split = limit(load_split("val", root(data_cfg["val"]), cfg["preprocess"], cache, False), data_cfg["limit_per_class"])
        manifest = {"seed": cfg["seed"], "train": train_split.manifest, "val": val_split.manifest}
        with open(os.path.join(run_dir, "data-manifest.json"), "w") as f:
            json.dump(manifest, f, indent=2)
        progress.event(event="data", run=os.path.basename(run_dir), train=train_split.manifest["used"],
                       blankDropped=train_split.manifest["blankDropped"], val=val_split.manifest["used"])
        if not args.export_only:
            from .train import train
            best = train(cfg, run_dir, train_split, val_split, progress, stop_after=args.stop_after)
            progress.event(event="trained", run=os.path.basename(run_dir), **best)
            if args.stop_after is not None and args.stop_after < cfg["train"]["epochs"]:
                return 0
        if not args.no_export:
            from .export import export
            out = export(cfg, run_dir, train_split, val_split, progress)
            progress.event(event="exported", **out)
        return 0
    except config_mod.ConfigError as e:
        print(f"train: {e}", file=sys.stderr)
        return 64
    except DataError as e:
        print(f"train: {e}", file=sys.stderr)
        return 65


if __name__ == "__main__":
    sys.exit(main())
