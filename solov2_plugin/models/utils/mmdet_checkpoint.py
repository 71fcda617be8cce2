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

Backbone and neck names are the same in both.
"""

import re
from collections import OrderedDict
from typing import Mapping, Optional

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
    converted: "OrderedDict[str, torch.Tensor]" = OrderedDict()
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
