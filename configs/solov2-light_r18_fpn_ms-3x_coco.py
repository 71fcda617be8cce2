# SOLOv2-Light, ResNet-18 + FPN, multi-scale 3x schedule, COCO: mmdet's
# `solov2-light_r18_fpn_ms-3x_coco` built from this plugin's parts. Backbone, neck, data,
# schedule and test settings are inherited unchanged; the light head (2 convs of 256 channels,
# 128 mask channels, smaller scale ranges) is restated with our types, so mmdet's weights load
# after tools/convert_mmdet_checkpoint.py.
_base_ = "mmdet::solov2/solov2-light_r18_fpn_ms-3x_coco.py"

custom_imports = dict(imports=["solov2_plugin"], allow_failed_imports=False)

model = dict(
    type="SOLOv2Segmentor",
    # mmdet's base loads 'torchvision://resnet18', which needs the network; nothing is fetched
    # here. To start from ImageNet weights saved locally, use
    # init_cfg=dict(type='Pretrained', checkpoint='/path/to/resnet18.pth').
    backbone=dict(init_cfg=None),
    mask_head=dict(
        _delete_=True,
        type="SOLOv2DynamicHead",
        num_classes=80,
        in_channels=256,
        feat_channels=256,
        stacked_convs=2,
        strides=(8, 8, 16, 32, 32),
        scale_ranges=((1, 56), (28, 112), (56, 224), (112, 448), (224, 896)),
        num_grids=(40, 36, 24, 16, 12),
        level_resize="mmdet",
        assign_mode="mmdet",
        pos_scale=0.2,
        dynamic_conv_size=1,
        norm_cfg=dict(type="GN", num_groups=32, requires_grad=True),
        act_cfg=dict(type="ReLU"),
        mask_feature_head=dict(
            type="SOLOv2MaskFeatBranch",
            mid_channels=128,
            out_channels=128,
            start_level=0,
            end_level=3,
            mask_stride=4,
            norm_cfg=dict(type="GN", num_groups=32, requires_grad=True),
            act_cfg=dict(type="ReLU"),
        ),
        loss_mask=dict(type="SOLOv2DiceLoss", use_sigmoid=True, loss_weight=3.0),
        loss_cls=dict(type="SOLOv2FocalLoss", gamma=2.0, alpha=0.25, loss_weight=1.0),
    ),
)

# Our masks come with tight boxes, so box AP is meaningful too (mmdet's SOLOv2 outputs zeros).
val_evaluator = dict(metric=["bbox", "segm"])
test_evaluator = val_evaluator
