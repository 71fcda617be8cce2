"""Writing seed-format samples: label maps, annotation JSONs, whole samples.

The label-map format and depth come from the one table of
:mod:`.label_formats`; boxes are derived from the label map.

Dimension key: H, W: image height and width; N: number of instances.
"""

import json
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np
from PIL import Image

from .errors import PathLike
from .instance_maps import index_label_map, instance_boxes
from .label_formats import default_label_extension, label_depth, label_format
from .seed_readers import ANNOTATION_EXTENSION, IMAGE_EXTENSIONS


def write_label_map(
    path: PathLike, label_map: np.ndarray, label_bits: Optional[int] = None
) -> Path:
    """Write an instance-ID map losslessly; the path's extension picks the format.

    Args:
        path (str | Path): Destination ending in one of
            :data:`~.label_formats.LABEL_EXTENSIONS`.
        label_map (np.ndarray): ``(H, W)`` non-negative integer IDs.
        label_bits (int, optional): Bits per ID; defaults to the fewest bits
            the format offers that hold the largest ID.

    Returns:
        Path: The written path.

    Raises:
        ValueError: If the format is lossy or unknown, or cannot hold the IDs.
    """
    path = Path(path)
    try:
        label_format(path.suffix)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    label_map = np.asarray(label_map)
    if label_map.ndim != 2 or not np.issubdtype(label_map.dtype, np.integer):
        raise ValueError(
            f"label_map must be a 2-D integer array, got shape {label_map.shape} and dtype "
            f"{label_map.dtype}."
        )
    if label_map.size and label_map.min() < 0:
        raise ValueError("label_map must hold IDs >= 0 (0 = background).")
    highest = int(label_map.max()) if label_map.size else 0
    depth = label_depth(path.suffix, highest, label_bits)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(label_map.astype(depth.dtype))).save(path)
    return path


def annotation_from_label_map(
    label_map: np.ndarray, classes_by_id: Mapping[int, str], crowd_ids: Tuple[int, ...] = ()
) -> Dict[str, dict]:
    """Build the annotation JSON content of a label map.

    Args:
        label_map (np.ndarray): ``(H, W)`` non-negative integer IDs.
        classes_by_id (Mapping[int, str]): Class name of every ID in the map,
            and of no other ID.
        crowd_ids (tuple[int, ...]): IDs to mark with ``"iscrowd": 1``.

    Returns:
        dict[str, dict]: ``{"<id>": {"class": name, "bbox": [x0, y0, x1, y1]}}``
        in ascending ID order, boxes in integer pixels with exclusive maximum.

    Raises:
        ValueError: If the named IDs differ from the map's IDs.
    """
    ids, index_map = index_label_map(np.asarray(label_map))
    id_list = ids.tolist()
    names = {int(label_id): name for label_id, name in classes_by_id.items()}
    bad_names = {k: v for k, v in names.items() if not isinstance(v, str) or not v}
    if bad_names:
        raise ValueError(f"classes_by_id must map IDs to non-empty class names, got {bad_names}.")
    if set(names) != set(id_list):
        raise ValueError(
            "classes_by_id must name exactly the IDs of label_map: missing "
            f"{sorted(set(id_list) - set(names))}, not in the map "
            f"{sorted(set(names) - set(id_list))}."
        )
    crowd = {int(label_id) for label_id in crowd_ids}
    if crowd - set(id_list):
        raise ValueError(f"crowd_ids {sorted(crowd - set(id_list))} are not IDs of label_map.")
    boxes = instance_boxes(index_map, len(id_list)).astype(int).tolist()
    annotation: Dict[str, dict] = {}
    for label_id, box in zip(id_list, boxes):
        entry: Dict[str, Any] = {"class": names[label_id], "bbox": box}
        if label_id in crowd:
            entry["iscrowd"] = 1
        annotation[str(label_id)] = entry
    return annotation


def write_annotation(path: PathLike, annotation: Mapping[str, dict]) -> Path:
    """Write annotation content (see :func:`annotation_from_label_map`) as JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(annotation, indent=1) + "\n", encoding="utf-8")
    return path


def write_label_files(
    split_dir: PathLike,
    stem: str,
    label_map: np.ndarray,
    classes_by_id: Mapping[int, str],
    *,
    label_ext: Optional[str] = None,
    label_bits: Optional[int] = None,
    crowd_ids: Tuple[int, ...] = (),
) -> Dict[str, Path]:
    """Write a sample's label map and annotation (the image is the caller's).

    Args:
        split_dir (str | Path): The split's folder.
        stem (str): Base name of the sample.
        label_map (np.ndarray): ``(H, W)`` integer instance IDs, 0 = background.
        classes_by_id (Mapping[int, str]): Class name of every ID in the map.
        label_ext (str, optional): Label-map extension; defaults to the first
            format of the table holding the largest ID at ``label_bits``.
        label_bits (int, optional): Bits per ID; defaults to the fewest that
            hold the largest ID.
        crowd_ids (tuple[int, ...]): IDs written with ``"iscrowd": 1``.

    Returns:
        dict[str, Path]: Written paths under keys ``seg`` and ``ann``.

    Raises:
        ValueError: If the classes do not name the map's IDs or the format
            cannot hold them.
    """
    label_map = np.asarray(label_map)
    annotation = annotation_from_label_map(label_map, classes_by_id, crowd_ids)
    highest = int(label_map.max()) if label_map.size else 0
    if label_ext is None:
        label_ext = default_label_extension(highest, label_bits)
    split_dir = Path(split_dir)
    seg_path = write_label_map(
        split_dir / "labels" / f"{stem}{label_ext.lower()}", label_map, label_bits
    )
    ann_path = write_annotation(
        split_dir / "annotations" / f"{stem}{ANNOTATION_EXTENSION}", annotation
    )
    return dict(seg=seg_path, ann=ann_path)


def write_seed_sample(
    split_dir: PathLike,
    stem: str,
    image: np.ndarray,
    label_map: np.ndarray,
    classes_by_id: Mapping[int, str],
    *,
    image_ext: str = ".png",
    label_ext: Optional[str] = None,
    label_bits: Optional[int] = None,
    crowd_ids: Tuple[int, ...] = (),
) -> Dict[str, Path]:
    """Write one sample (image, label map, annotation) in the seed's format.

    Boxes in the annotation are derived from the label map (``x0, y0, x1, y1``,
    integers, maximum corner exclusive).

    Args:
        split_dir (str | Path): The split's folder; ``images/``, ``labels/`` and
            ``annotations/`` are created in it when missing.
        stem (str): Base name shared by the sample's three files.
        image (np.ndarray): ``(H, W, 3)`` uint8 RGB image.
        label_map (np.ndarray): ``(H, W)`` integer instance IDs, 0 = background.
        classes_by_id (Mapping[int, str]): Class name of every ID in the map
            (and of no other ID).
        image_ext (str): Image file extension. Defaults to '.png'.
        label_ext (str, optional): A label-map extension of
            :data:`~.label_formats.LABEL_FORMATS`. Defaults to PNG when the
            largest ID is below 65536, else TIFF.
        label_bits (int, optional): Bits per ID. Defaults to the fewest bits
            the format offers that hold the largest ID.
        crowd_ids (tuple[int, ...]): IDs written with ``"iscrowd": 1``.

    Returns:
        dict[str, Path]: Written paths under keys ``img``, ``seg`` and ``ann``.

    Raises:
        ValueError: If the arrays or the classes do not describe a valid sample,
            or the chosen format cannot hold the IDs.
    """
    image = np.asarray(image)
    label_map = np.asarray(label_map)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(
            f"image must be an (H, W, 3) uint8 RGB array, got shape {image.shape} "
            f"and dtype {image.dtype}."
        )
    if label_map.shape != image.shape[:2]:
        raise ValueError(
            f"label_map has shape {label_map.shape} but the image is {image.shape[:2]}; "
            "they must have the same height and width."
        )
    image_ext = image_ext.lower()
    if image_ext not in IMAGE_EXTENSIONS:
        raise ValueError(
            f"image_ext={image_ext!r} is not supported; use one of {IMAGE_EXTENSIONS}."
        )
    paths = write_label_files(
        split_dir,
        stem,
        label_map,
        classes_by_id,
        label_ext=label_ext,
        label_bits=label_bits,
        crowd_ids=crowd_ids,
    )
    img_path = Path(split_dir) / "images" / f"{stem}{image_ext}"
    img_path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(img_path)
    return dict(img=img_path, **paths)
