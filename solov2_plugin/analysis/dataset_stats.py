"""Measuring a seed-format split: image sizes, objects per image, object sizes.

:func:`analyze_split` reads every sample through the dataset package's readers
(:func:`~solov2_plugin.datasets.scan_seed_split` and
:func:`~solov2_plugin.datasets.inspect_seed_sample`, as ``tools/check_dataset.py``
does) and keeps only a few numbers per object, so a split of any size fits in
memory. :func:`stats_from_objects` builds the same statistics from arrays,
for synthetic data and tests.

Dimension key: M images, N objects (all images together).
"""

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np
from tqdm import tqdm

from ..datasets.errors import PathLike
from ..datasets.instance_maps import instance_areas
from ..datasets.seed_validation import inspect_seed_sample
from ..datasets.split_pairing import DEFAULT_DATA_PREFIX, scan_seed_split


@dataclass
class DatasetStats:
    """Sizes of the images and objects of a split, in original pixels.

    Attributes:
        split_dir (str): The split's folder ('' for synthetic statistics).
        image_sizes (np.ndarray): ``(M, 2)`` int64 ``(height, width)`` per image.
        object_image (np.ndarray): ``(N,)`` int64 index of each object's image.
        areas (np.ndarray): ``(N,)`` float64 mask areas (pixels).
        boxes (np.ndarray): ``(N, 4)`` float64 tight boxes of the masks,
            ``x0, y0, x1, y1`` with the maximum corner exclusive (as skimage's
            ``regionprops`` and mmdet).
        crowd (np.ndarray): ``(N,)`` bool, True for ``"iscrowd": 1`` objects.
        class_counts (dict[str, int]): Objects per class name.
        skipped (list[str]): One line per problem of the samples left out
            (``tools/check_dataset.py`` explains them).
    """

    split_dir: str
    image_sizes: np.ndarray
    object_image: np.ndarray
    areas: np.ndarray
    boxes: np.ndarray
    crowd: np.ndarray
    class_counts: Dict[str, int] = field(default_factory=dict)
    skipped: List[str] = field(default_factory=list)

    @property
    def num_images(self) -> int:
        """M."""
        return int(self.image_sizes.shape[0])

    @property
    def num_objects(self) -> int:
        """N, crowd objects included."""
        return int(self.areas.shape[0])

    @property
    def long_sides(self) -> np.ndarray:
        """``(M,)`` long side of each image."""
        return self.image_sizes.max(axis=1)

    @property
    def objects_per_image(self) -> np.ndarray:
        """``(M,)`` int64 number of objects in each image."""
        return np.bincount(self.object_image, minlength=self.num_images).astype(np.int64)

    @property
    def sqrt_areas(self) -> np.ndarray:
        """``(N,)`` square root of the mask areas: the object's size in pixels."""
        return np.sqrt(self.areas)

    @property
    def box_sizes(self) -> np.ndarray:
        """``(N, 2)`` ``(width, height)`` of the boxes."""
        return self.boxes[:, 2:] - self.boxes[:, :2]

    @property
    def box_centres(self) -> np.ndarray:
        """``(N, 2)`` ``(x, y)`` centres of the boxes."""
        return 0.5 * (self.boxes[:, :2] + self.boxes[:, 2:])

    @property
    def box_scales(self) -> np.ndarray:
        """``(N,)`` ``sqrt(box width * box height)``: what ``scale_ranges`` compare."""
        sizes = self.box_sizes
        return np.sqrt(sizes[:, 0] * sizes[:, 1])

    @property
    def short_sides(self) -> np.ndarray:
        """``(N,)`` short side of each object's box (what ``route_thin`` compares)."""
        return self.box_sizes.min(axis=1)

    @property
    def object_long_sides(self) -> np.ndarray:
        """``(N,)`` long side of each object's image."""
        return self.long_sides[self.object_image]


def stats_from_objects(
    image_sizes: Sequence[Sequence[int]],
    object_image: Sequence[int],
    areas: Sequence[float],
    boxes: Sequence[Sequence[float]],
    crowd: Optional[Sequence[bool]] = None,
    class_counts: Optional[Mapping[str, int]] = None,
    split_dir: str = "",
) -> DatasetStats:
    """Statistics from per-image and per-object arrays (synthetic data, tests).

    Args:
        image_sizes (Sequence): M ``(height, width)`` pairs.
        object_image (Sequence[int]): N image indices in ``[0, M)``.
        areas (Sequence[float]): N mask areas.
        boxes (Sequence): N boxes ``x0, y0, x1, y1``.
        crowd (Sequence[bool], optional): N crowd flags; none by default.
        class_counts (Mapping[str, int], optional): Objects per class.
        split_dir (str): A name for the data.

    Returns:
        DatasetStats: The statistics.

    Raises:
        ValueError: If the arrays disagree in length or an index is out of range.
    """
    sizes = np.asarray(image_sizes, np.int64).reshape(-1, 2)
    owners = np.asarray(object_image, np.int64).reshape(-1)
    area = np.asarray(areas, np.float64).reshape(-1)
    corners = np.asarray(boxes, np.float64).reshape(-1, 4)
    flags = np.zeros(len(area), bool) if crowd is None else np.asarray(crowd, bool).reshape(-1)
    if not len(owners) == len(area) == len(corners) == len(flags):
        raise ValueError(
            f"stats_from_objects: object_image ({len(owners)}), areas ({len(area)}), "
            f"boxes ({len(corners)}) and crowd ({len(flags)}) need one entry per object."
        )
    if len(owners) and (owners.min() < 0 or owners.max() >= len(sizes)):
        raise ValueError(
            f"stats_from_objects: object_image must index the {len(sizes)} image_sizes, "
            f"got values {owners.min()}..{owners.max()}."
        )
    return DatasetStats(
        split_dir, sizes, owners, area, corners, flags, dict(class_counts or {}), []
    )


def analyze_split(
    split_dir: PathLike,
    *,
    data_prefix: Optional[Mapping[str, str]] = None,
    progress: bool = False,
) -> DatasetStats:
    """Measure the images and objects of a seed-format split.

    Every sample is read and cross-checked as by ``tools/check_dataset.py``;
    samples with a problem are left out and listed in ``skipped``.

    Args:
        split_dir (str | Path): The split's folder (images/, labels/,
            annotations/).
        data_prefix (Mapping[str, str], optional): Sub-folders ``img``,
            ``seg`` and ``ann``, as for ``SeedInstanceDataset``.
        progress (bool): Show a progress bar on stderr. Defaults to False.

    Returns:
        DatasetStats: Sizes of the valid samples' images and objects.

    Raises:
        ValueError: If no sample of the split is valid (the message names the
            folder, the first problems and the check to run).
    """
    root = Path(split_dir)
    prefix = {**DEFAULT_DATA_PREFIX, **(data_prefix or {})}
    pairs, problems = scan_seed_split(
        root / prefix["img"], root / prefix["seg"], root / prefix["ann"]
    )
    skipped = [str(problem) for problem in problems]
    sizes: List[List[int]] = []
    owners: List[np.ndarray] = []
    areas: List[np.ndarray] = []
    boxes: List[np.ndarray] = []
    crowd: List[np.ndarray] = []
    classes: Counter = Counter()
    for paths in tqdm(pairs, desc="measuring", unit="img", disable=not progress):
        sample, found = inspect_seed_sample(paths)
        if sample is None:
            skipped.extend(str(problem) for problem in found)
            continue
        num = len(sample.ids)
        owners.append(np.full(num, len(sizes), np.int64))
        sizes.append([sample.height, sample.width])
        areas.append(instance_areas(sample.index_map, num).astype(np.float64))
        boxes.append(sample.boxes.astype(np.float64))
        crowd.append(sample.crowd)
        classes.update(sample.class_names)
    if not sizes:
        listed = "; ".join(skipped[:3]) or "no sample found"
        raise ValueError(
            f"{root}: no valid sample to measure ({listed}). Run "
            f"'python tools/check_dataset.py {root}' and fix what it reports."
        )
    return DatasetStats(
        split_dir=str(root),
        image_sizes=np.asarray(sizes, np.int64),
        object_image=np.concatenate(owners),
        areas=np.concatenate(areas),
        boxes=np.concatenate(boxes).reshape(-1, 4),
        crowd=np.concatenate(crowd).astype(bool),
        class_counts=dict(sorted(classes.items())),
        skipped=skipped,
    )
