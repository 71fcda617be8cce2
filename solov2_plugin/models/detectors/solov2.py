"""The SOLOv2 instance segmentor."""

from typing import Dict, List

import torch
from mmdet.models.detectors.single_stage_instance_seg import SingleStageInstanceSegmentor
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.logging import print_log

from ..utils import is_mmdet_solov2_state_dict, mmdet_head_key_to_ours


@MODELS.register_module()
class SOLOv2Segmentor(SingleStageInstanceSegmentor):
    """SOLOv2: backbone, neck and a box-free mask head.

    Runs in mmdet's three modes (``model(inputs, data_samples, mode=...)``):

    - ``'loss'``: ``inputs`` (N, 3, H, W) float, normalised and padded by
      the data preprocessor; each ``DetDataSample`` holds ``gt_instances``
      with ``masks`` (BitmapMasks), ``labels`` (G,) int64 and ``bboxes``
      (G, 4). Returns ``dict(loss_mask=..., loss_cls=...)``.
    - ``'predict'``: returns the data samples with ``pred_instances``:
      ``masks`` (R, H0, W0) bool at the original image size ``ori_shape``,
      ``labels`` (R,) int64, ``scores`` (R,) float, and ``bboxes`` (R, 4),
      tight xyxy boxes of the masks (so box AP is meaningful). R may be 0.
    - ``'tensor'``: returns ``(head_outputs,)`` where ``head_outputs`` is the
      head's ``(kernel_preds, cls_preds, mask_feats)``.

    mmdet's SOLOv2 checkpoints load as they are: ``load_from=...``,
    ``mmdet.apis.init_detector(cfg, ckpt)`` and ``model.load_state_dict(
    mmdet_model.state_dict())`` rename mmdet's head parameters to ours while
    loading (see ``solov2_plugin.models.utils.mmdet_checkpoint``); our own
    checkpoints load unchanged.

    Example:
        >>> from mmengine.config import Config
        >>> from mmdet.registry import MODELS
        >>> cfg = Config.fromfile('configs/solov2_r50_fpn_1x_coco.py')
        >>> model = MODELS.build(cfg.model)  # doctest: +SKIP

    Args:
        backbone (dict): Backbone config.
        mask_head (dict): Head config, e.g. ``SOLOv2DynamicHead``.
        neck (dict, optional): Neck config, e.g. FPN with 5 outputs.
        train_cfg (dict, optional): Passed to the head.
        test_cfg (dict, optional): Post-processing settings passed to the
            head (see ``SOLOv2DynamicHead``).
        data_preprocessor (dict, optional): Data preprocessor config.
        init_cfg (dict or list[dict], optional): Initialisation config.
    """

    def __init__(
        self,
        backbone: ConfigType,
        mask_head: ConfigType,
        neck: OptConfigType = None,
        train_cfg: OptConfigType = None,
        test_cfg: OptConfigType = None,
        data_preprocessor: OptConfigType = None,
        init_cfg: OptMultiConfig = None,
    ) -> None:
        if not mask_head:
            raise ValueError(
                "SOLOv2Segmentor needs a mask_head config, e.g. "
                "mask_head=dict(type='SOLOv2DynamicHead', ...)."
            )
        super().__init__(
            backbone=backbone,
            neck=neck,
            mask_head=mask_head,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg,
        )

    def _load_from_state_dict(
        self,
        state_dict: Dict[str, torch.Tensor],
        prefix: str,
        local_metadata: dict,
        strict: bool,
        missing_keys: List[str],
        unexpected_keys: List[str],
        error_msgs: List[str],
    ) -> None:
        """Rename mmdet's SOLOv2 head parameters in place, then load as usual.

        PyTorch's ``Module.load_state_dict`` and mmengine's ``load_state_dict``
        both call this on the segmentor before its children, with the dict its
        children are then loaded from, so the renamed keys reach the head.
        Keys that are not mmdet SOLOv2 head names are left for the usual
        missing/unexpected-key report.

        Args:
            state_dict (dict[str, Tensor]): Parameters by name; modified in
                place when it is in mmdet's layout.
            prefix (str): Prefix of this module's keys (``''`` at the root).
            local_metadata (dict): This module's metadata (``version``).
            strict (bool): Whether unexpected keys are recorded.
            missing_keys (list[str]): Collects missing keys.
            unexpected_keys (list[str]): Collects unexpected keys.
            error_msgs (list[str]): Collects error messages.
        """
        if hasattr(self.mask_head, "kernel_pred") and is_mmdet_solov2_state_dict(
            state_dict, prefix
        ):
            renamed = 0
            for key in list(state_dict):
                new_key = mmdet_head_key_to_ours(key, prefix)
                if new_key is not None:
                    state_dict[new_key] = state_dict.pop(key)
                    renamed += 1
            print_log(
                f"Loading an mmdet SOLOv2 state dict: renamed {renamed} head parameters to "
                "SOLOv2DynamicHead's names.",
                logger="current",
            )
        super()._load_from_state_dict(
            state_dict,
            prefix,
            local_metadata,
            strict,
            missing_keys,
            unexpected_keys,
            error_msgs,
        )
