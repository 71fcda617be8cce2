"""Convert an mmdet SOLOv2 checkpoint file into this plugin's parameter names.

Not needed to load one: ``SOLOv2Segmentor`` renames mmdet's head parameters itself, so
``load_from=<mmdet checkpoint>`` and ``mmdet.apis.init_detector`` work directly. This writes a
converted file for tools that read state dicts without our model:

    python tools/convert_mmdet_checkpoint.py solov2_r50_fpn_1x_coco_xxx.pth solov2_r50_ours.pth

The names are listed in ``solov2_plugin.models.utils.mmdet_checkpoint``; the checkpoint is read
with ``weights_only=True``, its ``meta`` kept (plus ``converted_from``), optimizer and scheduler
states dropped.
"""

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from solov2_plugin.models.utils import convert_mmdet_checkpoint


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description="Convert an mmdet SOLOv2 checkpoint (e.g. from mmdet's model zoo) into "
        "solov2_plugin's parameter names, for configs/solov2_r50_fpn_1x_coco.py and friends."
    )
    parser.add_argument("src", type=Path, help="mmdet SOLOv2 checkpoint (.pth) to read")
    parser.add_argument("dst", type=Path, help="where to write the converted checkpoint (.pth)")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point: convert SRC into DST and report; errors end with status 1."""
    args = parse_args(argv)
    try:
        count = convert_mmdet_checkpoint(args.src, args.dst)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {count} tensors to {args.dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
