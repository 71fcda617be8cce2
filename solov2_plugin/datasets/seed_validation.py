"""Cross-checking the three files of a seed-format sample, collecting every problem.

Dimension key: H, W: image height and width; N: number of instances.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from .errors import SeedFormatError, short_listing
from .instance_maps import index_label_map, instance_boxes
from .seed_readers import ImageInfo, read_annotation, read_image_info, read_label_map
from .semantic_maps import count_regions
from .split_pairing import SeedSamplePaths


@dataclass
class SeedSample:
    """One sample of a split, validated and indexed.

    Attributes:
        paths (SeedSamplePaths): Its files.
        height (int): Image and label-map height H.
        width (int): Image and label-map width W.
        label_bits (int): Bits per ID of the stored label map (8, 16 or 32).
        ids (np.ndarray): ``(N,)`` int64 label IDs in ascending order.
        class_names (list[str]): N class names.
        crowd (np.ndarray): ``(N,)`` bool, True for ``"iscrowd": 1`` entries.
        index_map (np.ndarray): ``(H, W)`` int32, -1 on background, ``i`` on
            the pixels of ``ids[i]``.
        boxes (np.ndarray): ``(N, 4)`` float32 boxes derived from the masks
            (xyxy, maximum exclusive).
        box_mismatch (list[int]): IDs whose JSON box differs from the mask's
            box by more than the tolerance.
        image (ImageInfo, optional): The image's mode and bit depth.
        region_counts (np.ndarray): ``(N,)`` int64 separate regions of each
            ID (see :mod:`.semantic_maps`).
    """

    paths: SeedSamplePaths
    height: int
    width: int
    label_bits: int
    ids: np.ndarray
    class_names: List[str]
    crowd: np.ndarray
    index_map: np.ndarray
    boxes: np.ndarray
    box_mismatch: List[int] = field(default_factory=list)
    image: Optional[ImageInfo] = None
    region_counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


def inspect_seed_sample(
    paths: SeedSamplePaths,
    classes: Optional[Sequence[str]] = None,
    *,
    verify_image: bool = False,
    box_tolerance: float = 2.0,
    backend_args: Optional[dict] = None,
) -> Tuple[Optional[SeedSample], List[SeedFormatError]]:
    """Read and cross-check the three files of a sample, collecting every problem.

    Args:
        paths (SeedSamplePaths): The sample's files.
        classes (Sequence[str], optional): Known class names; None accepts any.
        verify_image (bool): Decode the whole image (finds truncated files)
            instead of reading its header only. Defaults to False.
        box_tolerance (float): Largest difference in pixels between a JSON box
            and the mask's box that is not reported. Defaults to 2.
        backend_args (dict, optional): mmengine file backend arguments.

    Returns:
        tuple: The sample (None if any problem was found) and the list of
        problems, one :class:`SeedFormatError` each.
    """
    problems: List[SeedFormatError] = []

    def attempt(read: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return read(*args, **kwargs)
        except SeedFormatError as error:
            problems.append(error)
            return None

    image = attempt(read_image_info, paths.img_path, verify_image, backend_args)
    label_map = attempt(read_label_map, paths.label_map_path, backend_args)
    entries = attempt(read_annotation, paths.ann_path, backend_args, classes)
    size = (image.height, image.width) if image is not None else None
    if label_map is not None and size is not None and label_map.shape != size:
        problems.append(
            SeedFormatError(
                paths.label_map_path,
                f"The label map is {label_map.shape[0]}x{label_map.shape[1]} (HxW) but its image "
                f"{Path(paths.img_path).name} is {size[0]}x{size[1]}.",
                "Label maps must have their image's size; re-export the label map at full "
                "resolution or fix the pairing of files.",
            )
        )
    if entries is not None and classes is not None:
        unknown = sorted({e["class"] for e in entries.values()} - set(classes))
        if unknown:
            problems.append(
                SeedFormatError(
                    paths.ann_path,
                    f"Class name(s) {short_listing(repr(n) for n in unknown)} are not among the "
                    f"dataset's classes {tuple(classes)}.",
                    "Fix the names in the file, or add the classes to metainfo['classes'] / "
                    "cls_ind.",
                )
            )
    if label_map is None or entries is None:
        return None, problems
    ids, index_map = index_label_map(label_map)
    id_list = ids.tolist()
    only_in_map = sorted(set(id_list) - set(entries))
    only_in_json = sorted(set(entries) - set(id_list))
    if only_in_map:
        problems.append(
            SeedFormatError(
                paths.ann_path,
                f"Label ID(s) {short_listing(only_in_map)} of "
                f"{Path(paths.label_map_path).name} have no entry in the annotation.",
                'Add an entry "<id>": {"class": ..., "bbox": ...} for each, or set those '
                "pixels to 0 in the label map.",
            )
        )
    if only_in_json:
        problems.append(
            SeedFormatError(
                paths.ann_path,
                f"Label ID(s) {short_listing(only_in_json)} of the annotation do not occur in "
                f"{Path(paths.label_map_path).name}.",
                "Remove those entries, or check that the label map is the right file and was "
                "saved losslessly.",
            )
        )
    if problems:
        return None, problems
    boxes = instance_boxes(index_map, len(id_list))
    json_boxes = np.array(
        [entries[i]["bbox"] if entries[i]["bbox"] is not None else [np.nan] * 4 for i in id_list],
        np.float64,
    ).reshape(-1, 4)
    with np.errstate(invalid="ignore"):
        far = np.abs(json_boxes - boxes).max(axis=1, initial=0.0) > box_tolerance
    sample = SeedSample(
        paths=paths,
        height=int(label_map.shape[0]),
        width=int(label_map.shape[1]),
        label_bits=8 * label_map.dtype.itemsize,
        ids=ids,
        class_names=[entries[i]["class"] for i in id_list],
        crowd=np.array([entries[i]["iscrowd"] for i in id_list], bool),
        index_map=index_map,
        boxes=boxes,
        box_mismatch=[i for i, bad in zip(id_list, far.tolist()) if bad],
        image=image,
        region_counts=count_regions(index_map, boxes),
    )
    return sample, []


def read_seed_sample(
    paths: SeedSamplePaths, classes: Optional[Sequence[str]] = None, **options: Any
) -> SeedSample:
    """Like :func:`inspect_seed_sample` (same keyword options), but raise the first problem.

    Raises:
        SeedFormatError: The first problem of the sample.
    """
    sample, problems = inspect_seed_sample(paths, classes, **options)
    if problems:
        raise problems[0]
    return sample
