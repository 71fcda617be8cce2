"""The dataset check: every problem of a seed-format split in one pass, then a summary.

:func:`check_split` reads and cross-checks every sample (pairing of files,
lossless label maps, sizes, IDs of the map against the JSON, class names, JSON
syntax, complete images) and returns a :class:`SplitReport` whose
:meth:`~SplitReport.lines` are what ``tools/check_dataset.py`` prints.
"""

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Mapping, Optional, Sequence, Tuple

import numpy as np
from tqdm import tqdm

from .class_index import read_cls_ind
from .errors import PathLike, SeedFormatError, short_listing
from .instance_maps import instance_areas
from .seed_validation import SeedSample, inspect_seed_sample
from .semantic_maps import semantic_map_advice, semantic_map_evidence
from .split_pairing import DEFAULT_DATA_PREFIX, scan_seed_split

# COCO's size splits, on the instance's pixel area.
SMALL_AREA, MEDIUM_AREA = 32**2, 96**2
# Files named in a warning that gathers many.
_LISTED_FILES = 5


@dataclass
class SplitReport:
    """What the check of a split found.

    Attributes:
        data_root (Path): The split's folder.
        classes (list[str], optional): The known classes, if any.
        classes_file (Path, optional): The ``classes.json`` found beside or
            above the split, when the classes came from there.
        paired (int): Samples whose three files were found.
        samples (list[SeedSample]): The valid samples.
        problems (list[SeedFormatError]): Every problem, in the order found.
        warnings (list[str]): Doubtful but usable data (box disagreements,
            likely semantic maps, 16-bit or greyscale images).
    """

    data_root: Path
    classes: Optional[List[str]]
    classes_file: Optional[Path] = None
    paired: int = 0
    samples: List[SeedSample] = field(default_factory=list)
    problems: List[SeedFormatError] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)

    @property
    def exit_status(self) -> int:
        """1 when a problem was found, else 0."""
        return 1 if self.problems else 0

    def lines(self) -> List[str]:
        """The printed report: classes file, summary, warnings, problems, a last count."""
        lines = [f"classes: {self.classes_file}"] if self.classes_file else []
        lines += summarize(self.samples, self.classes)
        lines += [f"warning: {text}" for text in self.warnings]
        lines += [f"problem: {problem}" for problem in self.problems]
        lines.append(
            f"{len(self.problems)} problem(s), {len(self.warnings)} warning(s); "
            f"{len(self.samples)} of {self.paired} paired sample(s) are valid."
        )
        return lines


def find_classes(
    data_root: PathLike,
    cls_ind: Optional[PathLike] = None,
    classes: Optional[Sequence[str]] = None,
) -> Tuple[Optional[List[str]], Optional[List[int]], Optional[Path]]:
    """The classes of a split, their seed indices, and the ``classes.json`` used.

    Args:
        data_root (str | Path): The split's folder.
        cls_ind (str | Path, optional): A seed-style class index JSON.
        classes (Sequence[str], optional): Class names in label order (seed
            indices 1..K).

    Returns:
        tuple: Names and indices (both None when nothing is given or found),
        and the ``classes.json`` found in or above ``data_root`` (None when
        the classes were given).

    Raises:
        ValueError: If the class index cannot be read.
    """
    if classes:
        return list(classes), list(range(1, len(classes) + 1)), None
    found = None
    if cls_ind is None:
        root = Path(data_root)
        candidates = (root / "classes.json", root.parent / "classes.json")
        found = next((p for p in candidates if p.is_file()), None)
        if found is None:
            return None, None, None
        cls_ind = found
    names, indices = read_cls_ind(cls_ind)
    return names, indices, found


def summarize(samples: Sequence[SeedSample], classes: Optional[Sequence[str]]) -> List[str]:
    """Lines of the summary of the valid samples."""
    per_class: Counter = Counter()
    crowd: Counter = Counter()
    sizes: Counter = Counter()
    formats: Counter = Counter()
    kinds: Counter = Counter()
    areas: List[np.ndarray] = []
    per_image = []
    for sample in samples:
        per_class.update(sample.class_names)
        crowd.update(n for n, c in zip(sample.class_names, sample.crowd.tolist()) if c)
        sizes[f"{sample.height}x{sample.width}"] += 1
        formats[f"{Path(sample.paths.label_map_path).suffix.lower()} {sample.label_bits}-bit"] += 1
        if sample.image is not None:
            kinds[sample.image.describe()] += 1
        areas.append(instance_areas(sample.index_map, len(sample.ids)))
        per_image.append(len(sample.ids))
    lines = [
        f"images: {len(samples)} ({per_image.count(0)} without instances)",
        f"instances: {sum(per_image)} (per image: min {min(per_image, default=0)}, "
        f"max {max(per_image, default=0)})",
        "instances per class:",
    ]
    names = list(classes) if classes is not None else sorted(per_class)
    width = max((len(n) for n in names), default=0)
    for name in names:
        extra = f" ({crowd[name]} crowd)" if crowd[name] else ""
        lines.append(f"  {name:<{width}}  {per_class[name]}{extra}")
    lines.append("image sizes (HxW): " + ", ".join(f"{s} x{n}" for s, n in sizes.most_common()))
    lines.append("image kinds: " + ", ".join(f"{k} x{n}" for k, n in kinds.most_common()))
    lines.append("label maps: " + ", ".join(f"{e} x{n}" for e, n in formats.most_common()))
    area = np.concatenate(areas) if areas else np.zeros(0)
    if area.size:
        side = np.sqrt(area)
        lines.append(
            f"instance size sqrt(area) px: min {side.min():.0f}, median {np.median(side):.0f}, "
            f"max {side.max():.0f}; COCO small/medium/large: {(area < SMALL_AREA).sum()}/"
            f"{((area >= SMALL_AREA) & (area < MEDIUM_AREA)).sum()}/{(area >= MEDIUM_AREA).sum()}"
        )
    return lines


def _gathered(files: List[str], what: str, advice: str) -> List[str]:
    if not files:
        return []
    return [f"{len(files)} {what}: {short_listing(files, _LISTED_FILES)}. {advice}"]


def collect_warnings(
    samples: Sequence[SeedSample],
    box_tolerance: float,
    class_indices: Optional[Mapping[str, int]] = None,
) -> List[str]:
    """Warnings about valid samples: one per file with box disagreements, one per kind else.

    Args:
        samples (Sequence[SeedSample]): The valid samples.
        box_tolerance (float): The tolerance the boxes were checked with.
        class_indices (Mapping[str, int], optional): Seed index of each class
            name, for the semantic-map test.

    Returns:
        list[str]: The warnings.
    """
    warnings = [
        f"{s.paths.ann_path}: boxes of IDs {s.box_mismatch} differ from their masks by more "
        f"than {box_tolerance} px (the masks' boxes are used)."
        for s in samples
        if s.box_mismatch
    ]
    semantic, deep, grey = [], [], []
    for sample in samples:
        indices = None
        if class_indices is not None:
            indices = [class_indices[name] for name in sample.class_names]
        evidence = semantic_map_evidence(sample.ids.tolist(), sample.region_counts, indices)
        if evidence:
            semantic.append(f"{sample.paths.label_map_path} ({evidence})")
        if sample.image is not None and sample.image.bits > 8:
            deep.append(f"{sample.paths.img_path} ({sample.image.describe()})")
        elif sample.image is not None and sample.image.greyscale:
            grey.append(sample.paths.img_path)
    warnings += _gathered(
        semantic, "label map(s) look like semantic (class) maps", semantic_map_advice()
    )
    warnings += _gathered(
        deep,
        "image(s) have more than 8 bits per channel",
        "mmcv's LoadImageFromFile keeps only their high byte (e.g. values 0..1728 become "
        "0..6): load them with dict(type='LoadSeedImage'), which scales them to 8 bits.",
    )
    warnings += _gathered(
        grey,
        "image(s) are greyscale",
        "They are loaded as three equal channels; check that colour images were not "
        "expected (LoadSeedImage and LoadImageFromFile both replicate the channel).",
    )
    return warnings


def check_split(
    data_root: PathLike,
    *,
    classes: Optional[Sequence[str]] = None,
    cls_ind: Optional[PathLike] = None,
    data_prefix: Optional[Mapping[str, str]] = None,
    box_tolerance: float = 2.0,
    verify_images: bool = True,
    progress: bool = False,
) -> SplitReport:
    """Check every sample of a split and collect every problem and warning.

    Args:
        data_root (str | Path): The split's folder.
        classes (Sequence[str], optional): Class names in label order.
        cls_ind (str | Path, optional): A seed-style class index JSON. Without
            either, a ``classes.json`` in or above ``data_root`` is used if
            present; otherwise class names are only counted.
        data_prefix (Mapping[str, str], optional): Sub-folders ``img``,
            ``seg`` and ``ann``, as for :class:`SeedInstanceDataset`.
        box_tolerance (float): Pixels a JSON box may differ from its mask's.
        verify_images (bool): Decode every image (finds truncated files).
            Defaults to True.
        progress (bool): Show a progress bar on stderr. Defaults to False.

    Returns:
        SplitReport: The findings.

    Raises:
        ValueError: If the class index cannot be read.
    """
    root = Path(data_root)
    names, indices, found = find_classes(root, cls_ind, classes)
    prefix = {**DEFAULT_DATA_PREFIX, **(data_prefix or {})}
    pairs, problems = scan_seed_split(
        root / prefix["img"], root / prefix["seg"], root / prefix["ann"]
    )
    report = SplitReport(root, names, found, len(pairs), problems=problems)
    for paths in tqdm(pairs, desc="checking", unit="img", disable=not progress):
        sample, found_problems = inspect_seed_sample(
            paths, names, verify_image=verify_images, box_tolerance=box_tolerance
        )
        report.problems.extend(found_problems)
        if sample is not None:
            report.samples.append(sample)
    class_indices = dict(zip(names, indices)) if names is not None else None
    report.warnings = collect_warnings(report.samples, box_tolerance, class_indices)
    return report
