"""What a fuzzed seed sample must give, and the check that the dataset gives it.

A :class:`SampleCase` holds the three files of one sample (as bytes) and the
outcome computed by the strategy that drew them, independently of the package:
the instances the sample holds (every ID of the label map, 0 = background, with
its mask ``label_map == id``, its class and crowd flag) and the decoded image,
or the files an error must name. :func:`check_case` writes the sample into a
split, builds ``SeedInstanceDataset`` with ``LoadSeedImage`` and
``LoadSeedInstanceMasks`` and asserts that outcome: exactly those instances
with exactly those masks, or a :class:`SeedFormatError` naming the offending
file (which ``check_split`` reports too). Any other exception escapes and
fails the test.

Dimension key: H, W: image height and width; N: number of instances.
"""

import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from solov2_plugin.datasets import (
    LoadSeedImage,
    LoadSeedInstanceMasks,
    SeedBoxMismatchWarning,
    SeedFormatError,
    SeedInstanceDataset,
    check_split,
)

# Classes of every fuzzed split; one name is not ASCII, to exercise the JSON's encoding.
CLASSES = ("disc", "block", "crème brûlée")
ROLES = ("image", "label map", "annotation")
# Largest difference between a JSON box and its mask's box that gives no warning.
BOX_TOLERANCE = 2.0


@dataclass
class ExpectedSample:
    """The outcome of a sample that loads.

    Attributes:
        label_map (np.ndarray): ``(H, W)`` int64 IDs the label map holds, 0 = background.
        classes (dict[int, str]): Class name of every ID of ``label_map``.
        crowd (dict[int, bool]): Crowd flag of every ID (False when absent).
        image_bgr (np.ndarray, optional): ``(H, W, 3)`` uint8 image ``LoadSeedImage``
            must give; None checks its shape only.
        image_slack (np.ndarray, optional): ``(H, W, 3)`` bool, pixels that may
            differ by 1 (16-bit values on a rounding boundary).
        box_warning (bool): Whether a JSON box lies further than the tolerance
            from its mask's box (one ``SeedBoxMismatchWarning``).
    """

    label_map: np.ndarray
    classes: Dict[int, str]
    crowd: Dict[int, bool] = field(default_factory=dict)
    image_bgr: Optional[np.ndarray] = None
    image_slack: Optional[np.ndarray] = None
    box_warning: bool = False


@dataclass
class SampleCase:
    """One fuzzed sample: its files and the outcome they must give.

    Attributes:
        kind (str): Input kind, for the tally ('label map: 16-bit .png'...).
        image_ext (str): Extension of the image file.
        image (bytes): Image file.
        label_ext (str): Extension of the label map file.
        label_map (bytes): Label map file.
        annotation (bytes): Annotation file.
        expected (ExpectedSample, optional): What loading gives; None when
            the sample must be refused.
        culprits (tuple[str, ...]): Roles (of :data:`ROLES`) whose file an
            error may name. Empty: the sample must load. Both ``expected``
            and culprits: it may load (as expected) or be refused (corrupt
            files that a decoder may or may not accept).
        verify_images (bool): The dataset's ``verify_images`` (decode every
            image while building).
    """

    kind: str
    image_ext: str
    image: bytes
    label_ext: str
    label_map: bytes
    annotation: bytes
    expected: Optional[ExpectedSample]
    culprits: Tuple[str, ...] = ()
    verify_images: bool = False

    def __post_init__(self) -> None:
        assert self.expected is not None or self.culprits, "a refused case needs a culprit"
        assert set(self.culprits) <= set(ROLES), self.culprits


def mask_boxes(label_map: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """``(N, 4)`` float32 xyxy boxes (maximum exclusive) of the IDs' pixels, by ``np.nonzero``."""
    boxes = np.zeros((len(ids), 4), np.float32)
    for row, label_id in enumerate(ids):
        ys, xs = np.nonzero(label_map == label_id)
        boxes[row] = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    return boxes


def present_ids(label_map: np.ndarray) -> np.ndarray:
    """``(N,)`` int64 IDs of a label map, ascending, background left out."""
    ids = np.unique(label_map)
    return ids[ids != 0].astype(np.int64)


def scale_16_to_8(bgr16: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The documented 16-to-8-bit scaling ``floor(v * 255 / max + 0.5)``, in exact integers.

    Args:
        bgr16 (np.ndarray): ``(H, W, 3)`` uint16 image.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(H, W, 3)`` uint8 values and a bool
        array of the pixels within 1e-4 of a rounding boundary, where float
        arithmetic may land on either side.
    """
    top = int(bgr16.max())
    if top == 0:
        return np.zeros(bgr16.shape, np.uint8), np.zeros(bgr16.shape, bool)
    values = bgr16.astype(np.int64)
    numerator = 2 * values * 255 + top
    scaled = numerator // (2 * top)
    fraction = (numerator % (2 * top)) / (2 * top)
    slack = (fraction < 1e-4) | (fraction > 1 - 1e-4)
    return scaled.astype(np.uint8), slack


def _write_split(root: Path, case: SampleCase) -> Dict[str, Path]:
    paths = {
        "image": root / "images" / f"s{case.image_ext}",
        "label map": root / "labels" / f"s{case.label_ext}",
        "annotation": root / "annotations" / "s.json",
    }
    contents = (case.image, case.label_map, case.annotation)
    for path, content in zip(paths.values(), contents):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return paths


def _build(root: Path, verify_images: bool) -> SeedInstanceDataset:
    """The split's dataset, loading with ``LoadSeedImage`` and ``LoadSeedInstanceMasks``."""
    return SeedInstanceDataset(
        data_root=str(root),
        metainfo=dict(classes=CLASSES),
        pipeline=[LoadSeedImage(), LoadSeedInstanceMasks(box_type=None)],
        test_mode=True,
        verify_images=verify_images,
        box_tolerance=BOX_TOLERANCE,
        serialize_data=False,  # mmengine's serialisation runs gc.collect(): 0.1-0.5 s a case
    )


def _check_split(root: Path, verify_images: bool) -> List[str]:
    """The paths of the problems ``check_split`` (tools/check_dataset.py) reports."""
    report = check_split(
        root, classes=CLASSES, verify_images=verify_images, box_tolerance=BOX_TOLERANCE
    )
    assert report.lines(), "the report has text"
    return [problem.path for problem in report.problems]


def _refused(case: SampleCase, paths: Dict[str, Path], error: SeedFormatError) -> str:
    """Assert that ``error`` names a culprit file; returns the tally's outcome."""
    named = {str(path): role for role, path in paths.items()}
    assert error.path in named, f"{case.kind}: error names {error.path}, not a file"
    role = named[error.path]
    assert role in case.culprits, f"{case.kind}: {role} blamed: {error}"
    assert error.path in str(error), "the message must name the file"
    return f"refused: {role}"


def _assert_loaded(case: SampleCase, info: dict, results: dict, caught: list) -> None:
    expected = case.expected
    assert expected is not None, f"{case.kind}: the sample must be refused, but it loaded"
    label_map = expected.label_map
    ids = present_ids(label_map)
    height, width = label_map.shape
    assert [i["label_id"] for i in info["instances"]] == ids.tolist(), "instances dropped/added"
    masks = results["gt_masks"].masks
    assert masks.shape == (len(ids), height, width)
    want = (label_map[None] == ids[:, None, None]).astype(np.uint8)
    assert np.array_equal(masks, want), "instance masks differ from the label map"
    labels = [CLASSES.index(expected.classes[i]) for i in ids.tolist()]
    assert results["gt_bboxes_labels"].tolist() == labels
    crowd = [expected.crowd.get(i, False) for i in ids.tolist()]
    assert results["gt_ignore_flags"].tolist() == crowd
    np.testing.assert_array_equal(results["gt_bboxes"], mask_boxes(label_map, ids))
    image = results["img"]
    assert image.dtype == np.uint8 and image.shape == (height, width, 3)
    if expected.image_bgr is not None:
        difference = np.abs(image.astype(np.int16) - expected.image_bgr.astype(np.int16))
        allowed = expected.image_slack if expected.image_slack is not None else False
        assert np.all((difference == 0) | ((difference == 1) & allowed)), "image pixels differ"
    box_warnings = [w for w in caught if issubclass(w.category, SeedBoxMismatchWarning)]
    assert len(box_warnings) == int(expected.box_warning), [str(w.message) for w in box_warnings]


def check_case(case: SampleCase) -> str:
    """Write ``case`` as a split, check and load it through the dataset; assert its outcome.

    ``check_split`` (behind tools/check_dataset.py) must report the file the
    dataset refuses while building, and nothing for a sample the dataset builds.

    Args:
        case (SampleCase): The sample and its expected outcome.

    Returns:
        str: ``'loaded'`` or ``'refused: <role>'`` (the role of the file the
        error named), for the tally.

    Raises:
        AssertionError: If the outcome is not the expected one.
        Exception: Any error other than ``SeedFormatError`` (a bug).
    """
    with tempfile.TemporaryDirectory(prefix="fuzz_") as folder:
        root = Path(folder)
        paths = _write_split(root, case)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            reported = _check_split(root, case.verify_images)
            try:
                dataset = _build(root, case.verify_images)
            except SeedFormatError as error:
                assert error.path in reported, f"check_split reports {reported}, not {error}"
                return _refused(case, paths, error)
            assert not reported, f"check_split reports {reported}; the dataset built"
            try:
                info, results = dataset.get_data_info(0), dataset[0]
            except SeedFormatError as error:  # an image undecodable by OpenCV
                return _refused(case, paths, error)
        _assert_loaded(case, info, results, list(caught))
        return "loaded"
