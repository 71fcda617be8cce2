"""What ``tools/infer.py`` writes, from one label image per picture.

Shapes: ``H`` x ``W`` image, ``K`` objects. Every writer takes the picture's *label image*
(``(H, W)`` integer, 0 = background, object ``L`` = pixels equal to ``L``, L = 1..K) with
per-object tables indexed by ``L - 1`` (class index, score). Nothing here holds ``K`` full-size
masks at once, so a picture with thousands of objects costs a few label-image copies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from pycocotools import mask as mask_utils
from scipy import ndimage

from ..datasets.class_index import default_palette
from ..visualization.overlay import LabelBox, label_anchors

PathLike = Union[str, Path]
Colour = Tuple[int, int, int]

#: The seed predictor's colour (RGB) painted over the other objects of a crop.
BACKGROUND_COLOUR: Colour = (90, 140, 200)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def write_image(path: PathLike, rgb: np.ndarray, jpeg_quality: int = 95) -> Path:
    """Write an RGB image (PNG, JPEG, ...: by the suffix), creating its folder.

    Args:
        path (str | Path): Output file.
        rgb (np.ndarray): ``(H, W, 3)`` uint8 RGB.
        jpeg_quality (int): JPEG quality, for ``.jpg``.

    Returns:
        Path: The file written.

    Raises:
        OSError: If the file cannot be written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    params = (
        [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality] if path.suffix.lower() in (".jpg", ".jpeg") else []
    )
    if not cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1]), params):
        raise OSError(f"{path}: the image could not be written; check the folder and suffix.")
    return path


def write_label_png(path: PathLike, label_image: np.ndarray) -> Path:
    """Write a label image as a 16-bit PNG (0 = background, object L = L).

    Args:
        path (str | Path): Output ``.png`` file.
        label_image (np.ndarray): ``(H, W)`` integer labels in 0..65535.

    Returns:
        Path: The file written.

    Raises:
        ValueError: If a label exceeds 65535 (a 16-bit PNG cannot hold it).
    """
    top = int(np.max(label_image, initial=0))
    if top > np.iinfo(np.uint16).max:
        raise ValueError(
            f"{path}: label {top} does not fit a 16-bit PNG (65535 at most); raise "
            "--min-box-side / --min-part-area, or split the image with --tile."
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), np.asarray(label_image).astype(np.uint16)):
        raise OSError(f"{path}: the label image could not be written; check the folder.")
    return path


def object_boxes(label_image: np.ndarray) -> List[Optional[Tuple[slice, slice]]]:
    """``(rows, cols)`` slices of each label's box, entry ``L - 1`` (None: label absent)."""
    return ndimage.find_objects(np.asarray(label_image, np.int32))


def _outline(label_image: np.ndarray) -> np.ndarray:
    """``(H, W)`` bool: object pixels with a 4-neighbour of another label (or the border)."""
    padded = np.pad(label_image, 1, mode="constant")
    centre = padded[1:-1, 1:-1]
    edge = np.zeros(label_image.shape, bool)
    for dy, dx in ((0, 1), (2, 1), (1, 0), (1, 2)):
        edge |= padded[dy : dy + label_image.shape[0], dx : dx + label_image.shape[1]] != centre
    return edge & (label_image > 0)


def _text_colour(background: Colour) -> Colour:
    """Black or white, whichever reads better on ``background`` (RGB)."""
    luminance = 0.299 * background[0] + 0.587 * background[1] + 0.114 * background[2]
    return (0, 0, 0) if luminance > 140 else (255, 255, 255)


def draw_overlay(
    image: np.ndarray,
    label_image: np.ndarray,
    labels: Sequence[int],
    scores: Optional[Sequence[float]],
    class_names: Sequence[str],
    palette: Optional[Sequence[Sequence[int]]] = None,
    scale: float = 1.0,
    alpha: float = 0.35,
) -> np.ndarray:
    """Outlines, translucent fills and a ``"<class> <score>"`` tag per object.

    The picture is drawn at ``scale`` (image resized by area, labels by nearest neighbour),
    in the class colours of ``palette``. Tags sit inside their object, far from its edge
    (:func:`~solov2_plugin.visualization.overlay.label_anchors`), never on another tag: the
    best-scoring objects are served first and a tag with no room is left out.

    Args:
        image (np.ndarray): ``(H, W, 3)`` uint8 RGB.
        label_image (np.ndarray): ``(H, W)`` integer labels 0..K.
        labels (Sequence[int]): Class index of label ``L`` at ``L - 1`` (K entries).
        scores (Sequence[float], optional): Score of label ``L`` at ``L - 1``; None: no score.
        class_names (Sequence[str]): Names of the class indices.
        palette (Sequence, optional): RGB colour per class; a fixed palette when None.
        scale (float): Size of the overlay relative to the image, in (0, 1].
        alpha (float): Opacity of the fills.

    Returns:
        np.ndarray: ``(round(H * scale), round(W * scale), 3)`` uint8 RGB.
    """
    if not 0 < scale <= 1:
        raise ValueError(f"scale={scale}: give a factor in (0, 1] (0.5 halves each side).")
    height, width = label_image.shape
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if scale != 1:
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        label_image = cv2.resize(
            np.asarray(label_image, np.int32).astype(np.float32),
            size,
            interpolation=cv2.INTER_NEAREST,
        ).astype(np.int32)
    label_image = np.asarray(label_image, np.int32)
    labels = np.asarray(labels, np.int64).reshape(-1)
    palette = palette or default_palette(len(class_names))
    # Colour of every label value (0 = background, unused).
    lut = np.zeros((len(labels) + 1, 3), np.float32)
    lut[1:] = np.asarray([palette[int(label)] for label in labels], np.float32).reshape(-1, 3)
    inside = label_image > 0
    canvas = image.astype(np.float32)
    canvas[inside] = canvas[inside] * (1 - alpha) + lut[label_image[inside]] * alpha
    edge = _outline(label_image)
    canvas[edge] = lut[label_image[edge]]
    canvas = np.ascontiguousarray(np.rint(canvas).astype(np.uint8))

    font_scale = 0.35 * max(1, round(max(canvas.shape[:2]) / 512))
    order = np.argsort(-np.asarray(scores), kind="stable") if scores is not None else None
    boxes = object_boxes(label_image)
    taken: List[LabelBox] = []
    for index in order if order is not None else range(len(boxes)):
        if index >= len(boxes) or boxes[index] is None:
            continue  # too small to survive the scaling
        rows, cols = boxes[index]
        text = class_names[int(labels[index])]
        if scores is not None:
            text += f" {float(scores[index]):.2f}"
        (text_w, text_h), baseline = cv2.getTextSize(text, _FONT, font_scale, 1)
        box_w, box_h = text_w + 2, text_h + baseline + 2
        for x, y in label_anchors(label_image[rows, cols] == index + 1):
            x0 = int(min(max(x + cols.start - box_w // 2, 0), max(canvas.shape[1] - box_w, 0)))
            y0 = int(min(max(y + rows.start - box_h // 2, 0), max(canvas.shape[0] - box_h, 0)))
            tag = LabelBox(x0, y0, x0 + box_w, y0 + box_h, font_scale)
            if any(tag.overlaps(other) for other in taken):
                continue
            taken.append(tag)
            colour = tuple(int(c) for c in lut[index + 1])
            cv2.rectangle(canvas, (x0, y0), (tag.x1 - 1, tag.y1 - 1), colour, thickness=-1)
            cv2.putText(
                canvas,
                text,
                (x0 + 1, y0 + 1 + text_h),
                _FONT,
                font_scale,
                _text_colour(colour),
                1,
                cv2.LINE_AA,
            )
            break
    return canvas


def crop_objects(
    image: np.ndarray,
    label_image: np.ndarray,
    background: Colour = BACKGROUND_COLOUR,
) -> Dict[int, np.ndarray]:
    """One picture per object: its box, with every other object painted in ``background``.

    Args:
        image (np.ndarray): ``(H, W, 3)`` uint8 RGB.
        label_image (np.ndarray): ``(H, W)`` integer labels 0..K.
        background (tuple[int, int, int]): RGB colour of the other objects.

    Returns:
        dict[int, np.ndarray]: Label -> ``(h, w, 3)`` uint8 RGB crop, for the labels present.
    """
    crops = {}
    for index, box in enumerate(object_boxes(label_image)):
        if box is None:
            continue
        crop = image[box].copy()
        region = label_image[box]
        crop[(region > 0) & (region != index + 1)] = background
        crops[index + 1] = crop
    return crops


def _column_rle(label_image: np.ndarray, label: int, box: Tuple[slice, slice]) -> dict:
    """Compressed COCO RLE of one label, computed on its columns only."""
    height, width = label_image.shape
    cols = box[1]
    band = (label_image[:, cols] == label).ravel(order="F")  # column-major, as COCO
    changes = np.flatnonzero(np.diff(band.astype(np.int8))) + 1
    bounds = np.concatenate(([0], changes, [band.size]))
    runs = np.diff(bounds).tolist()
    if band[0]:
        runs.insert(0, 0)  # COCO runs start with background
    runs[0] += cols.start * height  # background columns before the box
    after = (width - cols.stop) * height  # background columns after the box
    if len(runs) % 2:  # ends with background: extend it to the image's end
        runs[-1] += after
    elif after:
        runs.append(after)
    rle = mask_utils.frPyObjects({"counts": runs, "size": [height, width]}, height, width)
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


def _polygons(label_image: np.ndarray, label: int, box: Tuple[slice, slice]) -> List[List[float]]:
    """Outer contours of one label as COCO polygons ``[x1, y1, x2, y2, ...]`` (3+ points)."""
    rows, cols = box
    mask = np.pad((label_image[box] == label).astype(np.uint8), 1)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polygons = []
    for contour in contours:
        if len(contour) < 3:
            continue
        points = contour.reshape(-1, 2).astype(np.float64) + (cols.start - 1, rows.start - 1)
        polygons.append([round(float(v), 2) for v in points.ravel()])
    return polygons


class CocoWriter:
    """Collects a run's objects as COCO annotations; ids unique across the run.

    Writes ``coco_results.json`` (the results format: a list of annotations with compressed
    RLE ``segmentation``, ``bbox`` ``[x, y, w, h]``, ``score``, ``category_id`` = class index
    + 1) and ``coco_images.json`` (a COCO dataset file with the ``images`` and ``categories``
    and no annotations), so ``COCO('coco_images.json').loadRes('coco_results.json')`` opens
    the predictions with pycocotools. With ``polygons``, also ``coco_polygons.json``: a full
    COCO dataset whose annotations are outer polygons (holes dropped), e.g. to import the
    predictions into an annotation tool.

    Args:
        class_names (Sequence[str]): Names of the class indices.
        polygons (bool): Also collect polygon annotations.
    """

    def __init__(self, class_names: Sequence[str], polygons: bool = False) -> None:
        self.categories = [
            {"id": index + 1, "name": str(name)} for index, name in enumerate(class_names)
        ]
        self.polygons = polygons
        self.images: List[Dict[str, Any]] = []
        self.results: List[Dict[str, Any]] = []
        self.polygon_annotations: List[Dict[str, Any]] = []

    def add_image(
        self,
        file_name: str,
        label_image: np.ndarray,
        labels: Sequence[int],
        scores: Sequence[float],
    ) -> int:
        """Add one picture and its objects.

        Args:
            file_name (str): The picture's name in ``images``.
            label_image (np.ndarray): ``(H, W)`` integer labels 0..K.
            labels (Sequence[int]): Class index of label ``L`` at ``L - 1``.
            scores (Sequence[float]): Score of label ``L`` at ``L - 1``.

        Returns:
            int: The image id given (1, 2, ... in the order added).
        """
        height, width = label_image.shape
        image_id = len(self.images) + 1
        self.images.append(
            {"id": image_id, "file_name": file_name, "height": height, "width": width}
        )
        for index, box in enumerate(object_boxes(label_image)):
            if box is None:
                continue
            rows, cols = box
            common = {
                "image_id": image_id,
                "category_id": int(labels[index]) + 1,
                "bbox": [cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start],
                "score": round(float(scores[index]), 5),
            }
            rle = _column_rle(label_image, index + 1, box)
            area = int(mask_utils.area(rle))
            self.results.append(
                {"id": len(self.results) + 1, **common, "segmentation": rle, "area": area}
            )
            if self.polygons:
                self.polygon_annotations.append(
                    {
                        "id": len(self.polygon_annotations) + 1,
                        **common,
                        "segmentation": _polygons(label_image, index + 1, box),
                        "area": area,
                        "iscrowd": 0,
                    }
                )
        return image_id

    def write(self, out_dir: PathLike) -> List[Path]:
        """Write the JSON files into ``out_dir``; returns their paths."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        files = {
            "coco_results.json": self.results,
            "coco_images.json": {
                "images": self.images,
                "categories": self.categories,
                "annotations": [],
            },
        }
        if self.polygons:
            files["coco_polygons.json"] = {
                "images": self.images,
                "categories": self.categories,
                "annotations": self.polygon_annotations,
            }
        written = []
        for name, content in files.items():
            path = out_dir / name
            path.write_text(json.dumps(content))
            written.append(path)
        return written
