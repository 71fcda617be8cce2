# SOLOv2, ResNet-50 + FPN, 1x schedule, COCO: mmdet's `solov2_r50_fpn_1x_coco` built from this
# plugin's parts. Backbone, neck, data, schedule and test settings are inherited unchanged, and
# the head is the same architecture (configs/_base_/solov2_mmdet_head.py), so mmdet's model-zoo
# checkpoints load as they are (load_from=..., or init_detector) and give the same predictions
# (tests/models/test_mmdet_parity.py).
_base_ = ["mmdet::solov2/solov2_r50_fpn_1x_coco.py", "./_base_/solov2_mmdet_head.py"]

custom_imports = dict(imports=["solov2_plugin"], allow_failed_imports=False)

model = dict(
    type="SOLOv2Segmentor",
    # mmdet's base loads 'torchvision://resnet50', which needs the network; nothing is fetched
    # here. To start from ImageNet weights saved locally, use
    # init_cfg=dict(type='Pretrained', checkpoint='/path/to/resnet50.pth').
    backbone=dict(init_cfg=None),
    mask_head=dict(_delete_=True, **_base_.solov2_mmdet_head),
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
