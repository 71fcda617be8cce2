"""mmdet SOLOv2 parameter names -> this plugin's parameter names.

mmdet's ``SOLOv2`` detector (``SOLOV2Head`` + ``MaskFeatModule``) and our
``SOLOv2Segmentor`` (``SOLOv2DynamicHead`` + ``SOLOv2MaskFeatBranch``) hold the
same tensors; only the head's names differ:

- ``mask_head.cls_convs.*`` -> ``mask_head.cls_tower.*``
- ``mask_head.kernel_convs.*`` -> ``mask_head.kernel_tower.*``
- ``mask_head.conv_cls.*`` -> ``mask_head.cls_pred.*``
- ``mask_head.conv_kernel.*`` -> ``mask_head.kernel_pred.*``
- ``mask_head.mask_feature_head.convs_all_levels.L.convJ.*`` ->
  ``mask_head.mask_feature_head.level_convs.L.J.*``
- ``mask_head.mask_feature_head.conv_pred.*`` -> ``mask_head.mask_feature_head.out_conv.*``

Backbone and neck names are the same in both. ``SOLOv2Segmentor`` applies this renaming
itself when a state dict in mmdet's layout is loaded; ``convert_mmdet_checkpoint`` writes a
converted file for other tools.
"""

import pickle
import re
from collections import OrderedDict
from pathlib import Path
from typing import Dict, Mapping, Optional, Union

import torch

_HEAD_RENAMES = (
    (re.compile(r"^cls_convs\."), "cls_tower."),
    (re.compile(r"^kernel_convs\."), "kernel_tower."),
    (re.compile(r"^conv_cls\."), "cls_pred."),
    (re.compile(r"^conv_kernel\."), "kernel_pred."),
    (
        re.compile(r"^mask_feature_head\.convs_all_levels\.(\d+)\.conv(\d+)\."),
        r"mask_feature_head.level_convs.\1.\2.",
    ),
    (re.compile(r"^mask_feature_head\.conv_pred\."), "mask_feature_head.out_conv."),
)


def mmdet_head_key_to_ours(key: str, prefix: str = "") -> Optional[str]:
    """Our name for one mmdet SOLOv2 parameter name under ``prefix``.

    Args:
        key (str): A state-dict key, e.g. ``'mask_head.conv_kernel.weight'``.
        prefix (str): Prefix of the segmentor's keys (``''`` for a whole
            model, ``'model.'`` for a wrapped one).

    Returns:
        str or None: The renamed key (``'mask_head.kernel_pred.weight'``), or
        None when ``key`` is not one of mmdet's SOLOv2 head names (backbone,
        neck, and keys already in our layout give None).
    """
    head_prefix = prefix + "mask_head."
    if not key.startswith(head_prefix):
        return None
    rest = key[len(head_prefix) :]
    for pattern, replacement in _HEAD_RENAMES:
        renamed, count = pattern.subn(replacement, rest)
        if count:
            return head_prefix + renamed
    return None


def is_mmdet_solov2_state_dict(state_dict: Mapping[str, object], prefix: str = "") -> bool:
    """Whether a state dict holds mmdet's SOLOv2 head layout.

    The mark is mmdet's dynamic-kernel predictor ``mask_head.conv_kernel.*``
    (ours is ``mask_head.kernel_pred.*``); SOLO v1, Mask R-CNN and our own
    checkpoints do not have it.

    Args:
        state_dict (Mapping[str, Tensor]): Parameters by name.
        prefix (str): Prefix of the segmentor's keys in ``state_dict``.

    Returns:
        bool: True if some key starts with ``prefix + 'mask_head.conv_kernel.'``.
    """
    mark = prefix + "mask_head.conv_kernel."
    return any(key.startswith(mark) for key in state_dict)


def convert_mmdet_state_dict(
    state_dict: Mapping[str, torch.Tensor], source: str = "the state dict"
) -> "OrderedDict[str, torch.Tensor]":
    """Rename the head parameters of an mmdet SOLOv2 state dict to ours.

    Args:
        state_dict (Mapping[str, Tensor]): mmdet ``SOLOv2`` parameters
            (``backbone.*``, ``neck.*``, ``mask_head.*``); tensors of any shape.
        source (str): Name used in error messages (e.g. the file).

    Returns:
        OrderedDict[str, Tensor]: The same tensor objects under our names, in
        the same order.

    Raises:
        ValueError: If a head key is not part of mmdet's SOLOv2 head (e.g. a
            SOLO v1 checkpoint) or no SOLOv2 head is present (e.g. Mask R-CNN).
    """
    if not is_mmdet_solov2_state_dict(state_dict):
        raise ValueError(
            f"{source}: no 'mask_head.conv_kernel' weights found, so this is not an mmdet "
            "SOLOv2 checkpoint; pass a checkpoint of mmdet's SOLOv2 (e.g. from its model zoo)."
        )
    converted: OrderedDict[str, torch.Tensor] = OrderedDict()
    for key, value in state_dict.items():
        new_key = key
        if key.startswith("mask_head."):
            new_key = mmdet_head_key_to_ours(key)
            if new_key is None:
                raise ValueError(
                    f"{source}: key {key!r} is not part of mmdet's SOLOv2 head; only SOLOv2 "
                    "checkpoints (mmdet's SOLOv2 with SOLOV2Head) can be converted."
                )
        converted[new_key] = value
    return converted


def _load_checkpoint(src: Path) -> Dict:
    """Read a checkpoint file safely (tensors and plain Python values only).

    Raises:
        ValueError: If ``src`` is missing, unreadable or not a dict.
    """
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


def convert_mmdet_checkpoint(src: Union[str, Path], dst: Union[str, Path]) -> int:
    """Convert the mmdet SOLOv2 checkpoint file ``src`` and save it as ``dst``.

    The file is read with ``weights_only=True``. Its ``meta`` is kept, with a
    ``converted_from`` entry added; optimizer and scheduler states are dropped.

    Args:
        src (str or Path): mmdet SOLOv2 checkpoint (``{'state_dict': ...,
            'meta': ...}`` or a bare state dict).
        dst (str or Path): Output file; its folder is created if needed.

    Returns:
        int: Number of tensors written.

    Raises:
        ValueError: If ``src`` is missing, unreadable, not a SOLOv2
            checkpoint, or the same file as ``dst``.
    """
    src, dst = Path(src), Path(dst)
    if dst.exists() and src.exists() and dst.resolve() == src.resolve():
        raise ValueError(f"{dst}: DST must differ from SRC, the source would be overwritten.")
    checkpoint = _load_checkpoint(src)
    state_dict = checkpoint.get("state_dict", checkpoint)
    if not all(isinstance(value, torch.Tensor) for value in state_dict.values()):
        raise ValueError(
            f"{src}: has no 'state_dict' entry of tensors; pass a model checkpoint of "
            "mmdet's SOLOv2."
        )
    meta = dict(checkpoint.get("meta") or {})
    meta["converted_from"] = f"mmdet SOLOv2 checkpoint {src.name} (convert_mmdet_checkpoint)"
    converted = convert_mmdet_state_dict(state_dict, source=str(src))
    dst.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": converted, "meta": meta}, dst)
    return len(converted)
