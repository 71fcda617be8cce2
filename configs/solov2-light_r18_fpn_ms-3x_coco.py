# SOLOv2-Light, ResNet-18 + FPN, multi-scale 3x schedule, COCO: mmdet's
# `solov2-light_r18_fpn_ms-3x_coco` built from this plugin's parts. Backbone, neck, data,
# schedule and test settings are inherited unchanged; the head is the R50 one
# (configs/_base_/solov2_mmdet_head.py) narrowed as mmdet's light configs narrow theirs, so
# mmdet's checkpoints load as they are.
_base_ = [
    "mmdet::solov2/solov2-light_r18_fpn_ms-3x_coco.py",
    "./_base_/solov2_mmdet_head.py",
]

custom_imports = dict(imports=["solov2_plugin"], allow_failed_imports=False)

model = dict(
    type="SOLOv2Segmentor",
    # mmdet's base loads 'torchvision://resnet18', which needs the network; nothing is fetched
    # here. To start from ImageNet weights saved locally, use
    # init_cfg=dict(type='Pretrained', checkpoint='/path/to/resnet18.pth').
    backbone=dict(init_cfg=None),
    mask_head=dict(
        _delete_=True,
        **{
            **_base_.solov2_mmdet_head,
            # The light head: 2 tower convs of 256 channels, 128 mask channels, smaller ranges.
            "stacked_convs": 2,
            "feat_channels": 256,
            "scale_ranges": ((1, 56), (28, 112), (56, 224), (112, 448), (224, 896)),
            "mask_feature_head": {
                **_base_.solov2_mmdet_head["mask_feature_head"],
                "out_channels": 128,
            },
        },
    ),
)

# Our masks come with tight boxes, so box AP is meaningful too (mmdet's SOLOv2 outputs zeros).
val_evaluator = dict(metric=["bbox", "segm"])
test_evaluator = val_evaluator
# A head whose num_classes differs from the dataset's classes stops the run with the key to set.
# Exactly resumable, atomic checkpoints that load without this plugin (see solov2_x50.py).
default_hooks = dict(checkpoint=dict(type="AtomicCheckpointHook"))
custom_hooks = [
    dict(type="ClassCountCheckHook"),
    dict(type="RandomStateCheckpointHook"),
    dict(type="PortableCheckpointHook"),
]
