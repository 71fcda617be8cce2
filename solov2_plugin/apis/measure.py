"""One row of measurements per object of a label image (``skimage.measure.regionprops``).

:data:`COLUMNS` names every column with its unit and meaning; the docs and
:func:`write_measurements_csv` use it, so a column is described in one place.

Conventions: x = column, y = row, both growing from the top-left pixel; a
box is ``(x0, y0, x1, y1)`` with the max corner exclusive (as regionprops and
mmdet); ``orientation`` is in degrees, counter-clockwise *as the image is
displayed* (y pointing down), from the x axis to the major axis, in (-90, 90]:
0 = horizontal, 90 = vertical, 45 = rising to the right.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from scipy import ndimage
from skimage.measure import regionprops

from .label_image import edge_flags

#: name -> (unit, description) of every measurement column, in CSV order.
COLUMNS: Dict[str, Tuple[str, str]] = {
    "image": ("", "image (or frame series) the object comes from"),
    "id": ("", "object label in the label image (belt order in a frame series)"),
    "class": ("", "class name, or class index when no names are given"),
    "score": ("", "prediction score of the object"),
    "frame": ("", "frame series: index of the first frame that holds the object's top row"),
    "source": ("", "frame series: 'frame' or 'seam' (image the object was segmented in)"),
    "complete": ("", "frame series: False when the object touches a side or the belt's ends"),
    "touches_edge": ("", "a pixel of the object lies on the image border"),
    "area": ("px", "number of pixels"),
    "bbox": ("px", "box x0, y0, x1, y1 (max exclusive); CSV columns bbox_x0 .. bbox_y1"),
    "centroid_x": ("px", "column of the centre of mass"),
    "centroid_y": ("px", "row of the centre of mass"),
    "major_axis_length": ("px", "major axis of the ellipse with the same second moments"),
    "minor_axis_length": ("px", "minor axis of the ellipse with the same second moments"),
    "orientation": ("deg", "x axis to major axis, counter-clockwise as displayed, (-90, 90]"),
    "feret_diameter_max": ("px", "largest distance between two points of the convex hull"),
    "equivalent_diameter": ("px", "diameter of the disc of the same area"),
    "max_inscribed_radius": ("px", "largest distance from a pixel centre to the background"),
    "perimeter": ("px", "perimeter (skimage, 4-connected contour estimate)"),
    "solidity": ("", "area / convex hull area"),
    "area_mm2": ("mm2", "area, with pixel_size"),
    "major_axis_length_mm": ("mm", "major_axis_length, with pixel_size"),
    "minor_axis_length_mm": ("mm", "minor_axis_length, with pixel_size"),
    "feret_diameter_max_mm": ("mm", "feret_diameter_max, with pixel_size"),
    "equivalent_diameter_mm": ("mm", "equivalent_diameter, with pixel_size"),
    "max_inscribed_radius_mm": ("mm", "max_inscribed_radius, with pixel_size"),
    "perimeter_mm": ("mm", "perimeter, with pixel_size"),
}

#: Pixel lengths that get a ``*_mm`` twin when a pixel size is given.
LENGTHS = (
    "major_axis_length",
    "minor_axis_length",
    "feret_diameter_max",
    "equivalent_diameter",
    "max_inscribed_radius",
    "perimeter",
)


def orientation_degrees(skimage_orientation: float) -> float:
    """Convert regionprops' orientation (radians, from the row axis) to :data:`COLUMNS`' one.

    Args:
        skimage_orientation (float): ``regionprops(...).orientation``, in
            [-pi/2, pi/2], angle between the row axis and the major axis.

    Returns:
        float: degrees from the x axis to the major axis, counter-clockwise as
        displayed, in (-90, 90].
    """
    angle = math.degrees(skimage_orientation) + 90.0
    return angle - 180.0 if angle > 90.0 else angle


def max_inscribed_radius(mask: np.ndarray) -> float:
    """Largest distance from a pixel centre of ``mask`` to the nearest background pixel centre.

    Args:
        mask (np.ndarray): ``(h, w)`` bool mask of one object (a crop is enough).

    Returns:
        float: radius in pixels (0.0 for an empty mask).
    """
    padded = np.pad(np.asarray(mask, bool), 1)
    return float(ndimage.distance_transform_edt(padded).max())


def measure_instances(
    label_image: np.ndarray,
    labels: Optional[Sequence[int]] = None,
    scores: Optional[Sequence[float]] = None,
    class_names: Optional[Sequence[str]] = None,
    pixel_size: Optional[float] = None,
    image_name: Optional[str] = None,
    origin: Tuple[int, int] = (0, 0),
) -> List[Dict[str, Any]]:
    """Measure every object of a label image.

    Args:
        label_image (np.ndarray): ``(H, W)`` integer label image, 0 = background.
        labels (Sequence[int], optional): class index of label ``L`` at ``L - 1``.
        scores (Sequence[float], optional): score of label ``L`` at ``L - 1``.
        class_names (Sequence[str], optional): names of the class indices.
        pixel_size (float, optional): mm per pixel; adds the ``*_mm`` and
            ``area_mm2`` columns.
        image_name (str, optional): value of the ``image`` column.
        origin (tuple[int, int]): ``(x, y)`` of the label image's top-left pixel
            in the coordinates wanted for ``bbox`` and the centroid (e.g. a
            crop's position in a larger image).

    Returns:
        list[dict]: one record per object present, in label order, with the
        keys of :data:`COLUMNS` (see there) except the frame-series ones.

    Raises:
        ValueError: ``pixel_size`` is not positive, ``labels``/``scores`` are
            too short, or a class index has no name.
    """
    if pixel_size is not None and not pixel_size > 0:
        raise ValueError(f"pixel_size={pixel_size}: give a positive size in mm per pixel.")
    label_image = np.asarray(label_image)
    if label_image.ndim != 2:
        raise ValueError(f"label_image must be (H, W), got shape {label_image.shape}.")
    top_label = int(label_image.max(initial=0))
    for name, table in (("labels", labels), ("scores", scores)):
        if table is not None and len(table) < top_label:
            raise ValueError(
                f"{name} has {len(table)} entries but the label image goes up to {top_label}: "
                f"give one entry per label (label L at index L - 1)."
            )
    touching = edge_flags(label_image)
    dx, dy = origin
    records = []
    for region in regionprops(label_image.astype(np.int32, copy=False)):
        index = region.label - 1
        y0, x0, y1, x1 = region.bbox
        cy, cx = region.centroid
        record: Dict[str, Any] = {
            "image": image_name,
            "id": int(region.label),
            "class": _class_of(labels, class_names, index),
            "score": None if scores is None else float(scores[index]),
            "touches_edge": bool(touching[index]),
            "area": int(region.area),
            "bbox": (int(x0 + dx), int(y0 + dy), int(x1 + dx), int(y1 + dy)),
            "centroid_x": float(cx + dx),
            "centroid_y": float(cy + dy),
            "major_axis_length": float(region.axis_major_length),
            "minor_axis_length": float(region.axis_minor_length),
            "orientation": orientation_degrees(region.orientation),
            "feret_diameter_max": float(region.feret_diameter_max),
            "equivalent_diameter": float(region.equivalent_diameter_area),
            "max_inscribed_radius": max_inscribed_radius(region.image),
            "perimeter": float(region.perimeter),
            "solidity": float(region.solidity),
        }
        if pixel_size is not None:
            record["area_mm2"] = record["area"] * pixel_size**2
            for name in LENGTHS:
                record[f"{name}_mm"] = record[name] * pixel_size
        records.append(record)
    return records


def _class_of(
    labels: Optional[Sequence[int]], class_names: Optional[Sequence[str]], index: int
) -> Union[int, str, None]:
    """Class name (or index) of the object at table position ``index``."""
    if labels is None:
        return None
    label = int(labels[index])
    if class_names is None:
        return label
    if not 0 <= label < len(class_names):
        raise ValueError(
            f"class index {label} has no name: class_names holds {len(class_names)} names."
        )
    return class_names[label]


def csv_columns(records: Sequence[Dict[str, Any]]) -> List[str]:
    """CSV header for ``records``: keys in :data:`COLUMNS` order, others after, bbox split."""
    present = {key for record in records for key in record}
    ordered = [key for key in COLUMNS if key in present]
    ordered += sorted(present - set(COLUMNS))
    header = []
    for key in ordered:
        header += ["bbox_x0", "bbox_y0", "bbox_x1", "bbox_y1"] if key == "bbox" else [key]
    return header


def write_measurements_csv(path: Union[str, Path], records: Sequence[Dict[str, Any]]) -> Path:
    """Write ``records`` to a CSV file, one row per object (header from :func:`csv_columns`).

    Args:
        path (str | Path): Output file.
        records (Sequence[dict]): Records of :func:`measure_instances` (or of
            the frame series / tiled prediction).

    Returns:
        Path: the file written.
    """
    path = Path(path)
    header = csv_columns(records)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        for record in records:
            row = {key: value for key, value in record.items() if key != "bbox"}
            if "bbox" in record:
                row.update(zip(("bbox_x0", "bbox_y0", "bbox_x1", "bbox_y1"), record["bbox"]))
            writer.writerow(row)
    return path
