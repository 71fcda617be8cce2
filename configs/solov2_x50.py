# SOLOv2 with the seed's default model: ResNeXt-50 32x4d, GELU + GroupNorm(32), trained from
# scratch on the seed-format demo data (data/demo/{train,val}). The comment beside each model
# setting names the seed parameter it mirrors (see the seed's README); "differs from the seed"
# marks where it does not, and why.
#   python tools/train.py configs/solov2_x50.py    # ~30 s an iteration on 2 CPU cores: use a GPU,
#                                                  # or configs/solov2_demo.py on a CPU
# Your own data: python tools/train.py configs/solov2_x50.py \
#   --cfg-options data_root=my_data/ classes="['particle','bubble']"
# (splits in my_data/train and my_data/val; data_root and classes reach every dataset and the
# head's num_classes, see solov2_plugin.apis.merge_cfg_options).
# The seed's `load_backbone` becomes the backbone's init_cfg: None trains from scratch and
# fetches nothing; init_cfg=dict(type='Pretrained', checkpoint='/path/to/resnext50.pth')
# starts from a local checkpoint of mmdet's ResNeXt (keys without the 'backbone.' prefix).
_base_ = ["mmdet::_base_/default_runtime.py", "mmdet::_base_/schedules/schedule_1x.py"]

custom_imports = dict(imports=["solov2_plugin"], allow_failed_imports=False)

classes = ("disc", "block", "triangle", "ring", "rod")  # seed: cls_ind (background dropped)
data_root = "data/demo/"
input_size = (1536, 768)  # seed: imshape=(768, 1536, 3); mmdet scales are (w, h)

norm_cfg = dict(type="GN", num_groups=32, requires_grad=True)  # seed: normalization='gn', groups 32
act_cfg = dict(type="GELU")  # seed: activation='gelu'

model = dict(
    type="SOLOv2Segmentor",
    data_preprocessor=dict(
        type="DetDataPreprocessor",
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_mask=True,
        pad_size_divisor=32,
    ),
    # seed: backbone='resnext50'. Differs from the seed: the seed's ResNeXt-50 is an SE-ResNeXt
    # (squeeze-and-excitation in every block) with GN and GELU throughout and no max-pool in its
    # stem. mmdet's ResNeXt (BN-style stem with max-pool, ReLU, no SE) is kept so that mmdet's
    # and torchvision's published ResNeXt-50 weights load into it; GN replaces BN as in the seed.
    backbone=dict(
        type="ResNeXt",
        depth=50,
        groups=32,
        base_width=4,
        num_stages=4,
        out_indices=(0, 1, 2, 3),  # seed: connection_layers C2..C5
        frozen_stages=-1,  # from scratch: every stage trains
        norm_cfg=norm_cfg,  # seed: normalization (mmdet's ResNeXt has no act_cfg: ReLU stays)
        norm_eval=False,
        style="pytorch",
        init_cfg=None,  # seed: load_backbone=False (see the header)
    ),
    neck=dict(
        type="FPN",
        in_channels=[256, 512, 1024, 2048],
        out_channels=256,  # seed: FPN_filters
        start_level=0,
        num_outs=5,  # seed: extra_FPN_layers=1 (P6 on top of P2..P5)
        # Differs from the seed: mmdet's P6 is a stride-2 3x3 conv on P5's output; the seed
        # builds its extra level its own way. Both give a stride-64 level of FPN_filters channels.
        add_extra_convs="on_output",
        # As in the seed, the FPN has no normalisation and no activation (mmdet's defaults);
        # the seed's `normalization` and `activation` apply to the head and the mask branch.
    ),
    mask_head=dict(
        type="SOLOv2DynamicHead",
        num_classes=len(classes),  # seed: ncls
        in_channels=256,  # seed: FPN_filters
        feat_channels=256,  # seed: head_filters
        stacked_convs=4,  # seed: head_layers
        strides=(4, 8, 16, 32, 64),  # seed: strides
        level_resize="none",  # seed: levels used at their own strides
        scale_ranges=((1, 96), (48, 192), (96, 384), (192, 768), (384, 2048)),  # seed: scale_ranges
        num_grids=(64, 36, 24, 16, 12),  # seed: grid_sizes
        keep_aspect_grids=True,  # seed: S cells on the long side (a 32 x 64 grid at 768 x 1536)
        dynamic_conv_size=1,  # seed: kernel_size
        norm_cfg=norm_cfg,  # seed: normalization
        act_cfg=act_cfg,  # seed: activation
        mask_feature_head=dict(
            type="SOLOv2MaskFeatBranch",
            mid_channels=128,  # seed: mask_mid_filters
            out_channels=256,  # seed: mask_output_filters
            start_level=0,
            end_level=3,
            # The seed predicts masks at H/2: mask_stride=2 (and test mask_out_stride=2) mirror
            # it at four times the mask-branch cost; 4 is mmdet's and fits 2 CPU cores.
            mask_stride=4,
            norm_cfg=norm_cfg,  # seed: normalization
            act_cfg=act_cfg,  # seed: activation
        ),
        # seed: lossweights[0]
        loss_cls=dict(type="SOLOv2FocalLoss", gamma=2.0, alpha=0.25, loss_weight=1.0),
        # seed: lossweights[1]; dice per instance (the seed pools an image's instances
        # together: pooled=True reproduces it).
        loss_mask=dict(type="SOLOv2DiceLoss", use_sigmoid=True, loss_weight=1.0),
    ),
    # Target assignment (the detector hands train_cfg to the head).
    train_cfg=dict(
        assigner=dict(
            type="SOLOv2MaskExtentAssigner",  # seed: centre and extent from the mask
            offset_factor=0.25,  # seed: offset_factor
            route_thin=True,  # seed: thin but large objects go to the level fitting their short side
        )
    ),
    test_cfg=dict(
        nms_pre=500,
        score_thr=0.1,  # the seed's predictor uses 0.5; 0.1 keeps low-score masks for COCO AP
        mask_thr=0.5,  # seed predictor: mask threshold 0.5
        filter_thr=0.05,
        kernel="gaussian",
        sigma=2.0,
        max_per_img=100,  # seed predictor: up to 400; COCO AP counts 100 per image
        mask_out_stride=1,  # 2 returns the seed's H/2 x W/2 masks
    ),
)

# The seed pads every image to its 768 x 1536 input. Here each image is resized to fit
# (1536, 768) and the data preprocessor pads batches to multiples of 32: mmdet's Pad would also
# replace img_shape at test time (predicted masks are cropped to it), and test images must see
# the grid they were trained with (S cells on the long side of the padded input).
train_pipeline = [
    dict(type="LoadSeedImage"),
    dict(type="LoadSeedInstanceMasks"),
    dict(type="Resize", scale=input_size, keep_ratio=True),
    dict(type="RandomFlip", prob=0.5),
    dict(type="PackDetInputs"),
]
test_pipeline = [
    dict(type="LoadSeedImage"),
    dict(type="Resize", scale=input_size, keep_ratio=True),
    # 'instances' carries the ground truth (RLE at original size) that CocoMetric evaluates.
    dict(
        type="PackDetInputs",
        meta_keys=("img_id", "img_path", "ori_shape", "img_shape", "scale_factor", "instances"),
    ),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    # Workers start anew each epoch, seeded from the run's seed: persistent workers would
    # carry random states a checkpoint cannot hold, and a resumed run would then differ.
    persistent_workers=False,
    sampler=dict(type="DefaultSampler", shuffle=True),
    dataset=dict(
        type="SeedInstanceDataset",
        data_root=data_root + "train",  # seed: DataLoader(DATASET_PATH)
        metainfo=dict(classes=classes),
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(
        type="SeedInstanceDataset",
        data_root=data_root + "val",
        metainfo=dict(classes=classes),
        test_mode=True,
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader

# No ann_file: CocoMetric builds the ground truth from the samples' instances.
val_evaluator = dict(type="CocoMetric", metric=["bbox", "segm"])
test_evaluator = val_evaluator

# mmdet's SOLOv2 optimisation (SGD 0.01 for 16 images, gradient clipping).
# A NaN or Inf loss skips its step (logging the iteration and the batch's images, through
# RecordBatchImagesHook below); action="stop" raises instead; 10 skips in a row stop the run.
optim_wrapper = dict(
    type="NonFiniteLossOptimWrapper",
    action="skip",
    max_consecutive=10,
    optimizer=dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=0.0001),
    clip_grad=dict(max_norm=35, norm_type=2),
)
auto_scale_lr = dict(enable=False, base_batch_size=16)

default_hooks = dict(
    logger=dict(type="LoggerHook", interval=1),  # an iteration takes seconds on a CPU: log each
    checkpoint=dict(
        # mmengine's CheckpointHook writing each checkpoint and last_checkpoint atomically
        # (temporary file, fsync, rename): a crash never leaves a torn file to resume from.
        type="AtomicCheckpointHook",
        interval=1,
        max_keep_ckpts=2,
        save_best="coco/segm_mAP",
        rule="greater",
    ),
)
# A head whose num_classes differs from the dataset's classes stops the run with the key to set.
# RandomStateCheckpointHook saves the random states in each checkpoint and keeps validation off
# training's random streams: a run resumed with --resume auto ends bit-identical to one never
# interrupted (with randomness=dict(seed=..., deterministic=True)). PortableCheckpointHook saves
# the runner's state as plain numbers, lists and tensors: torch.load(weights_only=True) opens
# the checkpoints without this plugin. tools/train.py adds both to configs that lack them.
custom_hooks = [
    dict(type="ClassCountCheckHook"),
    dict(type="RecordBatchImagesHook"),
    dict(type="RandomStateCheckpointHook"),
    dict(type="PortableCheckpointHook"),
]
