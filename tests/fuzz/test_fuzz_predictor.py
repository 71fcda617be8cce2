"""The fuzzed images through ``SOLOv2Predictor`` (the session's tiny checkpoint), as files
and as in-memory arrays of any dtype, shape and channel count.

Each input gives either a clear error (``UnreadableImageError`` naming the file, or
``ValueError`` naming the array's dtype or shape) or a result at the image's size: masks
``(N, H, W)`` bool, labels among the classes, scores in [0, 1] best first, boxes the masks'
tight boxes. Few examples: every valid input costs a forward pass.
"""

import tempfile
from pathlib import Path
from typing import Optional, Tuple

import cv2
import numpy as np
import pytest
from fuzz_strategies import ARRAY_FAULTS, CORRUPTIONS, IMAGE_KINDS, arrays, image_files
from hypothesis import given, settings
from hypothesis import strategies as st

from solov2_plugin.apis import UnreadableImageError

# PIL warns about the corrupt TIFF headers it reads past; they are the point here.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:PIL.TiffImagePlugin")

MAX_PER_IMAGE = 8  # the session predictor keeps at most 8 instances an image
# The default run: three intact kinds (each costs a forward pass), every corruption; the
# slow run takes every kind.
DEFAULT_KINDS = ["png 2ch 16-bit", "tiff 4ch 8-bit", "jpeg 3ch 8-bit", *CORRUPTIONS]


def assert_prediction(result, size: Tuple[int, int], num_classes: int) -> None:
    """A result at ``size`` (H, W) with consistent masks, labels, scores and boxes."""
    count = len(result.scores)
    assert count <= MAX_PER_IMAGE
    assert result.masks.shape == (count, *size) and result.masks.dtype == bool
    assert result.labels.shape == (count,) and result.labels.dtype == np.int64
    assert np.all((result.labels >= 0) & (result.labels < num_classes)), result.labels
    assert result.scores.dtype == np.float32
    assert np.all((result.scores >= 0) & (result.scores <= 1)), result.scores
    assert np.all(np.diff(result.scores) <= 0), "scores come best first"
    assert result.bboxes.shape == (count, 4)
    for mask, box in zip(result.masks, result.bboxes):
        if mask.any():
            ys, xs = np.nonzero(mask)
            np.testing.assert_array_equal(box, [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])


def check_path(predictor, kind: str, extension: str, data: bytes, size, refused: bool) -> str:
    """Predict on the file; returns the outcome for the tally."""
    with tempfile.TemporaryDirectory(prefix="fuzz_") as folder:
        path = Path(folder) / f"image{extension}"
        path.write_bytes(data)
        try:
            result = predictor(path)
        except UnreadableImageError as error:
            assert str(path) in str(error), "the message must name the file"
            return "refused: UnreadableImageError"
        assert not refused, f"{kind}: {path} must be refused, but gave a result"
        if min(size) == 0 or kind.startswith(("image: truncated", "image: bytes", "image: garb")):
            decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            size = decoded.shape[:2]  # a corrupt file decodes to what its header says
        assert_prediction(result, tuple(size), len(predictor.class_names))
        return "predicted"


@pytest.mark.parametrize("image_kind", DEFAULT_KINDS)
@settings(settings.get_profile("fuzz"), max_examples=1)
@given(data=st.data())
def test_image_files_predict_or_name_the_file(
    image_kind: str, data: st.DataObject, predictor, fuzz_tally
) -> None:
    kind, extension, content, size, _, refused = data.draw(image_files(image_kind), label="file")
    outcome = check_path(predictor, kind, extension, content, size, refused)
    fuzz_tally.record(f"predictor file: {kind.partition(': ')[2]}", outcome)


@pytest.mark.slow
@pytest.mark.parametrize("image_kind", IMAGE_KINDS)
@settings(settings.get_profile("fuzz-slow"), max_examples=2)
@given(data=st.data())
def test_image_files_predict_or_name_the_file_many(
    image_kind: str, data: st.DataObject, predictor, fuzz_tally
) -> None:
    kind, extension, content, size, _, refused = data.draw(image_files(image_kind), label="file")
    outcome = check_path(predictor, kind, extension, content, size, refused)
    fuzz_tally.record(f"predictor file: {kind.partition(': ')[2]}", outcome)


def check_array(predictor, kind: str, array: np.ndarray, valid: Optional[bool]) -> str:
    """Predict on the array (valid None: a result or a clear error); returns the outcome."""
    try:
        result = predictor(array)
    except ValueError as error:
        assert not valid, f"{kind}: a valid array was refused: {error}"
        message = str(error)
        height, width = array.shape[:2]
        assert f"({height}, {width}" in message or str(array.dtype) in message, message
        return "refused: ValueError"
    assert valid is not False, f"{kind}: must be refused, but gave a result"
    assert_prediction(result, array.shape[:2], len(predictor.class_names))
    return "predicted"


@settings(settings.get_profile("fuzz"), max_examples=2)
@given(drawn=arrays())
def test_valid_arrays_predict(drawn, predictor, fuzz_tally) -> None:
    kind, array = drawn
    fuzz_tally.record(f"predictor {kind}", check_array(predictor, kind, array, valid=True))


@pytest.mark.parametrize("fault", ARRAY_FAULTS)
@settings(settings.get_profile("fuzz"), max_examples=5)
@given(data=st.data())
def test_malformed_arrays_name_the_problem(fault: str, data, predictor, fuzz_tally) -> None:
    kind, array = data.draw(arrays(fault), label="array")
    fuzz_tally.record(f"predictor {kind}", check_array(predictor, kind, array, valid=False))


@pytest.mark.slow
@settings(settings.get_profile("fuzz-slow"), max_examples=20)
@given(drawn=arrays())
def test_valid_arrays_predict_many(drawn, predictor, fuzz_tally) -> None:
    kind, array = drawn
    fuzz_tally.record(f"predictor {kind}", check_array(predictor, kind, array, valid=True))


@pytest.mark.slow
@pytest.mark.parametrize("fault", ARRAY_FAULTS)
@settings(settings.get_profile("fuzz-slow"), max_examples=60)
@given(data=st.data())
def test_malformed_arrays_name_the_problem_many(fault: str, data, predictor, fuzz_tally) -> None:
    kind, array = data.draw(arrays(fault), label="array")
    fuzz_tally.record(f"predictor {kind}", check_array(predictor, kind, array, valid=False))


@pytest.mark.parametrize(
    "shape",
    [
        (1, 600, 3),
        (600, 1, 3),
        (2, 1000, 3),
    ],
)
def test_extreme_aspect_ratios_predict(predictor, shape: Tuple[int, int, int], fuzz_tally) -> None:
    """Thin strips, whose short side the test pipeline's Resize rounds towards 0 px: a
    result or a ValueError naming the shape."""
    array = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    kind = f"array: extreme aspect, uint8 {shape[0]}x{shape[1]}x3"
    fuzz_tally.record(f"predictor {kind}", check_array(predictor, kind, array, valid=None))
