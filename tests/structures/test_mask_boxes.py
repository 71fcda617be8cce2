import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from solov2_plugin.structures import masks_to_boxes


def _reference_box(mask: np.ndarray) -> list:
    """Tight xyxy box with exclusive max corner, by a plain scan."""
    rows, cols = np.nonzero(mask)
    if len(rows) == 0:
        return [0.0, 0.0, 0.0, 0.0]
    return [cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]


def test_single_pixel_has_exclusive_max_corner():
    masks = torch.zeros(1, 5, 7, dtype=torch.bool)
    masks[0, 3, 4] = True
    assert masks_to_boxes(masks).tolist() == [[4.0, 3.0, 5.0, 4.0]]


def test_shapes_and_empty_mask():
    masks = torch.zeros(3, 8, 10, dtype=torch.bool)
    masks[0, 1:4, 2:9] = True  # rectangle
    masks[2, 6, 0] = True  # bottom-left corner pixel
    masks[2, 0:2, 9] = True  # and a top-right bit: box spans the image
    boxes = masks_to_boxes(masks)
    assert boxes.dtype == torch.float32
    assert boxes.tolist() == [[2, 1, 9, 4], [0, 0, 0, 0], [0, 0, 10, 7]]


def test_uint8_masks_and_no_instances():
    masks = torch.zeros(1, 4, 4, dtype=torch.uint8)
    masks[0, 2:, 1] = 1
    assert masks_to_boxes(masks).tolist() == [[1, 2, 2, 4]]
    assert masks_to_boxes(torch.zeros(0, 4, 4, dtype=torch.bool)).shape == (0, 4)


def test_wrong_rank_raises():
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        masks_to_boxes(torch.zeros(4, 4, dtype=torch.bool))


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    num=st.integers(1, 6),
    height=st.integers(1, 24),
    width=st.integers(1, 24),
    density=st.floats(0.0, 0.3),
)
def test_matches_reference_scan(seed, num, height, width, density):
    rng = np.random.default_rng(seed)
    masks = rng.random((num, height, width)) < density
    expected = [_reference_box(m) for m in masks]
    assert masks_to_boxes(torch.from_numpy(masks)).tolist() == expected
