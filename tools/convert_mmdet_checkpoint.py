"""Convert an mmdet SOLOv2 checkpoint into this plugin's parameter names.

mmdet's model-zoo SOLOv2 weights (``SOLOv2`` + ``SOLOV2Head`` + ``MaskFeatModule``)
then load into ``SOLOv2Segmentor`` built from our config of the same name
(``configs/solov2_r50_fpn_1x_coco.py``, ``configs/solov2-light_r18_fpn_ms-3x_coco.py``):

    python tools/convert_mmdet_checkpoint.py solov2_r50_fpn_1x_coco_xxx.pth solov2_r50_ours.pth

Backbone and neck keys are kept; head keys are renamed (``cls_convs`` ->
``cls_tower``, ``kernel_convs`` -> ``kernel_tower``, ``conv_cls`` -> ``cls_pred``,
``conv_kernel`` -> ``kernel_pred``, ``mask_feature_head.convs_all_levels.L.convJ``
-> ``mask_feature_head.level_convs.L.J``, ``mask_feature_head.conv_pred`` ->
``mask_feature_head.out_conv``). The checkpoint's ``meta`` is kept, with a
``converted_from`` entry added; optimizer and scheduler states are dropped.
"""

import argparse
import pickle
import re
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Dict, Mapping, Optional, Sequence

import torch

_HEAD_RENAMES = (
    (re.compile(r"^mask_head\.cls_convs\."), "mask_head.cls_tower."),
    (re.compile(r"^mask_head\.kernel_convs\."), "mask_head.kernel_tower."),
    (re.compile(r"^mask_head\.conv_cls\."), "mask_head.cls_pred."),
    (re.compile(r"^mask_head\.conv_kernel\."), "mask_head.kernel_pred."),
    (
        re.compile(r"^mask_head\.mask_feature_head\.convs_all_levels\.(\d+)\.conv(\d+)\."),
        r"mask_head.mask_feature_head.level_convs.\1.\2.",
    ),
    (
        re.compile(r"^mask_head\.mask_feature_head\.conv_pred\."),
        "mask_head.mask_feature_head.out_conv.",
    ),
)


def convert_state_dict(
    state_dict: Mapping[str, torch.Tensor], source: str = "the state dict"
) -> Dict[str, torch.Tensor]:
    """Rename the head parameters of an mmdet SOLOv2 state dict to ours.

    Args:
        state_dict (Mapping[str, Tensor]): mmdet ``SOLOv2`` parameters
            (``backbone.*``, ``neck.*``, ``mask_head.*``).
        source (str): Name used in error messages (e.g. the file).

    Returns:
        dict[str, Tensor]: Same tensors under our names, same order.

    Raises:
        ValueError: If a head key is not part of mmdet's SOLOv2 head (e.g. a
            SOLO v1 or Mask R-CNN checkpoint) or no SOLOv2 head is present.
    """
    converted = OrderedDict()
    for key, value in state_dict.items():
        new_key = key
        if key.startswith("mask_head."):
            for pattern, replacement in _HEAD_RENAMES:
                new_key, count = pattern.subn(replacement, key)
                if count:
                    break
            else:
                raise ValueError(
                    f"{source}: key {key!r} is not part of mmdet's SOLOv2 head; only SOLOv2 "
                    "checkpoints (mmdet's SOLOv2 with SOLOV2Head) can be converted."
                )
        converted[new_key] = value
    if not any(key.startswith("mask_head.kernel_pred.") for key in converted):
        raise ValueError(
            f"{source}: no 'mask_head.conv_kernel' weights found, so this is not an mmdet "
            "SOLOv2 checkpoint; pass a checkpoint of mmdet's SOLOv2 (e.g. from its model zoo)."
        )
    return converted


def _load(src: Path) -> Dict:
    """Read a checkpoint safely (tensors and plain Python values only)."""
    if not src.is_file():
        raise ValueError(f"{src}: no such checkpoint file; check the SRC path.")
    try:
        checkpoint = torch.load(src, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as err:
        raise ValueError(
            f"{src}: cannot be read as a safe PyTorch checkpoint (only tensors and plain "
            f"Python values are accepted): {err}"
        ) from err
    if not isinstance(checkpoint, dict):
        raise ValueError(f"{src}: expected a checkpoint dict, got {type(checkpoint).__name__}.")
    return checkpoint


def convert_checkpoint(src: Path, dst: Path) -> int:
    """Convert the checkpoint file ``src`` and save it as ``dst``.

    Args:
        src (Path): mmdet SOLOv2 checkpoint (``{'state_dict': ..., 'meta':
            ...}`` or a bare state dict).
        dst (Path): Output file; its folder is created if needed.

    Returns:
        int: Number of tensors written.

    Raises:
        ValueError: If ``src`` is missing, unreadable, not a SOLOv2
            checkpoint, or the same file as ``dst``.
    """
    src, dst = Path(src), Path(dst)
    if dst.exists() and src.exists() and dst.resolve() == src.resolve():
        raise ValueError(f"{dst}: DST must differ from SRC, the source would be overwritten.")
    checkpoint = _load(src)
    state_dict = checkpoint.get("state_dict", checkpoint)
    if not all(isinstance(value, torch.Tensor) for value in state_dict.values()):
        raise ValueError(
            f"{src}: has no 'state_dict' entry of tensors; pass a model checkpoint of "
            "mmdet's SOLOv2."
        )
    meta = dict(checkpoint.get("meta") or {})
    meta["converted_from"] = (
        f"mmdet SOLOv2 checkpoint {src.name} (tools/convert_mmdet_checkpoint.py)"
    )
    converted = convert_state_dict(state_dict, source=str(src))
    dst.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": converted, "meta": meta}, dst)
    return len(converted)


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
        count = convert_checkpoint(args.src, args.dst)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {count} tensors to {args.dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
