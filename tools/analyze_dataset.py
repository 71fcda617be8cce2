"""Suggest input size, scale ranges and grids from a split's object sizes.

Usage::

    python tools/analyze_dataset.py SPLIT [--out-dir DIR] [--max-size 640]
        [--base configs/solov2_custom.py] [--min-levels 2] [--cells-per-object 2]

A command line over ``solov2_plugin.analysis``: the split (a seed-format folder
holding images/, labels/, annotations/) is measured (image sizes, objects per
image, object sizes), and ``input_size``, ``scale_ranges`` and ``num_grids``
are suggested by the rule documented in ``solov2_plugin.analysis.level_settings``
and docs/custom_data.md. The report and a ``--cfg-options`` line for
tools/train.py are printed; DIR receives ``suggested_config.py`` (the suggestion
on top of --base) and ``object_sizes.png`` (a histogram of the object sizes
with the levels drawn on it).
"""

import argparse
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

from solov2_plugin.analysis import analyze_split, suggest_settings
from solov2_plugin.analysis.config_overrides import load_config
from solov2_plugin.analysis.report import report_lines
from solov2_plugin.analysis.size_histogram import draw_size_histogram


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("split", help="split folder holding images/, labels/, annotations/")
    parser.add_argument(
        "--out-dir", default="work_dirs/analysis", help="where the config and PNG go"
    )
    parser.add_argument(
        "--max-size",
        type=int,
        default=640,
        help="largest input side for the CPU budget (raised only for small objects)",
    )
    parser.add_argument(
        "--base",
        default="configs/solov2_custom.py",
        help="config the suggestion applies to (its pipelines' resize scale is rewritten)",
    )
    parser.add_argument(
        "--cells-per-object",
        type=float,
        default=2.0,
        help="grid cells a level's typical object spans",
    )
    parser.add_argument(
        "--min-levels",
        type=int,
        default=2,
        help="fewest head levels (4 keeps the whole FPN P2..P5 and mask branch)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Analyse, print, write; return the exit status (2 for a bad input, with why)."""
    args = parse_args(argv)
    try:
        base = load_config(args.base)
        stats = analyze_split(args.split, progress=not args.no_progress)
        settings = suggest_settings(
            stats,
            args.max_size,
            cells_per_object=args.cells_per_object,
            min_levels=args.min_levels,
        )
        options = settings.cfg_options(base)
        options_line = settings.cfg_options_line(base)
        out_dir = Path(args.out_dir)
        base_ref = os.path.relpath(Path(args.base).resolve(), out_dir.resolve())
        config = settings.config_text(base, base_ref)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out_dir.mkdir(parents=True, exist_ok=True)
    config_path = out_dir / "suggested_config.py"
    config_path.write_text(config)
    picture = out_dir / "object_sizes.png"
    draw_size_histogram(stats, settings, picture)
    for line in report_lines(stats, settings, args.max_size):
        print(line)
    if not any(".pipeline." in key for key in options):
        print(
            f"warning: no resize scale in {args.base}'s dataloaders equals its input_size; set "
            f"their Resize scale to ({settings.input_size}, {settings.input_size}) yourself."
        )
    print(f"--cfg-options for {args.base}:")
    print(f"  {options_line}")
    print(f"config: {config_path}")
    print(f"histogram: {picture}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
