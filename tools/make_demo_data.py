"""Make the embedded demo data: synthetic instance-segmentation scenes in the seed's format.

Each split is one folder holding ``images/``, ``labels/`` and ``annotations/``;
``classes.json`` beside the splits is the seed-style ``cls_ind`` (``background`` at 0). The
scenes are described in ``solov2_plugin.demo``, which does the work.

Usage::

    python tools/make_demo_data.py                      # writes data/demo/{train,val}
    python tools/make_demo_data.py --out /tmp/demo --num-train 8 --num-val 4 --size 128
"""

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from solov2_plugin.demo import BASE_SIZE, MIN_SIZE, make_demo_data

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "data" / "demo"


def _check_size(value: str) -> int:
    """Parse ``--size``, refusing images too small to hold the objects."""
    size = int(value)
    if size < MIN_SIZE:
        raise argparse.ArgumentTypeError(f"--size must be at least {MIN_SIZE} px, got {size}.")
    return size


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line (``sys.argv[1:]`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--seed", type=int, default=0, help="seed of the whole data set")
    parser.add_argument("--num-train", type=int, default=80, help="training images")
    parser.add_argument("--num-val", type=int, default=20, help="validation images")
    parser.add_argument("--size", type=_check_size, default=BASE_SIZE, help="image side in px")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace a data set already in --out"
    )
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Write the demo data and print per-split counts; return the exit status."""
    args = parse_args(argv)
    try:
        counts = make_demo_data(
            args.out,
            seed=args.seed,
            num_train=args.num_train,
            num_val=args.num_val,
            size=args.size,
            overwrite=args.overwrite,
        )
    except (FileExistsError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for split, split_counts in counts.items():
        summary = ", ".join(f"{key} {value}" for key, value in sorted(split_counts.items()))
        print(f"{args.out / split}: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
