"""Target assignment: hand-computed cases for both modes, edge cases, invariants.

Unless stated, inputs are 64 x 64 with mask features of 16 x 16 (stride 4),
so an 8 x 8 grid has cells of 8 x 8 pixels.
"""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from solov2_plugin.models.task_modules import LevelTargets, assign_solo_targets
from solov2_plugin.testing import random_instance_masks

BG = 5  # num_classes: the background label


def _boxes_to_masks(boxes, size=(64, 64)):
    """Rectangles [y1, y2) x [x1, x2) -> (N, H, W) bool masks."""
    masks = torch.zeros(len(boxes), *size, dtype=torch.bool)
    for k, (y1, y2, x1, x2) in enumerate(boxes):
        masks[k, y1:y2, x1:x2] = True
    return masks


def _assign(masks, labels, **kwargs):
    options = dict(num_classes=BG, grid_sizes=[(8, 8)], scale_ranges=[(1, 64)], mask_size=(16, 16))
    options.update(kwargs)
    return assign_solo_targets(masks, torch.tensor(labels), **options)


def _block_target(y1, y2, x1, x2, size=(16, 16)):
    """Mask target of a rectangle whose sides are multiples of 4 (stride 4)."""
    target = torch.zeros(size)
    target[y1 // 4 : y2 // 4, x1 // 4 : x2 // 4] = 1
    return target


# Instance A: rows [8, 32), cols [12, 44); centre of mass (19.5, 27.5), box 32 x 24.
RECT_A = (8, 32, 12, 44)
# Instance B: rows [16, 24), cols [24, 32); the same centre of mass as A.
RECT_B = (16, 24, 24, 32)


def test_mmdet_single_instance_region():
    masks = _boxes_to_masks([RECT_A])
    # pos_scale 0.2: half sizes 2.4 x 3.2 px stay in the centre cell (2, 3).
    (level,) = _assign(masks, [4], mode="mmdet", pos_scale=0.2)
    assert isinstance(level, LevelTargets)
    assert level.pos_inds.tolist() == [2 * 8 + 3]
    assert level.labels.shape == (64,) and level.labels.dtype == torch.long
    assert level.labels[19] == 4 and (level.labels != BG).sum() == 1
    assert level.mask_targets.dtype == torch.float32
    torch.testing.assert_close(level.mask_targets[0], _block_target(*RECT_A))

    # pos_scale 0.5: rows trunc(13.5/8)=1 .. trunc(25.5/8)=3, cols 2 .. 4.
    (level,) = _assign(masks, [4], mode="mmdet", pos_scale=0.5)
    assert level.pos_inds.tolist() == [10, 11, 12, 18, 19, 20, 26, 27, 28]
    # pos_scale 1.0: rows 0..3 and cols 1..5 before the clamp to the centre cell +-1.
    (wide,) = _assign(masks, [4], mode="mmdet", pos_scale=1.0)
    assert wide.pos_inds.tolist() == level.pos_inds.tolist()
    assert torch.equal(wide.mask_targets, level.mask_targets)


def test_mmdet_duplicate_claims_keep_one_target_per_claim():
    masks = _boxes_to_masks([RECT_A, RECT_B])
    (level,) = _assign(masks, [1, 3], mode="mmdet")
    # Both claim cell 19: two entries, instance order; the label is the last claimant's.
    assert level.pos_inds.tolist() == [19, 19]
    assert level.labels[19] == 3
    assert (level.labels != BG).sum() == 1
    torch.testing.assert_close(level.mask_targets[0], _block_target(*RECT_A))
    torch.testing.assert_close(level.mask_targets[1], _block_target(*RECT_B))


def test_mmdet_uses_given_boxes_for_scale_and_region():
    masks = _boxes_to_masks([RECT_B])  # 8 x 8 mask: scale 8
    big_box = torch.tensor([[0.0, 0.0, 64.0, 64.0]])  # scale 64
    (level,) = _assign(masks, [0], mode="mmdet", scale_ranges=[(1, 16)])
    assert level.pos_inds.numel() == 1
    (level,) = _assign(masks, [0], mode="mmdet", scale_ranges=[(1, 16)], gt_bboxes=big_box)
    assert level.pos_inds.numel() == 0
    (level,) = _assign(masks, [0], mode="mmdet", scale_ranges=[(1, 64)], gt_bboxes=big_box)
    assert level.pos_inds.tolist() == [10, 11, 12, 18, 19, 20, 26, 27, 28]


def test_scale_ranges_include_both_bounds():
    masks = _boxes_to_masks([RECT_B])  # scale exactly 8
    for mode in ("mmdet", "seed"):
        levels = _assign(
            masks,
            [0],
            mode=mode,
            grid_sizes=[(8, 8)] * 3,
            scale_ranges=[(1, 8), (8, 16), (9, 64)],
        )
        assert [lvl.pos_inds.numel() > 0 for lvl in levels] == [True, True, False]


def test_seed_region_and_smaller_instance_wins():
    masks = _boxes_to_masks([RECT_A, RECT_B])
    # Seed centres use pixel centres: (20, 28) for both. A (24 x 32, offset 0.25):
    # rows floor(14/8)=1 .. floor(26/8)=3, cols floor(20/8)=2 .. floor(36/8)=4.
    # B (8 x 8): only its centre cell (2, 3) = 19, which both own: the smaller B wins.
    (level,) = _assign(masks, [1, 3], mode="seed", offset_factor=0.25)
    assert level.pos_inds.tolist() == [10, 11, 12, 18, 19, 20, 26, 27, 28]
    expected = torch.full((64,), BG)
    expected[[10, 11, 12, 18, 20, 26, 27, 28]] = 1
    expected[19] = 3
    assert torch.equal(level.labels, expected)
    for cell, target in zip(level.pos_inds.tolist(), level.mask_targets):
        rect = RECT_B if cell == 19 else RECT_A
        torch.testing.assert_close(target, _block_target(*rect))


def test_seed_own_centre_beats_smaller_instance():
    # C: 32 x 32 at rows/cols [8, 40): centre (24, 24) -> cell (3, 3), region rows/cols 2..4.
    # D: rows [28, 36), cols [20, 52): centre (32, 36) -> cell (4, 4), rows 3..4, cols 3..5.
    masks = _boxes_to_masks([(8, 40, 8, 40), (28, 36, 20, 52)])
    (level,) = _assign(masks, [0, 1], mode="seed")
    grid = level.labels.view(8, 8)
    assert grid[3, 3] == 0  # C's own centre, although D is smaller and claims it too
    assert grid[4, 4] == 1 and grid[3, 4] == 1 and grid[4, 3] == 1  # D: own centre, smaller
    assert grid[2, 2:5].tolist() == [0, 0, 0] and grid[3:5, 2].tolist() == [0, 0]
    assert grid[3:5, 5].tolist() == [1, 1]
    assert (grid != BG).sum() == 11
    assert level.pos_inds.tolist() == sorted(set(level.pos_inds.tolist()))


def test_seed_rectangular_grid():
    # Input 64 x 128, grid 4 x 8: cells of 16 x 16 pixels.
    masks = _boxes_to_masks([(16, 32, 80, 112)], size=(64, 128))
    (level,) = _assign(masks, [2], mode="seed", grid_sizes=[(4, 8)], mask_size=(16, 32))
    # Centre (24, 96) -> cell (1, 6); half sizes 4 x 8 -> rows 1..1, cols 5..6.
    assert level.labels.shape == (32,)
    assert level.pos_inds.tolist() == [1 * 8 + 5, 1 * 8 + 6]
    assert level.mask_targets.shape == (2, 16, 32)
    torch.testing.assert_close(level.mask_targets[0], _block_target(16, 32, 80, 112, size=(16, 32)))


@pytest.mark.parametrize("mode", ["mmdet", "seed"])
def test_no_instances(mode):
    levels = assign_solo_targets(
        torch.zeros(0, 64, 96, dtype=torch.bool),
        torch.zeros(0, dtype=torch.long),
        num_classes=BG,
        grid_sizes=[(8, 8), (4, 6)],
        scale_ranges=[(1, 32), (16, 128)],
        mask_size=(16, 24),
        mode=mode,
    )
    assert [lvl.labels.shape for lvl in levels] == [(64,), (24,)]
    for lvl in levels:
        assert (lvl.labels == BG).all()
        assert lvl.pos_inds.shape == (0,)
        assert lvl.mask_targets.shape == (0, 16, 24)


@pytest.mark.parametrize("mode", ["mmdet", "seed"])
def test_empty_and_vanishing_masks(mode):
    masks = torch.zeros(3, 64, 64, dtype=torch.bool)
    masks[1, 0, 0] = True  # one pixel the stride-4 resampling never sees
    masks[2, 40:44, 40:44] = True
    boxes = torch.tensor([[10.0, 10.0, 30.0, 30.0], [0, 0, 1, 1], [40, 40, 44, 44]])
    (level,) = _assign(masks, [0, 1, 2], mode=mode, gt_bboxes=boxes if mode == "mmdet" else None)
    # The empty mask claims nothing, even with a box; the one-pixel mask claims cell 0.
    assert level.pos_inds.tolist() == [0, 5 * 8 + 5]
    assert level.labels[0] == 1 and level.labels[45] == 2 and (level.labels != BG).sum() == 2
    assert level.mask_targets[0].sum() == 0
    assert level.mask_targets[1].sum() == 1
    assert torch.isfinite(level.mask_targets).all()


def test_thin_rod_mmdet():
    # Rod rows [30, 32), cols [4, 60): centre (30.5, 31.5) -> cell (3, 3); half sizes
    # 0.2 x 5.6 px -> rows 3..3, cols trunc(25.9/8)=3 .. trunc(37.1/8)=4.
    masks = _boxes_to_masks([(30, 32, 4, 60)])
    (level,) = _assign(masks, [2], mode="mmdet")
    assert level.pos_inds.tolist() == [27, 28]
    # Bilinear sampling at rows 29/30 sees half the rod: 0.5 >= 0.5 keeps row 7.
    expected = torch.zeros(16, 16)
    expected[7, 1:15] = 1
    torch.testing.assert_close(level.mask_targets[0], expected)


def test_seed_routes_thin_objects_by_short_side():
    size, mask_size = (64, 1024), (16, 256)
    rods = [
        (8, 14, 100, 300),  # 6 x 200: scale 34.6 -> levels 0, 1; stride 8 > 6
        (20, 32, 100, 500),  # 12 x 400: scale 69.3 -> levels 1, 2; stride 16 > 12
        (40, 50, 10, 1010),  # 10 x 1000: scale 100 -> level 2 only; moves to level 1
        (10, 50, 600, 640),  # 40 x 40: not thin, stays on levels 0, 1
    ]
    options = dict(
        mode="seed",
        grid_sizes=[(8, 128), (4, 64), (2, 32)],
        scale_ranges=[(1, 48), (24, 96), (48, 192)],
        strides=[4, 8, 16],
        mask_size=mask_size,
    )
    masks = _boxes_to_masks(rods, size=size)

    def classes_per_level(levels):
        return [set(lvl.labels[lvl.labels != BG].tolist()) for lvl in levels]

    plain = _assign(masks, [0, 1, 2, 3], **options)
    assert classes_per_level(plain) == [{0, 3}, {0, 1, 3}, {1, 2}]
    routed = _assign(masks, [0, 1, 2, 3], route_thin=True, **options)
    assert classes_per_level(routed) == [{0, 3}, {1, 2, 3}, set()]


def test_invalid_arguments_raise():
    masks = _boxes_to_masks([RECT_A])
    with pytest.raises(ValueError, match="mode"):
        _assign(masks, [0], mode="fcos")
    with pytest.raises(ValueError, match="gt_labels"):
        _assign(masks, [0, 1])
    with pytest.raises(ValueError, match="scale ranges"):
        _assign(masks, [0], grid_sizes=[(8, 8), (4, 4)])
    with pytest.raises(ValueError, match="route_thin"):
        _assign(masks, [0], mode="seed", route_thin=True)
    with pytest.raises(ValueError, match="route_thin"):
        _assign(masks, [0], mode="mmdet", route_thin=True, strides=[8])
    with pytest.raises(ValueError, match="gt_bboxes"):
        _assign(masks, [0], gt_bboxes=torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        _assign(masks[0], [0])


@pytest.mark.parametrize(
    ("mode", "option", "owner"),
    [
        ("mmdet", dict(offset_factor=0.25), "SOLOv2MaskExtentAssigner"),
        ("mmdet", dict(route_thin=False), "SOLOv2MaskExtentAssigner"),
        ("seed", dict(pos_scale=0.2), "SOLOv2CenterRegionAssigner"),
    ],
)
def test_an_option_of_the_other_mode_raises_instead_of_being_ignored(mode, option, owner):
    (name,) = option
    with pytest.raises(ValueError, match=rf"\['{name}'\].*{owner}"):
        _assign(_boxes_to_masks([RECT_A]), [0], mode=mode, **option)


@pytest.mark.parametrize("mode", ["mmdet", "seed"])
@pytest.mark.parametrize("bad", [BG, BG + 3, -1])
def test_out_of_range_label_raises(mode, bad):
    masks = _boxes_to_masks([RECT_A, RECT_B])
    with pytest.raises(ValueError, match=rf"\[{bad}\] outside the valid range 0\.\.4"):
        _assign(masks, [0, bad], mode=mode)
    # An empty mask with a bad label is still bad data.
    masks[1] = False
    with pytest.raises(ValueError, match="model.mask_head.num_classes"):
        _assign(masks, [0, bad], mode=mode)


def _random_scene(seed, num, size=(64, 96)):
    """Overlapping ellipses and rectangles of varied size, some empty or tiny."""
    rng = np.random.default_rng(seed)
    masks = random_instance_masks(rng, num, size, side_range=(0.6, 80.0), allow_empty=True)
    labels = rng.integers(0, BG, num)
    return torch.from_numpy(masks), torch.from_numpy(labels)


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    num=st.integers(0, 12),
    mode=st.sampled_from(["mmdet", "seed"]),
)
def test_invariants_on_random_scenes(seed, num, mode):
    masks, labels = _random_scene(seed, num)
    levels = assign_solo_targets(
        masks,
        labels,
        num_classes=BG,
        grid_sizes=[(12, 12), (6, 9)] if mode == "seed" else [12, 6],
        scale_ranges=[(1, 24), (12, 128)],
        mask_size=(16, 24),
        mode=mode,
        strides=[4, 8],
        **(dict(route_thin=True) if mode == "seed" else {}),
    )
    for level in levels:
        positive = level.labels != BG
        cells = level.pos_inds.tolist()
        assert set(cells) == set(torch.nonzero(positive).flatten().tolist())
        assert level.mask_targets.shape == (len(cells), 16, 24)
        assert set(level.mask_targets.unique().tolist()) <= {0.0, 1.0}
        assert set(level.labels.tolist()) <= set(labels.tolist()) | {BG}
        if mode == "seed":
            assert cells == sorted(set(cells))
        else:
            assert len(cells) >= int(positive.sum())


@pytest.mark.parametrize("mode", ["mmdet", "seed"])
def test_batch_assignment_equals_one_image_at_a_time(mode):
    """assign_batch lists the claims by level, then image, each image as :meth:`assign`."""
    from solov2_plugin.models.task_modules.assigners import ASSIGNER_MODES

    assigner = ASSIGNER_MODES[mode](**(dict(route_thin=True) if mode == "seed" else {}))
    scenes = [_random_scene(seed, num) for seed, num in ((1, 9), (2, 0), (3, 12))]
    options = dict(
        num_classes=BG,
        grid_sizes=[(12, 12), (6, 9)],
        scale_ranges=[(1, 24), (12, 128)],
        mask_size=(16, 24),
        strides=[4, 8],
    )
    batch = assigner.assign_batch([m for m, _ in scenes], [lab for _, lab in scenes], **options)
    singles = [assigner.assign(masks, labels, **options) for masks, labels in scenes]
    first_claim, first_cell, offsets = 0, 0, np.cumsum([0] + [len(lab) for _, lab in scenes])
    for level, (rows, cols) in enumerate(options["grid_sizes"]):
        for img, levels in enumerate(singles):
            count = batch.counts[level][img]
            claims = slice(first_claim, first_claim + count)
            assert torch.equal(
                batch.labels[first_cell : first_cell + rows * cols], levels[level].labels
            )
            assert torch.equal(batch.cells[claims], levels[level].pos_inds)
            assert (batch.levels[claims] == level).all() and (batch.images[claims] == img).all()
            instances = batch.instances[claims] - int(offsets[img])
            assert torch.equal(
                batch.mask_targets[batch.instances[claims]], levels[level].mask_targets
            )
            assert ((instances >= 0) & (instances < len(scenes[img][1]))).all()
            first_claim += count
            first_cell += rows * cols
    assert first_claim == len(batch.cells) > 10 and first_cell == len(batch.labels)
    assert batch.num_pos == (batch.labels != BG).sum()


@pytest.mark.parametrize(
    "shape", [(5, 64, 64), (3, 300, 2048), (2, 131, 16), (4, 40, 20), (2, 1, 8)]
)
def test_packed_projections_count_every_pixel(shape):
    from solov2_plugin.models.task_modules.solo_targets import _projections

    masks = torch.rand(shape, generator=torch.Generator().manual_seed(0)) < 0.8
    rows, cols = _projections(masks)
    assert torch.equal(rows, masks.sum(2)) and torch.equal(cols, masks.sum(1))
    full = torch.ones(2, 127 * 3, 127 * 8, dtype=torch.bool)  # every byte lane at its limit
    rows, cols = _projections(full)
    assert (rows == 127 * 8).all() and (cols == 127 * 3).all()


def test_binary_mask_tensor_views_bitmap_bytes_and_keeps_nonzero_semantics():
    from mmdet.structures.mask import BitmapMasks

    from solov2_plugin.models.task_modules.solo_targets import binary_mask_tensor

    array = np.zeros((2, 8, 16), dtype=np.uint8)
    array[0, 2:5, 3:9] = 1
    bitmap = BitmapMasks(array, 8, 16)
    as_bool = binary_mask_tensor(bitmap, "cpu")
    assert as_bool.dtype == torch.bool and as_bool.data_ptr() == bitmap.masks.ctypes.data
    assert torch.equal(as_bool, torch.from_numpy(array != 0))
    array[1, 0, 0] = 255  # not 0/1: converted, nonzero is foreground
    converted = binary_mask_tensor(BitmapMasks(array, 8, 16), "cpu")
    assert torch.equal(converted, torch.from_numpy(array != 0))
    assert torch.equal(binary_mask_tensor(torch.from_numpy(array), "cpu"), converted)
    empty = binary_mask_tensor(BitmapMasks(np.zeros((0, 8, 16), np.uint8), 8, 16), "cpu")
    assert empty.shape == (0, 8, 16) and empty.dtype == torch.bool
