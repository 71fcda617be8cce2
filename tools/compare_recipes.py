"""Train recipes for a wall-time budget on one data folder and plot AP against minutes.

Training time excludes evaluation (which runs every --val-interval iterations and once at
the budget); each run writes ``<work-dir>/budget_curve.json``. The work is done by
``solov2_plugin.apis.recipes`` (the two recipes) and ``solov2_plugin.apis.budget_training``.

Usage::

    # our recipe, settings measured from data/hela/train, 15 training minutes
    python tools/compare_recipes.py train custom --data-root data/hela --classes nucleus \\
        --budget-min 15 --max-iters 900 --work-dir work_dirs/budget/custom
    # mmdet's SOLOv2-light R18 from scratch, same budget
    python tools/compare_recipes.py train mmdet-light --data-root data/hela \\
        --classes nucleus --budget-min 15 --max-iters 400 --work-dir work_dirs/budget/light
    # the picture
    python tools/compare_recipes.py plot --out docs/results_hela.png --budget-min 15 \\
        ours=work_dirs/budget/custom mmdet-light=work_dirs/budget/light
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from mmengine.config import DictAction

from solov2_plugin.apis.recipes import ABLATIONS

RECIPES = ("custom", "mmdet-light", *sorted(ABLATIONS))


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line (``sys.argv[1:]`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train one recipe for a budget")
    train.add_argument("recipe", choices=RECIPES)
    train.add_argument("--data-root", required=True, help="folder holding train/ and val/")
    train.add_argument("--classes", nargs="+", required=True, help="class names")
    train.add_argument("--budget-min", type=float, required=True, help="training minutes")
    length = train.add_mutually_exclusive_group(required=True)
    length.add_argument("--max-iters", type=int, help="schedule length")
    length.add_argument(
        "--fit-schedule",
        action="store_true",
        help="time a few iterations first and fit the schedule's length to the budget",
    )
    train.add_argument(
        "--val-interval", type=int, help="iterations between evals (default: a tenth of the run)"
    )
    train.add_argument("--work-dir", required=True)
    train.add_argument(
        "--no-analyze", action="store_true", help="custom: keep the config's sizes and levels"
    )
    train.add_argument("--max-size", type=int, default=640, help="custom: input side cap")
    train.add_argument("--cfg-options", nargs="+", action=DictAction, help="config overrides")
    plot = commands.add_parser("plot", help="draw AP against minutes for finished runs")
    plot.add_argument("runs", nargs="+", metavar="LABEL=WORK_DIR")
    plot.add_argument("--out", required=True, help="PNG to write")
    plot.add_argument("--budget-min", type=float, help="draw the budget line")
    plot.add_argument("--title", default="mask AP against training time")
    plot.add_argument("--cpu", action="store_true", help="add a panel against CPU minutes")
    return parser.parse_args(argv)


def train(args: argparse.Namespace) -> int:
    """Train one recipe; print its curve."""
    from solov2_plugin.apis.budget_training import (
        budget_config,
        fitted_max_iters,
        probe_seconds_per_iter,
        train_for_budget,
    )
    from solov2_plugin.apis.recipes import recipe_config

    def build(max_iters: int):
        return recipe_config(
            args.recipe,
            args.data_root,
            args.classes,
            max_iters,
            analyze=not args.no_analyze,
            max_size=args.max_size,
            cfg_options=args.cfg_options,
            work_dir=args.work_dir,
        )

    max_iters = args.max_iters
    if args.fit_schedule:
        seconds = probe_seconds_per_iter(build(1000))
        max_iters = fitted_max_iters(seconds, args.budget_min)
        print(f"{seconds:.2f} s an iteration now: schedule of {max_iters} iterations")
    cfg = build(max_iters)
    budget_config(cfg, args.budget_min, args.val_interval or max(1, max_iters // 10))
    points = train_for_budget(cfg)
    for point in points:
        print(f"iter {point.iteration:5d}  {point.train_minutes:6.2f} min  mask AP {point.ap:.3f}")
    return 0


def plot(args: argparse.Namespace) -> int:
    """Draw the curves of finished runs."""
    from solov2_plugin.apis.budget_plot import plot_curves
    from solov2_plugin.apis.budget_training import CURVE_FILE, read_curve

    curves = {}
    for run in args.runs:
        label, sep, folder = run.partition("=")
        if not sep:
            print(f"error: '{run}' must be LABEL=WORK_DIR", file=sys.stderr)
            return 2
        curves[label] = read_curve(Path(folder) / CURVE_FILE)
    print(plot_curves(curves, args.out, args.title, args.budget_min, with_cpu=args.cpu))
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the chosen command; return the exit status."""
    args = parse_args(argv)
    try:
        return train(args) if args.command == "train" else plot(args)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
