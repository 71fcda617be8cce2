# SOLOv2, ResNet-50 + FPN, 1x schedule, COCO: mmdet's `solov2_r50_fpn_1x_coco` built from this
# plugin's parts. Backbone, neck, data, schedule and test settings are inherited unchanged, and
# the head is the same architecture, so mmdet's model-zoo weights load after
#   python tools/convert_mmdet_checkpoint.py solov2_r50_fpn_1x_coco_xxx.pth solov2_r50_ours.pth
# and give the same predictions (tests/models/test_mmdet_parity.py).
_base_ = "mmdet::solov2/solov2_r50_fpn_1x_coco.py"

custom_imports = dict(imports=["solov2_plugin"], allow_failed_imports=False)

model = dict(
    type="SOLOv2Segmentor",
    # mmdet's base loads 'torchvision://resnet50', which needs the network; nothing is fetched
    # here. To start from ImageNet weights saved locally, use
    # init_cfg=dict(type='Pretrained', checkpoint='/path/to/resnet50.pth').
    backbone=dict(init_cfg=None),
    mask_head=dict(
        _delete_=True,
        type="SOLOv2DynamicHead",
        num_classes=80,
        in_channels=256,
        feat_channels=512,
        stacked_convs=4,
        strides=(8, 8, 16, 32, 32),  # P2 halved and P6 resized to P5 ('mmdet' level_resize)
        scale_ranges=((1, 96), (48, 192), (96, 384), (192, 768), (384, 2048)),
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
            out_channels=256,
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
