"""Write the demo data set: ``train/``, ``val/`` (the seed's folder format) and ``classes.json``."""

import shutil
from collections import Counter
from pathlib import Path
from typing import Dict

from ..datasets import write_cls_ind, write_seed_sample
from .scenes import SPLITS, make_sample
from .shapes import BASE_SIZE, CLASSES

MIN_SIZE = 32


def prepare_split_dir(split_dir: Path, overwrite: bool) -> None:
    """Make sure ``split_dir`` can be written: new, empty, or emptied when ``overwrite``.

    Args:
        split_dir: Folder of one split.
        overwrite: Remove its ``images/``, ``labels/`` and ``annotations/`` if they hold files.

    Raises:
        FileExistsError: If the split already holds files and ``overwrite`` is False.
    """
    parts = [split_dir / name for name in ("images", "labels", "annotations")]
    if any(part.exists() and any(part.iterdir()) for part in parts):
        if not overwrite:
            raise FileExistsError(
                f"{split_dir} already holds a data set; pass overwrite=True (--overwrite "
                "in tools/make_demo_data.py) to replace it or choose another output folder "
                "(--out)."
            )
        for part in parts:
            shutil.rmtree(part, ignore_errors=True)


def make_demo_data(
    out: Path,
    seed: int = 0,
    num_train: int = 80,
    num_val: int = 20,
    size: int = BASE_SIZE,
    overwrite: bool = False,
) -> Dict[str, Counter]:
    """Write the demo data set under ``out``: ``train/``, ``val/`` and ``classes.json``.

    Args:
        out: Output folder.
        seed: Seed of the whole data set.
        num_train: Number of training images.
        num_val: Number of validation images.
        size: Image side in px.
        overwrite: Replace existing ``images/``, ``labels/`` and ``annotations/`` folders.

    Raises:
        ValueError: If ``size`` is below ``MIN_SIZE`` or a count is negative.
        FileExistsError: If a split already holds files and ``overwrite`` is False.

    Returns:
        dict: Per split, counts of ``images``, ``instances``, each class, each image format
        (``images/jpg``, ``images/png``), each label-map kind (``labels/png8``,
        ``labels/png16``, ``labels/bmp8``) and each density (``density/crowded``, ...).
    """
    if size < MIN_SIZE:
        raise ValueError(f"size must be at least {MIN_SIZE} px to hold the objects, got {size}.")
    if num_train < 0 or num_val < 0:
        raise ValueError(
            f"num_train and num_val must be >= 0, got num_train={num_train}, num_val={num_val}."
        )
    out = Path(out)
    counts_by_split = {}
    for split, number in zip(SPLITS, (num_train, num_val)):
        split_dir = out / split
        prepare_split_dir(split_dir, overwrite)
        counts: Counter = Counter()
        for index in range(number):
            sample = make_sample(seed, split, index, size)
            write_seed_sample(
                split_dir,
                f"{split}_{index:04d}",
                sample.image,
                sample.label_map,
                sample.classes_by_id,
                image_ext=sample.image_ext,
                label_ext=sample.label_ext,
                label_bits=sample.label_bits,
            )
            counts["images"] += 1
            counts["instances"] += len(sample.classes_by_id)
            counts.update(sample.classes_by_id.values())
            counts[f"images/{sample.image_ext[1:]}"] += 1
            counts[f"labels/{sample.label_ext[1:]}{sample.label_bits}"] += 1
            counts[f"density/{sample.density}"] += 1
        counts_by_split[split] = counts
    cls_ind = {"background": 0, **{name: index + 1 for index, name in enumerate(CLASSES)}}
    write_cls_ind(out / "classes.json", cls_ind)
    return counts_by_split
