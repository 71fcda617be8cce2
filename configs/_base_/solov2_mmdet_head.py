# The head of mmdet's `solov2_r50_fpn_1x_coco` written with this plugin's types: one definition
# that solov2_r50_fpn_1x_coco.py uses as it is and solov2-light_r18_fpn_ms-3x_coco.py narrows, as
# mmdet's own light configs do. Target assignment is mmdet's (the head's default when the
# model's train_cfg names no assigner).
solov2_mmdet_head = dict(
    type="SOLOv2DynamicHead",
    num_classes=80,
    in_channels=256,
    feat_channels=512,
    stacked_convs=4,
    strides=(8, 8, 16, 32, 32),  # P2 halved and P6 resized to P5 ('mmdet' level_resize)
    scale_ranges=((1, 96), (48, 192), (96, 384), (192, 768), (384, 2048)),
    num_grids=(40, 36, 24, 16, 12),
    level_resize="mmdet",
    dynamic_conv_size=1,
    norm_cfg=dict(type="GN", num_groups=32, requires_grad=True),
    act_cfg=dict(type="ReLU"),
    mask_feature_head=dict(
        type="SOLOv2MaskFeatBranch",
        mid_channels=128,
        out_channels=256,
        start_level=0,
        end_level=3,
        mask_stride=4,
        norm_cfg=dict(type="GN", num_groups=32, requires_grad=True),
        act_cfg=dict(type="ReLU"),
    ),
    loss_mask=dict(type="SOLOv2DiceLoss", use_sigmoid=True, loss_weight=3.0),
    loss_cls=dict(type="SOLOv2FocalLoss", gamma=2.0, alpha=0.25, loss_weight=1.0),
)
