# A small SOLOv2 for the embedded demo data, scaled for 2 CPU cores: derived from
# solov2_x50.py (the seed's defaults) with a narrow ResNet-18, 256 px input, 3 levels of
# practical size and a short from-scratch schedule.
#   python tools/demo.py            # check, train, evaluate, draw (what `make demo` runs)
#   python tools/train.py configs/solov2_demo.py
_base_ = ["./solov2_x50.py"]

input_size = (256, 256)  # the demo images are 256 x 256
norm_cfg = dict(type="GN", num_groups=16, requires_grad=True)

model = dict(
    backbone=dict(
        _delete_=True,
        type="ResNet",
        depth=18,
        base_channels=32,  # half of ResNet-18's width: stages of 32, 64, 128, 256 channels
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        style="pytorch",
        init_cfg=None,  # from scratch: nothing is fetched
    ),
    # Unlike the seed's FPN (and solov2_x50.py's), the demo's normalises and activates: the
    # recipe was tuned with it (mask AP 0.40, README).
    neck=dict(
        in_channels=[32, 64, 128, 256],
        out_channels=64,
        norm_cfg=norm_cfg,
        act_cfg=dict(type="GELU"),
    ),
    mask_head=dict(
        in_channels=64,
        feat_channels=64,
        stacked_convs=2,
        # The seed's ranges and grids, scaled from its 1536 px input to 256 px.
        scale_ranges=((1, 32), (16, 64), (32, 128), (64, 256), (128, 512)),
        num_grids=(32, 24, 16, 12, 8),
        norm_cfg=norm_cfg,
        mask_feature_head=dict(in_channels=64, mid_channels=32, out_channels=64, norm_cfg=norm_cfg),
        loss_mask=dict(loss_weight=3.0),
    ),
)

train_pipeline = [
    dict(type="LoadSeedImage"),
    dict(type="LoadSeedInstanceMasks"),
    dict(type="Resize", scale=input_size, keep_ratio=True),
    dict(type="RandomFlip", prob=0.5, direction=["horizontal", "vertical"]),
    dict(type="PackDetInputs"),
]
test_pipeline = [
    dict(type="LoadSeedImage"),
    dict(type="Resize", scale=input_size, keep_ratio=True),
    dict(
        type="PackDetInputs",
        meta_keys=("img_id", "img_path", "ori_shape", "img_shape", "scale_factor", "instances"),
    ),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    dataset=dict(pipeline=train_pipeline),
)
val_dataloader = dict(num_workers=1, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_epochs = 40
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs, val_interval=10)
optim_wrapper = dict(
    _delete_=True,
    type="NonFiniteLossOptimWrapper",  # a NaN or Inf loss skips its step (see solov2_x50.py)
    optimizer=dict(type="AdamW", lr=2e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=35, norm_type=2),
)
param_scheduler = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type="CosineAnnealingLR", by_epoch=True, begin=0, end=max_epochs, T_max=max_epochs),
]
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=10))
randomness = dict(seed=0)
