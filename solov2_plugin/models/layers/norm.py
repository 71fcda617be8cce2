"""Channel-wise layer normalisation for channel-first feature maps.

mmcv's ``LN`` is :class:`torch.nn.LayerNorm`, which normalises the *last*
axis; on an ``(N, C, H, W)`` map that is the width, not the channels.
:class:`ChannelLayerNorm` normalises over ``C`` at every spatial position, the
way channel-last frameworks (the seed's ``normalization='ln'``) do.
"""

import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor, nn


@MODELS.register_module()
class ChannelLayerNorm(nn.LayerNorm):
    """LayerNorm over the channel axis of ``(N, C, *spatial)`` tensors.

    Usable wherever mmcv builds a norm layer, e.g.
    ``norm_cfg=dict(type='ChannelLayerNorm')`` in a ``ConvModule``, an FPN or
    our SOLOv2 head (the type is found through mmdet's registry, so the
    default scope must be ``'mmdet'``, as in every mmdet config; outside a
    config write ``type='mmdet.ChannelLayerNorm'``). Being an
    :class:`torch.nn.LayerNorm`, it is treated as a norm layer by mmengine's
    optimizer constructor (``norm_decay_mult``).

    Args:
        num_features (int): Number of channels ``C``.
        eps (float): Added to the variance for stability. Defaults to 1e-6
            (mmcv's ``build_norm_layer`` passes 1e-5 unless ``norm_cfg`` sets
            ``eps``).
        elementwise_affine (bool): Learn a per-channel scale and shift.
            Defaults to True.
    """

    _abbr_ = "ln"

    def __init__(self, num_features: int, eps: float = 1e-6, elementwise_affine: bool = True):
        super().__init__(num_features, eps=eps, elementwise_affine=elementwise_affine)

    def forward(self, x: Tensor) -> Tensor:
        """Normalise every spatial position over the channels.

        Args:
            x (Tensor): Shape (N, C, *spatial), with C == ``num_features``.

        Returns:
            Tensor: Same shape and dtype as ``x``.
        """
        if x.dim() < 2 or x.shape[1] != self.normalized_shape[0]:
            raise ValueError(
                f"ChannelLayerNorm expects an (N, {self.normalized_shape[0]}, ...) tensor, "
                f"got shape {tuple(x.shape)}; set num_features to the channel count."
            )
        y = F.layer_norm(x.movedim(1, -1), self.normalized_shape, self.weight, self.bias, self.eps)
        return y.movedim(-1, 1)
