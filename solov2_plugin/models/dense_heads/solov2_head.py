"""SOLOv2 head: category and dynamic-kernel branches, losses and post-processing.

Dimension key: N images, C input (FPN) channels, F tower channels, K classes,
L levels, Sh x Sw the grid of one level, G = sum of Sh * Sw over levels,
E mask-feature channels, k dynamic kernel size, D = E * k * k kernel weights,
Hm x Wm mask-feature size, P kernels (positive claims or candidates).
"""

import copy
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmdet.models.dense_heads.base_mask_head import BaseMaskHead
from mmdet.registry import MODELS
from mmdet.structures.bbox import get_box_tensor
from mmdet.utils import ConfigType, InstanceList, MultiConfig, OptConfigType
from mmengine.structures import InstanceData
from torch import Tensor, nn

from ...structures import masks_to_boxes
from ..layers.coord import append_coord_channels
from ..layers.matrix_nms import matrix_nms
from ..layers.solo_postprocess import (
    DEFAULT_CHUNK_ELEMENTS,
    MaskLogitsFn,
    TopCandidates,
    candidate_masks,
    chunk_size_for,
    select_top_candidates,
)
from ..task_modules import build_solo_assigner
from ..task_modules.solo_targets import (
    BatchTargets,
    LabelRangeError,
    binary_mask_tensor,
    label_range_message,
)
from ..utils.precision import in_float32

_GN32 = {"type": "GN", "num_groups": 32, "requires_grad": True}
_RELU = {"type": "ReLU"}
_FOCAL = {"type": "SOLOv2FocalLoss", "gamma": 2.0, "alpha": 0.25, "loss_weight": 1.0}
_DICE = {"type": "SOLOv2DiceLoss", "use_sigmoid": True, "loss_weight": 3.0}
_HEAD_INIT = (
    {"type": "Normal", "layer": "Conv2d", "std": 0.01},
    {"type": "Normal", "std": 0.01, "bias_prob": 0.01, "override": {"name": "cls_pred"}},
)
# mmdet's SOLOv2 test settings, used for every key that test_cfg leaves out.
_TEST_DEFAULTS = {
    "nms_pre": 500,
    "score_thr": 0.1,
    "mask_thr": 0.5,
    "filter_thr": 0.05,
    "kernel": "gaussian",
    "sigma": 2.0,
    "max_per_img": 100,
    "mask_out_stride": 1,
    # Ours: mask values per chunk when candidate masks are scored (bounds the memory).
    "chunk_elements": DEFAULT_CHUNK_ELEMENTS,
    # Ours: False keeps every cell's score instead of only the maxima of 2x2 neighbourhoods
    # (mmdet's points NMS), for touching objects about one grid cell across.
    "points_nms": True,
}
_LEVEL_RESIZE = ("mmdet", "none")
# Keys of train_cfg: the grid assigner (a SOLOv2 assigner of TASK_UTILS).
_TRAIN_KEYS = ("assigner",)


def dynamic_conv(mask_feats: Tensor, kernels: Tensor, kernel_size: int = 1) -> Tensor:
    """Convolve one image's mask features with each of its dynamic kernels.

    All kernels are applied at once, as one convolution with P output
    channels and ``k // 2`` zero padding: mmdet's operation, so that on a GPU
    it follows PyTorch's convolution precision (TF32 by default), as mmdet's
    does, not the stricter one of matrix products. On the CPU a 1x1 kernel
    runs as one matrix product instead, the faster of the two there.

    Args:
        mask_feats (Tensor): Mask features of one image, shape (E, Hm, Wm).
        kernels (Tensor): Shape (P, D) with D = E * k * k, laid out as
            (E, k, k); P may be 0.
        kernel_size (int): Odd kernel size k.

    Returns:
        Tensor: Mask logits, shape (P, Hm, Wm). With P == 0 the empty result
        still depends on both inputs, so a loss built on it back-propagates
        (zero gradients).
    """
    channels, height, width = mask_feats.shape
    if kernel_size == 1 and mask_feats.device.type == "cpu":
        return (kernels @ mask_feats.reshape(channels, height * width)).view(-1, height, width)
    weight = kernels.reshape(-1, channels, kernel_size, kernel_size)
    if weight.shape[0] == 0:
        anchor = (kernels.sum() + mask_feats.sum()) * 0
        return mask_feats.new_zeros(0, height, width) + anchor
    return F.conv2d(mask_feats[None], weight, padding=kernel_size // 2)[0]


def _check_cfg_keys(name: str, cfg: OptConfigType, valid: Sequence[str]) -> None:
    """Raise ValueError naming the keys of ``cfg`` outside ``valid`` (and the valid ones)."""
    if cfg is None:
        return
    if not isinstance(cfg, dict):
        raise ValueError(
            f"SOLOv2DynamicHead: {name} must be a dict or None, got {type(cfg).__name__}."
        )
    unknown = sorted(key for key in cfg if key not in valid)
    if unknown:
        raise ValueError(
            f"SOLOv2DynamicHead: unknown {name} key(s) {unknown}; valid keys are "
            f"{list(valid)} (in a config: model.{name}, handed to the head)."
        )


def points_nms(scores: Tensor) -> Tensor:
    """Zero every score that is not the maximum of its 2x2 neighbourhood.

    Args:
        scores (Tensor): Category probabilities, shape (N, K, Sh, Sw).

    Returns:
        Tensor: Same shape; a cell keeps its score when it equals the maximum
        over itself and its top, left and top-left neighbours.
    """
    local_max = F.max_pool2d(scores, 2, stride=1, padding=1)[..., :-1, :-1]
    return scores * (local_max == scores)


def cell_probs(logits: Tensor, with_points_nms: bool) -> Tensor:
    """Category probabilities of the grid cells, points NMS applied or not.

    Args:
        logits (Tensor): Category logits, shape (N, K, Sh, Sw).
        with_points_nms (bool): Keep only the maxima of 2x2 neighbourhoods
            (:func:`points_nms`, mmdet's behaviour) or every cell's probability.

    Returns:
        Tensor: Probabilities of shape (N, K, Sh, Sw).
    """
    probs = logits.sigmoid()
    return points_nms(probs) if with_points_nms else probs


@MODELS.register_module()
class SOLOv2DynamicHead(BaseMaskHead):
    """SOLOv2 head (`SOLOv2: Dynamic and Fast Instance Segmentation
    <https://arxiv.org/abs/2003.10152>`_).

    Each level's features are resized to an Sh x Sw grid; a category tower
    predicts K class logits per cell and a kernel tower predicts, per cell, a
    k x k dynamic kernel over the E-channel unified mask features (built by
    ``mask_feature_head``, e.g. :class:`SOLOv2MaskFeatBranch`). A cell's mask
    is the convolution of the mask features with its kernel.

    Defaults reproduce mmdet's ``SOLOV2Head`` (converted weights give the same
    outputs); the seed's options are ``level_resize='none'`` (strides 4..64 as
    they come), ``keep_aspect_grids`` (S cells on the long side of the padded
    batch input, rectangular grids elsewhere) and
    ``train_cfg=dict(assigner=dict(type='SOLOv2MaskExtentAssigner',
    offset_factor=0.25, route_thin=True))``.

    Args:
        num_classes (int): Number of foreground classes K.
        in_channels (int): Channels C of every input level.
        mask_feature_head (dict): Config of the mask-feature branch; its
            ``type`` defaults to ``'SOLOv2MaskFeatBranch'`` and its
            ``in_channels`` to ``in_channels``. It must expose
            ``out_channels`` (E) and ``mask_stride``.
        feat_channels (int): Tower width F (seed ``head_filters``).
            Defaults to 256.
        stacked_convs (int): 3x3 convs per tower, >= 1 (seed
            ``head_layers``). Defaults to 4.
        strides (Sequence[int]): Stride of each head level, used for the
            thin-object routing and the minimum predicted mask area.
            Defaults to mmdet's (8, 8, 16, 32, 32).
        scale_ranges (Sequence[tuple[float, float]]): Inclusive range of
            ``sqrt(w * h)`` of the instances assigned to each level.
        num_grids (Sequence[int]): S per level (seed ``grid_sizes``).
            Defaults to (40, 36, 24, 16, 12).
        level_resize (str): ``'mmdet'``: the first level is halved and the
            last one resized to the previous level's size before gridding
            (mmdet's layout for P2..P6); ``'none'``: levels used as they come.
            Defaults to ``'mmdet'``.
        keep_aspect_grids (bool): Give the long side of the padded batch
            input S cells and the short side proportionally fewer (at least
            one); False gives S x S grids. Defaults to False.
        dynamic_conv_size (int): Odd size k of the dynamic kernels (seed
            ``kernel_size``). Defaults to 1.
        with_coord (bool): Append coordinate channels to the kernel branch
            input. Defaults to True.
        conv_cfg (dict, optional): Conv config of the towers. Defaults to
            None (``nn.Conv2d``).
        dcn_cfg (dict, optional): Deformable conv config (e.g.
            ``dict(type='DCNv2')``) used instead of ``conv_cfg`` in every
            tower conv, or only the last one. Defaults to None.
        dcn_apply_to_all_conv (bool): With ``dcn_cfg``, use it in every tower
            conv (True) or only in the last (False, mmdet's light heads).
            Defaults to True.
        norm_cfg (dict, optional): Norm of the towers: GN, BN,
            ``dict(type='ChannelLayerNorm')``... Defaults to GN(32).
        act_cfg (dict, optional): Activation of the towers: ReLU, GELU,
            SiLU... Defaults to ReLU.
        loss_cls (dict): Category loss; called as ``loss(logits (M, K),
            labels (M,), avg_factor=num_pos + 1)``. Defaults to
            ``SOLOv2FocalLoss`` (gamma 2, alpha 0.25, weight 1).
        loss_mask (dict): Mask loss; called as ``loss(logits (P, Hm, Wm),
            targets, avg_factor=num_pos)`` (per-claim terms summed and
            divided by the number of positive cells, as mmdet). A loss with
            ``pooled=True`` (one term per image, the seed's) is called with
            ``image_ids`` (P,) and ``num_images`` instead of ``avg_factor``,
            so it averages over the images that hold positives. Defaults to
            ``SOLOv2DiceLoss`` (weight 3).
        train_cfg (dict, optional): Training settings; the only key is
            ``assigner``, a SOLOv2 grid assigner of mmdet's ``TASK_UTILS``:
            ``dict(type='SOLOv2CenterRegionAssigner', pos_scale=0.2)``
            (mmdet's, the default when None) or
            ``dict(type='SOLOv2MaskExtentAssigner', offset_factor=0.25,
            route_thin=False)`` (the seed's). In a config it is the model's
            ``train_cfg``, which the detector hands to the head.
        test_cfg (dict, optional): Post-processing: ``nms_pre``,
            ``score_thr``, ``mask_thr``, ``filter_thr``, ``kernel``,
            ``sigma``, ``max_per_img`` (as in mmdet) and
            ``mask_out_stride`` (1: masks at full size; 2: at half size like
            the seed) and ``chunk_elements`` (mask values scored at once
            while candidates are selected: bounds the memory, not the
            result; 2**24). Missing keys take these defaults (mmdet's
            values); unknown keys raise a ValueError.
        init_cfg (dict or list[dict], optional): Initialisation config.
            Defaults to normal(std=0.01) convs and a 0.01 prior probability
            on the category logits.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        mask_feature_head: ConfigType,
        feat_channels: int = 256,
        stacked_convs: int = 4,
        strides: Sequence[int] = (8, 8, 16, 32, 32),
        scale_ranges: Sequence[Tuple[float, float]] = (
            (1, 96),
            (48, 192),
            (96, 384),
            (192, 768),
            (384, 2048),
        ),
        num_grids: Sequence[int] = (40, 36, 24, 16, 12),
        level_resize: str = "mmdet",
        keep_aspect_grids: bool = False,
        dynamic_conv_size: int = 1,
        with_coord: bool = True,
        conv_cfg: OptConfigType = None,
        dcn_cfg: OptConfigType = None,
        dcn_apply_to_all_conv: bool = True,
        norm_cfg: OptConfigType = _GN32,
        act_cfg: OptConfigType = _RELU,
        loss_cls: ConfigType = _FOCAL,
        loss_mask: ConfigType = _DICE,
        train_cfg: OptConfigType = None,
        test_cfg: OptConfigType = None,
        init_cfg: MultiConfig = _HEAD_INIT,
    ) -> None:
        super().__init__(init_cfg=list(init_cfg) if isinstance(init_cfg, tuple) else init_cfg)
        if not len(strides) == len(scale_ranges) == len(num_grids) > 0:
            raise ValueError(
                f"SOLOv2DynamicHead: strides ({len(strides)}), scale_ranges "
                f"({len(scale_ranges)}) and num_grids ({len(num_grids)}) need one entry per "
                "level each."
            )
        if stacked_convs < 1:
            raise ValueError(f"SOLOv2DynamicHead: stacked_convs must be >= 1, got {stacked_convs}.")
        if dynamic_conv_size < 1 or dynamic_conv_size % 2 == 0:
            raise ValueError(
                f"SOLOv2DynamicHead: dynamic_conv_size must be a positive odd number, got "
                f"{dynamic_conv_size}."
            )
        if level_resize not in _LEVEL_RESIZE:
            raise ValueError(
                f"SOLOv2DynamicHead: level_resize must be one of {_LEVEL_RESIZE}, got "
                f"{level_resize!r}."
            )
        if level_resize == "mmdet" and len(strides) < 2:
            raise ValueError("SOLOv2DynamicHead: level_resize='mmdet' needs at least 2 levels.")
        _check_cfg_keys("test_cfg", test_cfg, tuple(_TEST_DEFAULTS))
        _check_cfg_keys("train_cfg", train_cfg, _TRAIN_KEYS)
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.feat_channels = feat_channels
        self.stacked_convs = stacked_convs
        self.strides = tuple(strides)
        self.scale_ranges = tuple(tuple(bounds) for bounds in scale_ranges)
        self.num_grids = tuple(num_grids)
        self.num_levels = len(strides)
        self.level_resize = level_resize
        self.keep_aspect_grids = keep_aspect_grids
        self.dynamic_conv_size = dynamic_conv_size
        self.with_coord = with_coord
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.assigner = build_solo_assigner(
            (train_cfg or {}).get("assigner"), where="SOLOv2DynamicHead: train_cfg.assigner"
        )

        self.mask_feature_head = MODELS.build(self._mask_branch_cfg(mask_feature_head))
        self.mask_stride = self.mask_feature_head.mask_stride
        self.kernel_out_channels = self.mask_feature_head.out_channels * dynamic_conv_size**2
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_mask = MODELS.build(loss_mask)
        self._init_layers(conv_cfg, dcn_cfg, dcn_apply_to_all_conv, norm_cfg, act_cfg)

    def _mask_branch_cfg(self, cfg: ConfigType) -> dict:
        """Copy of the branch config with its type and input channels filled in."""
        cfg = copy.deepcopy(dict(cfg))
        cfg.setdefault("type", "SOLOv2MaskFeatBranch")
        if cfg.setdefault("in_channels", self.in_channels) != self.in_channels:
            raise ValueError(
                f"SOLOv2DynamicHead: mask_feature_head.in_channels={cfg['in_channels']} differs "
                f"from the head's in_channels={self.in_channels}; remove it from "
                "mask_feature_head (it is filled in) or make them equal."
            )
        return cfg

    def _init_layers(
        self,
        conv_cfg: OptConfigType,
        dcn_cfg: OptConfigType,
        dcn_apply_to_all_conv: bool,
        norm_cfg: OptConfigType,
        act_cfg: OptConfigType,
    ) -> None:
        """Build the category and kernel towers and their output convs."""
        self.cls_tower = nn.ModuleList()
        self.kernel_tower = nn.ModuleList()
        coord_chn = 2 if self.with_coord else 0
        for i in range(self.stacked_convs):
            use_dcn = dcn_cfg is not None and (dcn_apply_to_all_conv or i == self.stacked_convs - 1)
            layer_conv_cfg = dcn_cfg if use_dcn else conv_cfg
            for tower, extra in ((self.kernel_tower, coord_chn), (self.cls_tower, 0)):
                tower.append(
                    ConvModule(
                        self.in_channels + extra if i == 0 else self.feat_channels,
                        self.feat_channels,
                        3,
                        padding=1,
                        conv_cfg=layer_conv_cfg,
                        norm_cfg=norm_cfg,
                        act_cfg=act_cfg,
                    )
                )
        self.cls_pred = nn.Conv2d(self.feat_channels, self.num_classes, 3, padding=1)
        self.kernel_pred = nn.Conv2d(self.feat_channels, self.kernel_out_channels, 3, padding=1)

    def grid_sizes(self, feat_size: Tuple[int, int]) -> List[Tuple[int, int]]:
        """Grid (Sh, Sw) of every level for a batch.

        Args:
            feat_size (tuple[int, int]): Size (H, W) of the first input level,
                proportional to the padded batch input.

        Returns:
            list[tuple[int, int]]: One (Sh, Sw) per level; with
            ``keep_aspect_grids`` the short side is ``S * short / long``
            rounded half up, at least 1.
        """
        if not self.keep_aspect_grids:
            return [(grid, grid) for grid in self.num_grids]
        height, width = feat_size
        longest = max(height, width)
        return [
            (max(1, int(grid * height / longest + 0.5)), max(1, int(grid * width / longest + 0.5)))
            for grid in self.num_grids
        ]

    def _resize_levels(self, feats: Sequence[Tensor]) -> List[Tensor]:
        """Apply ``level_resize`` to the input levels."""
        if self.level_resize == "none":
            return list(feats)
        out = [F.interpolate(feats[0], scale_factor=0.5, mode="bilinear", align_corners=False)]
        out.extend(feats[1:-1])
        out.append(
            F.interpolate(
                feats[-1], size=feats[-2].shape[-2:], mode="bilinear", align_corners=False
            )
        )
        return out

    def forward(self, x: Sequence[Tensor]) -> Tuple[List[Tensor], List[Tensor], Tensor]:
        """Predict kernels and category logits on every grid, and mask features.

        Args:
            x (Sequence[Tensor]): L input levels, level l of shape
                (N, C, H_l, W_l).

        Returns:
            tuple:

            - kernel_preds (list[Tensor]): Per level, shape (N, D, Sh, Sw).
            - cls_preds (list[Tensor]): Per level, logits of shape
              (N, K, Sh, Sw).
            - mask_feats (Tensor): Shape (N, E, Hm, Wm).
        """
        if len(x) != self.num_levels:
            raise ValueError(
                f"SOLOv2DynamicHead expects {self.num_levels} feature levels (one per stride), "
                f"got {len(x)}; match the neck's num_outs to the head's strides."
            )
        mask_feats = self.mask_feature_head(x)
        kernel_preds, cls_preds = [], []
        grids = self.grid_sizes(tuple(x[0].shape[-2:]))
        for feat, grid in zip(self._resize_levels(x), grids):
            if self.with_coord:
                feat = append_coord_channels(feat)
            kernel_feat = F.interpolate(feat, size=grid, mode="bilinear", align_corners=False)
            cls_feat = kernel_feat[:, : self.in_channels]
            for conv in self.kernel_tower:
                kernel_feat = conv(kernel_feat)
            for conv in self.cls_tower:
                cls_feat = conv(cls_feat)
            kernel_preds.append(self.kernel_pred(kernel_feat))
            cls_preds.append(self.cls_pred(cls_feat))
        return kernel_preds, cls_preds, mask_feats

    @in_float32
    def loss_by_feat(
        self,
        mlvl_kernel_preds: List[Tensor],
        mlvl_cls_preds: List[Tensor],
        mask_feats: Tensor,
        batch_gt_instances: InstanceList,
        batch_img_metas: List[dict],
        **kwargs,
    ) -> Dict[str, Tensor]:
        """Assign targets and compute the category and mask losses, in float32 (:func:`in_float32`).

        Args:
            mlvl_kernel_preds (list[Tensor]): Per level, (N, D, Sh, Sw).
            mlvl_cls_preds (list[Tensor]): Per level, (N, K, Sh, Sw).
            mask_feats (Tensor): Shape (N, E, Hm, Wm).
            batch_gt_instances (list[InstanceData]): Per image, ``masks``
                (BitmapMasks or bool Tensor at the padded batch input size),
                ``labels`` (G,) and ``bboxes`` (G, 4).
            batch_img_metas (list[dict]): Per image meta information.

        Returns:
            dict[str, Tensor]: ``loss_mask``: per-claim mask loss summed and
            divided by the number of positive cells (a pooled loss: mean
            over the images holding positives); ``loss_cls``: category loss
            divided by the number of positive cells + 1.

        Raises:
            ValueError: If a ground-truth label lies outside
                ``0..num_classes - 1``.
        """
        device = mask_feats.device
        try:
            targets = self.assigner.assign_batch(
                [binary_mask_tensor(gt.masks, device) for gt in batch_gt_instances],
                [gt.labels for gt in batch_gt_instances],
                num_classes=self.num_classes,
                grid_sizes=[tuple(pred.shape[-2:]) for pred in mlvl_cls_preds],
                scale_ranges=self.scale_ranges,
                mask_size=tuple(mask_feats.shape[-2:]),
                mask_stride=self.mask_stride,
                gt_bboxes=[
                    get_box_tensor(gt.bboxes).float() if "bboxes" in gt else None
                    for gt in batch_gt_instances
                ],
                strides=self.strides,
            )
        except LabelRangeError:
            # Say which image holds the label, and the dataset's classes when known.
            self._check_gt_labels(batch_gt_instances, batch_img_metas)
            raise
        loss_mask = self._mask_loss(mlvl_kernel_preds, mask_feats, targets)
        # num_pos: the cells that hold mask targets (a cell claimed twice counts once, as in
        # mmdet), whatever their labels say.
        cls_logits = torch.cat(
            [pred.permute(0, 2, 3, 1).reshape(-1, self.num_classes) for pred in mlvl_cls_preds]
        )
        loss_cls = self.loss_cls(cls_logits, targets.labels, avg_factor=targets.num_pos + 1)
        return dict(loss_mask=loss_mask, loss_cls=loss_cls)

    @staticmethod
    def _claim_kernels(mlvl_kernel_preds: List[Tensor], targets: BatchTargets) -> Tensor:
        """Kernels of the positive claims, in the claims' order, shape (P, D).

        Args:
            mlvl_kernel_preds (list[Tensor]): Per level, (N, D, Sh, Sw).
            targets (BatchTargets): Claims of the batch, level by level.

        Returns:
            Tensor: Row ``i`` is the kernel of claim ``i``. Levels without
            claims are left out of the graph, so the backward pass skips their
            kernel tower (as mmdet's does) instead of running it on zeros.
        """
        kernels, first = [], 0
        for pred, counts in zip(mlvl_kernel_preds, targets.counts):
            level = slice(first, first + sum(counts))
            first = level.stop
            if level.stop > level.start:
                kernels.append(pred.flatten(2)[targets.images[level], :, targets.cells[level]])
        return torch.cat(kernels)

    def _mask_loss(
        self, mlvl_kernel_preds: List[Tensor], mask_feats: Tensor, targets: BatchTargets
    ) -> Tensor:
        """Mask loss over every positive claim of the batch.

        The dynamic conv runs once per image, on all of its claims. A loss
        that takes per-instance targets (``accepts_target_index``, e.g.
        :class:`SOLOv2DiceLoss`) is called per image with each instance's
        target once instead of one copy per claim; its per-claim terms are
        summed in mmdet's order (level, image, claim) and divided by the
        positive cells, or, pooled, its per-image terms are averaged over the
        images that hold claims. Any other loss gets all logits at once, one
        target per claim and ``avg_factor`` (``image_ids`` when pooled).

        Args:
            mlvl_kernel_preds (list[Tensor]): Per level, (N, D, Sh, Sw).
            mask_feats (Tensor): Shape (N, E, Hm, Wm).
            targets (BatchTargets): Targets of the batch.

        Returns:
            Tensor: Scalar loss; 0 in the graph of both inputs without claims.
        """
        num_images = mask_feats.shape[0]
        per_image = [sum(counts[img] for counts in targets.counts) for img in range(num_images)]
        if sum(per_image) == 0:
            return (mask_feats.sum() + sum(pred.sum() for pred in mlvl_kernel_preds)) * 0
        kernels = self._claim_kernels(mlvl_kernel_preds, targets)
        order = torch.argsort(targets.images, stable=True)  # image-major, stable within
        indexed = getattr(self.loss_mask, "accepts_target_index", False)
        pooled = getattr(self.loss_mask, "pooled", False)
        outputs, first = [], 0
        for img_id, count in enumerate(per_image):
            claims = order[first : first + count]
            first += count
            if count == 0:
                continue
            logits = dynamic_conv(mask_feats[img_id], kernels[claims], self.dynamic_conv_size)
            if indexed:
                # One image at a time: no (P, Hm, Wm) copy of the batch's logits.
                outputs.append(
                    self.loss_mask(
                        logits,
                        targets.mask_targets,
                        target_index=targets.instances[claims],
                        reduction_override="none",
                        **(dict(image_ids=claims.new_zeros(count), num_images=1) if pooled else {}),
                    )
                )
            else:
                outputs.append(logits)
        if not indexed:
            mask_targets = targets.mask_targets[targets.instances[order]]
            if pooled:
                kwargs = dict(image_ids=targets.images[order], num_images=num_images)
            else:
                kwargs = dict(avg_factor=targets.num_pos)
            return self.loss_mask(torch.cat(outputs), mask_targets, **kwargs)
        terms = torch.cat(outputs)  # pooled: one term per image holding claims
        if pooled:
            return terms.sum() / len(outputs)
        return terms.new_zeros(terms.shape).scatter(0, order, terms).sum() / targets.num_pos

    def _check_gt_labels(
        self, batch_gt_instances: InstanceList, batch_img_metas: List[dict]
    ) -> None:
        """Raise ValueError if a ground-truth label lies outside ``0..num_classes - 1``.

        One device sync for the batch. The message names the image (its
        ``img_path`` when the meta holds one) and, when the meta carries
        them, the class names.
        """
        labels = [gt.labels for gt in batch_gt_instances]
        if not labels or sum(lab.numel() for lab in labels) == 0:
            return
        flat = torch.cat([lab.reshape(-1).to(labels[0].device) for lab in labels])
        if not bool(((flat < 0) | (flat >= self.num_classes)).any()):
            return
        for img_id, (lab, img_meta) in enumerate(zip(labels, batch_img_metas)):
            bad = lab[(lab < 0) | (lab >= self.num_classes)]
            if bad.numel() == 0:
                continue
            image = img_meta.get("img_path", f"image {img_id} of the batch")
            message = label_range_message(
                bad[:10].tolist(), self.num_classes, f"SOLOv2DynamicHead ({image})"
            )
            classes = img_meta.get("classes")
            if classes is not None:
                message += f" Classes of the dataset, in label order: {list(classes)}."
            raise ValueError(message)

    @in_float32
    def predict_by_feat(
        self,
        mlvl_kernel_preds: List[Tensor],
        mlvl_cls_scores: List[Tensor],
        mask_feats: Tensor,
        batch_img_metas: List[dict],
        rescale: bool = True,
        **kwargs,
    ) -> InstanceList:
        """Turn head outputs into instance masks, labels, scores and boxes, in float32.

        Under autocast the outputs are cast to float32 and autocast is off
        meanwhile (:func:`in_float32`).

        Steps, as mmdet's: sigmoid and 2x2 points NMS on the categories;
        (cell, class) pairs above ``score_thr``; masks ``> mask_thr`` from
        the dynamic convolution of their kernels; masks of area <= the level
        stride dropped; scores multiplied by the mean probability inside the
        mask (maskness); the ``nms_pre`` best kept; Matrix NMS; masks
        upsampled to the original image (or the resized input when
        ``rescale`` is False), divided by ``mask_out_stride``.

        The result is mmdet's, computed in bounded memory
        (:func:`select_top_candidates`): mask statistics once per cell, in
        chunks of at most ``test_cfg['chunk_elements']`` mask values
        (default 2**24), cells that cannot reach the ``nms_pre`` best
        skipped, full masks only for the kept candidates.

        Args:
            mlvl_kernel_preds (list[Tensor]): Per level, (N, D, Sh, Sw).
            mlvl_cls_scores (list[Tensor]): Per level, logits (N, K, Sh, Sw).
            mask_feats (Tensor): Shape (N, E, Hm, Wm).
            batch_img_metas (list[dict]): Per image ``img_shape``,
                ``ori_shape`` (and ``batch_input_shape``).
            rescale (bool): Masks at ``ori_shape`` (True) or at
                ``img_shape`` (False). Defaults to True.

        Returns:
            list[InstanceData]: Per image, R instances sorted by score:
            ``masks`` (R, H', W') bool, ``labels`` (R,) int64, ``scores``
            (R,) float, ``bboxes`` (R, 4) tight xyxy boxes of the masks in
            pixels of the returned size times ``mask_out_stride`` (max
            corner exclusive). R may be 0.
        """
        cfg = {**_TEST_DEFAULTS, **(self.test_cfg or {})}
        num_imgs = mask_feats.shape[0]
        scores = torch.cat(
            [
                cell_probs(logits, cfg["points_nms"])
                .permute(0, 2, 3, 1)
                .reshape(num_imgs, -1, self.num_classes)
                for logits in mlvl_cls_scores
            ],
            dim=1,
        )  # (N, G, K)
        kernels = torch.cat(
            [pred.flatten(2).transpose(1, 2) for pred in mlvl_kernel_preds], dim=1
        )  # (N, G, D)
        cell_strides = torch.cat(
            [
                scores.new_full((pred.shape[-2] * pred.shape[-1],), float(stride))
                for pred, stride in zip(mlvl_cls_scores, self.strides)
            ]
        )  # (G,)

        chunk_size = chunk_size_for(tuple(mask_feats.shape[-2:]), int(cfg["chunk_elements"]))
        results = []
        for img_id, img_meta in enumerate(batch_img_metas):
            feats, img_kernels = mask_feats[img_id], kernels[img_id]

            def mask_logits(
                cells: Tensor, feats: Tensor = feats, kern: Tensor = img_kernels
            ) -> Tensor:
                return dynamic_conv(feats, kern[cells], self.dynamic_conv_size)

            top = select_top_candidates(
                scores[img_id],
                cell_strides,
                mask_logits,
                score_thr=cfg["score_thr"],
                mask_thr=cfg["mask_thr"],
                nms_pre=cfg["nms_pre"],
                chunk_size=chunk_size,
            )
            results.append(self._predict_single(mask_logits, top, img_meta, cfg, rescale))
        return results

    def _predict_single(
        self,
        mask_logits: MaskLogitsFn,
        top: TopCandidates,
        img_meta: dict,
        cfg: dict,
        rescale: bool,
    ) -> InstanceData:
        """Build the masks of the kept candidates of one image, suppress and resize.

        Args:
            mask_logits (MaskLogitsFn): Mask logits (C, Hm, Wm) of given
                grid cells (C,) of this image.
            top (TopCandidates): The ``nms_pre`` best candidates (P), best
                first, with their rescored scores.
            img_meta (dict): Meta information of the image.
            cfg (dict): Test settings.
            rescale (bool): See :meth:`predict_by_feat`.

        Returns:
            InstanceData: See :meth:`predict_by_feat`.
        """
        probs, masks, areas = candidate_masks(mask_logits, top.cells, cfg["mask_thr"])
        scores, labels, _, keep_inds = matrix_nms(
            masks,
            top.labels,
            top.scores,
            mask_areas=areas,
            nms_pre=cfg["nms_pre"],
            max_num=cfg["max_per_img"],
            kernel=cfg["kernel"],
            sigma=cfg["sigma"],
            filter_thr=cfg["filter_thr"],
        )
        out_stride = int(cfg["mask_out_stride"])
        probs = self.resize_mask_probs(probs[keep_inds], img_meta, rescale, out_stride)
        masks = probs > cfg["mask_thr"]
        full_h, full_w = img_meta["ori_shape" if rescale else "img_shape"][:2]
        bboxes = masks_to_boxes(masks) * out_stride
        bboxes = torch.minimum(bboxes, bboxes.new_tensor([full_w, full_h, full_w, full_h]))
        results = InstanceData()
        results.masks = masks
        results.labels = labels
        results.scores = scores
        results.bboxes = bboxes
        return results

    def resize_mask_probs(
        self, probs: Tensor, img_meta: dict, rescale: bool, out_stride: int = 1
    ) -> Tensor:
        """Bring mask probabilities from the mask features to the output size.

        As in mmdet: upsample by ``mask_stride`` to the padded input, crop to
        ``img_shape``, then resize (bilinear) to ``ori_shape`` (``rescale``)
        and divide by ``out_stride``.

        Args:
            probs (Tensor): Shape (R, Hm, Wm).
            img_meta (dict): Meta with ``img_shape`` and ``ori_shape``.
            rescale (bool): Target ``ori_shape`` (True) or ``img_shape``.
            out_stride (int): Output is ``ceil(size / out_stride)``.

        Returns:
            Tensor: Shape (R, H', W').
        """
        img_h, img_w = img_meta["img_shape"][:2]
        out_h, out_w = img_meta["ori_shape" if rescale else "img_shape"][:2]
        out_size = (-(-out_h // out_stride), -(-out_w // out_stride))
        if probs.shape[0] == 0:
            return probs.new_zeros(0, *out_size)
        padded_size = (probs.shape[-2] * self.mask_stride, probs.shape[-1] * self.mask_stride)
        probs = F.interpolate(probs[None], size=padded_size, mode="bilinear", align_corners=False)
        probs = probs[..., :img_h, :img_w]
        return F.interpolate(probs, size=out_size, mode="bilinear", align_corners=False)[0]
