"""The SOLOv2 instance segmentor."""

from mmdet.models.detectors.single_stage_instance_seg import SingleStageInstanceSegmentor
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig


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
