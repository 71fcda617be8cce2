"""SOLOv2's unified mask-feature branch.

Dimension key: N batch, C input channels, M mid channels, E output channels,
H x W the size of the first (finest) level used, stride ``start_level_stride``.
"""

from typing import List, Sequence

import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmdet.registry import MODELS
from mmdet.utils import MultiConfig, OptConfigType
from mmengine.model import BaseModule
from torch import Tensor, nn

from .coord import append_coord_channels

_GN32 = {"type": "GN", "num_groups": 32, "requires_grad": True}
_RELU = {"type": "ReLU"}
_NORMAL_INIT = {"type": "Normal", "layer": "Conv2d", "std": 0.01}


@MODELS.register_module()
class SOLOv2MaskFeatBranch(BaseModule):
    """Fuse FPN levels into one map that the dynamic kernels convolve.

    Level ``r`` (counted from ``start_level``) goes through ``max(r, 1)`` 3x3
    convs, each but the first level's followed by a 2x bilinear upsampling, so
    that every level arrives at the first level's size; the levels are summed
    and a 1x1 conv gives ``out_channels`` channels. Coordinate channels are
    appended to the coarsest level. With ``mask_stride`` below the first
    level's stride, each factor of 2 adds a 2x upsampling and a 3x3 conv
    before the output conv (``mask_stride=2`` gives the seed's H/2 masks).
    With ``start_level=0``, ``mask_stride=4`` and ReLU this is the layout of
    mmdet's ``MaskFeatModule`` (``SOLOv2Segmentor`` maps its weights' names
    when an mmdet checkpoint is loaded).

    Args:
        in_channels (int): Channels C of every input level.
        mid_channels (int): Channels M inside the branch (the seed's
            ``mask_mid_filters``). Defaults to 128.
        out_channels (int): Channels E of the output (the seed's
            ``mask_output_filters``); the head's kernels have E * k * k
            weights. Defaults to 256.
        start_level (int): First input level used. Defaults to 0.
        end_level (int): Last input level used (inclusive). Defaults to 3.
        mask_stride (int): Stride of the output map in input pixels: the
            first level's stride divided by a power of 2. Defaults to 4.
        start_level_stride (int): Stride of input level ``start_level``.
            Defaults to 4 (P2).
        with_coord (bool): Append coordinate channels to the coarsest level.
            Defaults to True.
        conv_cfg (dict, optional): Conv layer config. Defaults to None.
        norm_cfg (dict, optional): Norm layer config, e.g. GN, BN or
            ``dict(type='ChannelLayerNorm')``. Defaults to GN with 32 groups.
        act_cfg (dict, optional): Activation config, e.g. ReLU, GELU, SiLU.
            Defaults to ReLU.
        init_cfg (dict or list[dict], optional): Initialisation config.
            Defaults to normal(std=0.01) on every Conv2d.
    """

    def __init__(
        self,
        in_channels: int,
        mid_channels: int = 128,
        out_channels: int = 256,
        start_level: int = 0,
        end_level: int = 3,
        mask_stride: int = 4,
        start_level_stride: int = 4,
        with_coord: bool = True,
        conv_cfg: OptConfigType = None,
        norm_cfg: OptConfigType = _GN32,
        act_cfg: OptConfigType = _RELU,
        init_cfg: MultiConfig = _NORMAL_INIT,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if not 0 <= start_level <= end_level:
            raise ValueError(
                f"SOLOv2MaskFeatBranch needs 0 <= start_level <= end_level, got "
                f"start_level={start_level}, end_level={end_level}."
            )
        ratio = start_level_stride // mask_stride if mask_stride > 0 else 0
        if ratio < 1 or ratio * mask_stride != start_level_stride or ratio & (ratio - 1):
            raise ValueError(
                f"SOLOv2MaskFeatBranch: mask_stride={mask_stride} must be start_level_stride="
                f"{start_level_stride} divided by a power of 2 (e.g. 4 or 2 for P2 inputs)."
            )
        self.in_channels = in_channels
        self.mid_channels = mid_channels
        self.out_channels = out_channels
        self.start_level = start_level
        self.end_level = end_level
        self.mask_stride = mask_stride
        self.with_coord = with_coord
        num_levels = end_level - start_level + 1

        def conv(in_chn: int, out_chn: int, kernel: int) -> ConvModule:
            return ConvModule(
                in_chn,
                out_chn,
                kernel,
                padding=kernel // 2,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg,
                inplace=False,
            )

        self.level_convs = nn.ModuleList()
        for level in range(num_levels):
            first_in = in_channels + (2 if with_coord and level == num_levels - 1 else 0)
            self.level_convs.append(
                nn.ModuleList(
                    conv(first_in if j == 0 else mid_channels, mid_channels, 3)
                    for j in range(max(level, 1))
                )
            )
        self.upsample_convs = nn.ModuleList(
            conv(mid_channels, mid_channels, 3) for _ in range(ratio.bit_length() - 1)
        )
        self.out_conv = conv(mid_channels, out_channels, 1)

    def forward(self, feats: Sequence[Tensor]) -> Tensor:
        """Fuse the levels ``start_level..end_level`` of ``feats``.

        Args:
            feats (Sequence[Tensor]): FPN levels, level i of shape
                (N, C, H_i, W_i), each level half the size of the previous.

        Returns:
            Tensor: Mask features of shape (N, E, H * s, W * s), where
            ``s = start_level_stride // mask_stride``.
        """
        inputs: List[Tensor] = list(feats[self.start_level : self.end_level + 1])
        if len(inputs) != len(self.level_convs):
            raise ValueError(
                f"SOLOv2MaskFeatBranch expects at least {self.end_level + 1} feature levels, "
                f"got {len(feats)}."
            )
        fused = None
        for level, (x, convs) in enumerate(zip(inputs, self.level_convs)):
            if self.with_coord and level == len(inputs) - 1:
                x = append_coord_channels(x)
            for j, conv in enumerate(convs):
                x = conv(x)
                if level > 0:
                    size = inputs[level - 1 - j].shape[-2:]
                    x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
            fused = x if fused is None else fused + x
        for conv in self.upsample_convs:
            fused = conv(F.interpolate(fused, scale_factor=2, mode="bilinear", align_corners=False))
        return self.out_conv(fused)
