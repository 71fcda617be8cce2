"""SOLOv2 as one exportable function: image in, masks, labels and scores out.

Dimension key: H x W the resized (unpadded) input image, Hp x Wp the input
padded to the size divisor, Ho x Wo the requested mask size, K classes,
G grid cells of all levels, E mask-feature channels, D dynamic-kernel
weights, Hm x Wm mask-feature size, P = ``nms_pre`` candidates, R <=
``max_per_img`` detections.

:class:`SOLOv2ExportModule` wraps a trained :class:`SOLOv2Segmentor` for
``torch.onnx.export``: the data preprocessor's normalisation and padding,
backbone, neck and head, then the head's post-processing rewritten with
static sizes so that it has no host round trip and no Python loop over data:

- points NMS, sigmoid, the (cell, class) candidates above ``score_thr`` with
  a mask area above the level stride, rescored by maskness, exactly as
  :func:`~solov2_plugin.models.layers.solo_postprocess.select_top_candidates`;
  the mask statistics are computed for every grid cell at once (one matrix
  product, G x Hm x Wm values) instead of the eager path's early-stopping
  chunks, then a top-k of fixed size ``nms_pre`` over the G * K pairs
  (padded with ``-inf`` so the size is fixed whatever G);
- Matrix NMS on the P candidates as a dense P x P decay matrix (padding
  candidates sort last, so they never decay a real one);
- the survivors (``filter_thr``) ordered by decayed score, at most
  ``max_per_img``, selected with a boolean mask (a NonZero in ONNX: the
  outputs have a dynamic first dimension R);
- mask probabilities upsampled to the padded input, cropped to H x W,
  resized to the requested Ho x Wo and thresholded, as
  :meth:`SOLOv2DynamicHead.resize_mask_probs`.
"""

from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..models.dense_heads.solov2_head import _TEST_DEFAULTS, cell_probs, dynamic_conv
from ..models.layers.mask_feat_branch import SOLOv2MaskFeatBranch
from ..models.layers.solo_postprocess import rescored_scores

#: test_cfg keys whose value the exported graph bakes in.
GRAPH_TEST_KEYS = (
    "nms_pre",
    "score_thr",
    "mask_thr",
    "filter_thr",
    "kernel",
    "sigma",
    "max_per_img",
    "points_nms",
)


def effective_test_cfg(head: nn.Module) -> Dict[str, object]:
    """The head's post-processing settings, its defaults filled in."""
    return {**_TEST_DEFAULTS, **(getattr(head, "test_cfg", None) or {})}


def linspace_unit(length, like: Tensor) -> Tensor:
    """``torch.linspace(-1, 1, length)`` with a symbolic ``length`` (torch.export specialises it).

    The scalar formula of PyTorch's CPU kernel: ``-1 + i * step`` on the first half,
    ``1 - (length - 1 - i) * step`` on the second, ``step = 2 / (length - 1)`` in float32.
    PyTorch's vectorised blocks can differ from it by one ulp (which ones depends on the CPU's
    vector width); ``length == 1`` gives ``[-1]``.

    Args:
        length: Number of values (int or SymInt, >= 1).
        like (Tensor): Gives the dtype and device.

    Returns:
        Tensor: Shape (length,).
    """
    index = torch.arange(length, device=like.device)
    position = index.to(like.dtype)
    last = position[-1:]
    step = 2 / last.clamp(min=1)
    low = -1 + position * step
    high = 1 - (last - position) * step
    values = torch.where(index < length // 2, low, high)
    return torch.where(last == 0, torch.full_like(values, -1.0), values)


def coord_channels(x: Tensor) -> Tensor:
    """:func:`~solov2_plugin.models.layers.coord.append_coord_channels` for export.

    Args:
        x (Tensor): Shape (N, C, H, W).

    Returns:
        Tensor: Shape (N, C + 2, H, W): x then y, each from -1 to 1.
    """
    n, _, h, w = x.shape
    xs = linspace_unit(w, x)
    ys = linspace_unit(h, x)
    grid_x = xs[None, :].expand(h, w)
    grid_y = ys[:, None].expand(h, w)
    coords = torch.stack([grid_x, grid_y]).expand(n, -1, -1, -1)
    return torch.cat([x, coords], dim=1)


def _round_half_up_ratio(grid: int, side, longest):
    """``max(1, int(grid * side / longest + 0.5))`` in integer arithmetic (symbolic sizes)."""
    return torch.sym_max(1, (2 * grid * side + longest) // (2 * longest))


class SOLOv2ExportModule(nn.Module):
    """A :class:`SOLOv2Segmentor` with its pre- and post-processing, for ONNX export.

    Args:
        detector (nn.Module): A built SOLOv2 segmentor (``data_preprocessor``,
            ``backbone``, ``neck``, ``mask_head`` of type
            :class:`SOLOv2DynamicHead`), in eval mode, on the CPU.

    Inputs of :meth:`forward`:
        image (Tensor): (1, 3, H, W) uint8, BGR, the test pipeline's resized
            image (``PackDetInputs``' ``inputs`` with a batch axis), unpadded.
        out_size (Tensor): (2,) int64, the mask size (Ho, Wo) wanted, e.g.
            the original image size.

    Outputs of :meth:`forward`:
        masks (Tensor): (R, Ho, Wo) bool.
        labels (Tensor): (R,) int64.
        scores (Tensor): (R,) float32, descending.

    Raises:
        ValueError: If the detector has no SOLOv2 head or an unsupported
            setting (batch preprocessing other than mmdet's
            ``DetDataPreprocessor`` layout).
    """

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        head = getattr(detector, "mask_head", None)
        if head is None or not hasattr(head, "kernel_pred"):
            raise ValueError(
                f"SOLOv2ExportModule needs a SOLOv2Segmentor with a SOLOv2DynamicHead, got "
                f"{type(detector).__name__}; export a config of solov2_plugin's SOLOv2."
            )
        preprocessor = detector.data_preprocessor
        self.backbone = detector.backbone
        self.neck = detector.neck if getattr(detector, "with_neck", False) else None
        self.head = head
        self.bgr_to_rgb = bool(getattr(preprocessor, "_channel_conversion", False))
        normalise = bool(getattr(preprocessor, "_enable_normalize", False))
        mean = preprocessor.mean if normalise else torch.zeros(3, 1, 1)
        std = preprocessor.std if normalise else torch.ones(3, 1, 1)
        self.register_buffer("mean", mean.detach().clone().float().reshape(1, -1, 1, 1), False)
        self.register_buffer("std", std.detach().clone().float().reshape(1, -1, 1, 1), False)
        self.pad_size_divisor = int(getattr(preprocessor, "pad_size_divisor", 1) or 1)
        self.pad_value = float(getattr(preprocessor, "pad_value", 0) or 0)
        cfg = effective_test_cfg(head)
        self.nms_pre = int(cfg["nms_pre"])
        self.score_thr = float(cfg["score_thr"])
        self.mask_thr = float(cfg["mask_thr"])
        self.filter_thr = float(cfg["filter_thr"])
        self.kernel = str(cfg["kernel"])
        self.sigma = float(cfg["sigma"])
        self.max_per_img = int(cfg["max_per_img"])
        self.points_nms = bool(cfg["points_nms"])
        if self.nms_pre <= 0 or self.max_per_img <= 0:
            raise ValueError(
                f"SOLOv2ExportModule: the exported graph has static sizes and needs "
                f"test_cfg nms_pre > 0 and max_per_img > 0, got {self.nms_pre} and "
                f"{self.max_per_img}; set them in the config (or with the export tool's "
                "--cfg-options)."
            )
        if self.kernel not in ("gaussian", "linear"):
            raise ValueError(f"SOLOv2ExportModule: unknown Matrix NMS kernel {self.kernel!r}.")

    # ------------------------------------------------------------------ network

    def preprocess(self, image: Tensor) -> Tensor:
        """(1, 3, H, W) uint8 BGR -> (1, 3, Hp, Wp) float, as ``DetDataPreprocessor``."""
        if self.bgr_to_rgb:
            image = image.flip(1)
        x = (image.float() - self.mean) / self.std
        height, width = x.shape[-2:]
        divisor = self.pad_size_divisor
        pad_h = (divisor - height % divisor) % divisor
        pad_w = (divisor - width % divisor) % divisor
        return F.pad(x, (0, pad_w, 0, pad_h), value=self.pad_value)

    def grid_sizes(self, feat_h, feat_w) -> List[Tuple[object, object]]:
        """The head's :meth:`~SOLOv2DynamicHead.grid_sizes` with symbolic sizes."""
        if not self.head.keep_aspect_grids:
            return [(grid, grid) for grid in self.head.num_grids]
        longest = torch.sym_max(feat_h, feat_w)
        return [
            (
                _round_half_up_ratio(grid, feat_h, longest),
                _round_half_up_ratio(grid, feat_w, longest),
            )
            for grid in self.head.num_grids
        ]

    def mask_features(self, feats: Sequence[Tensor]) -> Tensor:
        """The mask-feature branch (same modules, same maths), its coordinates export-friendly.

        Args:
            feats (Sequence[Tensor]): FPN levels, level i of shape (1, C, H_i, W_i).

        Returns:
            Tensor: (1, E, Hm, Wm).
        """
        branch = self.head.mask_feature_head
        if not isinstance(branch, SOLOv2MaskFeatBranch):
            return branch(feats)
        inputs = list(feats[branch.start_level : branch.end_level + 1])
        fused = None
        for level, (x, convs) in enumerate(zip(inputs, branch.level_convs)):
            if branch.with_coord and level == len(inputs) - 1:
                x = coord_channels(x)
            for j, conv in enumerate(convs):
                x = conv(x)
                if level > 0:
                    size = inputs[level - 1 - j].shape[-2:]
                    x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
            fused = x if fused is None else fused + x
        for conv in branch.upsample_convs:
            fused = conv(F.interpolate(fused, scale_factor=2, mode="bilinear", align_corners=False))
        return branch.out_conv(fused)

    def head_forward(self, feats: Sequence[Tensor]) -> Tuple[List[Tensor], List[Tensor], Tensor]:
        """The head's forward (same modules, same maths) with export-friendly grid sizes.

        Returns:
            tuple: ``kernel_preds`` per level (1, D, Sh, Sw), ``cls_preds`` per
            level (1, K, Sh, Sw) and ``mask_feats`` (1, E, Hm, Wm).
        """
        head = self.head
        mask_feats = self.mask_features(feats)
        grids = self.grid_sizes(feats[0].shape[-2], feats[0].shape[-1])
        kernel_preds, cls_preds = [], []
        for feat, grid in zip(head._resize_levels(feats), grids):
            if head.with_coord:
                feat = coord_channels(feat)
            kernel_feat = F.interpolate(feat, size=grid, mode="bilinear", align_corners=False)
            cls_feat = kernel_feat[:, : head.in_channels]
            for conv in head.kernel_tower:
                kernel_feat = conv(kernel_feat)
            for conv in head.cls_tower:
                cls_feat = conv(cls_feat)
            kernel_preds.append(head.kernel_pred(kernel_feat))
            cls_preds.append(head.cls_pred(cls_feat))
        return kernel_preds, cls_preds, mask_feats

    # ----------------------------------------------------------- post-processing

    def cell_probabilities(self, kernels: Tensor, mask_feats: Tensor) -> Tensor:
        """Mask probabilities of every grid cell: (G, D) and (1, E, Hm, Wm) -> (G, Hm * Wm)."""
        logits = dynamic_conv(mask_feats[0], kernels, self.head.dynamic_conv_size)
        return logits.flatten(1).sigmoid()

    def select_candidates(
        self, cls_scores: Tensor, cell_strides: Tensor, probs: Tensor
    ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """The ``nms_pre`` best rescored (cell, class) pairs, padded to a fixed P.

        Args:
            cls_scores (Tensor): (G, K) category scores after points NMS.
            cell_strides (Tensor): (G,) level stride of each cell.
            probs (Tensor): (G, Hm * Wm) mask probabilities of each cell.

        Returns:
            tuple: ``cells`` (P,) int64, ``labels`` (P,) int64, ``scores`` (P,)
            (0 for padding) and ``valid`` (P,) bool, best first.
        """
        num_classes = cls_scores.shape[1]
        masks = probs > self.mask_thr
        areas = masks.sum(1).float()
        flat = rescored_scores(
            cls_scores, areas, (probs * masks).sum(1), cell_strides, self.score_thr
        ).flatten()
        padded = torch.cat([flat, flat.new_full((self.nms_pre,), float("-inf"))])
        top_scores, top_index = padded.topk(self.nms_pre)
        valid = torch.isfinite(top_scores)
        pair = torch.where(valid, top_index, torch.zeros_like(top_index))
        cells = pair // num_classes
        labels = pair % num_classes
        scores = torch.where(valid, top_scores, torch.zeros_like(top_scores))
        return cells, labels, scores, valid

    def matrix_nms(
        self, masks: Tensor, labels: Tensor, scores: Tensor, valid: Tensor
    ) -> Tuple[Tensor, Tensor]:
        """Matrix NMS on P sorted candidates, as :func:`~..layers.matrix_nms.matrix_nms`.

        Args:
            masks (Tensor): (P, Hm * Wm) bool.
            labels (Tensor): (P,) int64.
            scores (Tensor): (P,) rescored scores, descending over the valid ones.
            valid (Tensor): (P,) bool; the invalid candidates come last.

        Returns:
            tuple: decayed ``scores`` (P,) and ``keep`` (P,) bool (valid and
            at least ``filter_thr`` when it is positive).
        """
        flat = masks.float()
        areas = flat.sum(1)
        inter = flat @ flat.t()
        union = areas[:, None] + areas[None, :] - inter
        same_class = labels[:, None] == labels[None, :]
        iou = (inter / union.clamp(min=1e-6) * same_class).triu(diagonal=1)
        comp = iou.amax(dim=0)[:, None]
        if self.kernel == "gaussian":
            decay = torch.exp(-self.sigma * iou.square()) / torch.exp(-self.sigma * comp.square())
        else:
            decay = (1 - iou) / (1 - comp).clamp(min=1e-6)
        decayed = scores * decay.amin(dim=0)
        keep = valid
        if self.filter_thr > 0:
            keep = keep & (decayed >= self.filter_thr)
        return decayed, keep

    def resize_probs(self, probs: Tensor, mask_size, img_size, out_size) -> Tensor:
        """(R, Hm, Wm) -> (R, Ho, Wo), as the head's ``resize_mask_probs``."""
        stride = self.head.mask_stride
        padded_size = (mask_size[0] * stride, mask_size[1] * stride)
        probs = F.interpolate(probs[None], size=padded_size, mode="bilinear", align_corners=False)
        # index_select, not a slice: a slice makes torch.export prove img <= padded size.
        probs = probs.index_select(2, torch.arange(img_size[0], device=probs.device))
        probs = probs.index_select(3, torch.arange(img_size[1], device=probs.device))
        return F.interpolate(probs, size=out_size, mode="bilinear", align_corners=False)[0]

    def forward(self, image: Tensor, out_size: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Segment one image; see the class docstring for the inputs and outputs."""
        img_h, img_w = image.shape[-2:]
        x = self.preprocess(image)
        feats = self.backbone(x)
        if self.neck is not None:
            feats = self.neck(feats)
        kernel_preds, cls_logits, mask_feats = self.head_forward(feats)
        num_classes = self.head.num_classes
        cls_scores = torch.cat(
            [
                cell_probs(logits, self.points_nms).permute(0, 2, 3, 1).reshape(-1, num_classes)
                for logits in cls_logits
            ]
        )  # (G, K)
        kernels = torch.cat([pred.flatten(2)[0].t() for pred in kernel_preds])  # (G, D)
        cell_strides = torch.cat(
            [
                torch.full_like(logits[0, 0].flatten(), float(stride))
                for logits, stride in zip(cls_logits, self.head.strides)
            ]
        )  # (G,)
        mask_h, mask_w = mask_feats.shape[-2:]
        probs = self.cell_probabilities(kernels, mask_feats)  # (G, Hm * Wm)
        cells, labels, scores, valid = self.select_candidates(cls_scores, cell_strides, probs)
        cand_probs = probs[cells]  # (P, Hm * Wm)
        decayed, keep = self.matrix_nms(cand_probs > self.mask_thr, labels, scores, valid)
        ranked = torch.where(keep, decayed, torch.full_like(decayed, float("-inf")))
        num_out = min(self.max_per_img, self.nms_pre)
        _, order = ranked.topk(num_out)
        chosen = order[keep[order]]  # (R,) NonZero: R = kept candidates, at most max_per_img
        out_h, out_w = out_size[0].item(), out_size[1].item()
        torch._check(out_h > 0)
        torch._check(out_w > 0)
        kept_probs = cand_probs[chosen].reshape(-1, mask_h, mask_w)
        masks = self.resize_probs(kept_probs, (mask_h, mask_w), (img_h, img_w), (out_h, out_w))
        return masks > self.mask_thr, labels[chosen], decayed[chosen]
