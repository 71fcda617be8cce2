"""Ground truth beside prediction, and a sheet gathering several such pairs.

Shapes used below: ``N`` instances, ``H`` x ``W`` image. Pictures are RGB ``uint8`` arrays of
shape (H, W, 3).
"""

from typing import Mapping, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.structures import InstanceData

from ..datasets.coco_convert import decode_segmentation
from .overlay import ArrayLike, _to_numpy, draw_instances

WHITE = 255


def ground_truth_masks(
    instances: Sequence[Mapping], height: int, width: int
) -> Tuple[np.ndarray, np.ndarray]:
    """Rasterise the ``instances`` of an mmdet data info (as ``PackDetInputs`` carries them).

    Args:
        instances: One dict per instance with ``mask`` (COCO RLE, compressed or not, or
            polygons, at the original image size) and ``bbox_label`` (0-based class index);
            instances without a ``mask`` are left out.
        height: Original image height H.
        width: Original image width W.

    Returns:
        tuple[np.ndarray, np.ndarray]: Masks, shape (N, H, W), bool; labels, shape (N,), int64.

    Raises:
        ValueError: An instance without ``bbox_label``, or a mask of another size.
    """
    masks, labels = [], []
    for number, instance in enumerate(instances):
        if instance.get("mask") is None:
            continue
        if "bbox_label" not in instance:
            raise ValueError(
                f"Ground-truth instance {number} has a 'mask' but no 'bbox_label'; every "
                "instance of an mmdet data info needs its 0-based class index there."
            )
        masks.append(decode_segmentation(instance["mask"], height, width))
        labels.append(int(instance["bbox_label"]))
    if not masks:
        return np.zeros((0, height, width), bool), np.zeros(0, np.int64)
    return np.stack(masks), np.asarray(labels, np.int64)


def _fit_masks(masks: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize (nearest) masks of shape (N, h, w) to (N, H, W) when their size differs."""
    if masks.shape[1:] == (height, width):
        return masks
    resized = [
        cv2.resize(mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST)
        for mask in masks
    ]
    return np.stack(resized).astype(bool) if resized else np.zeros((0, height, width), bool)


def side_by_side(left: np.ndarray, right: np.ndarray, gap: int = 4) -> np.ndarray:
    """Two pictures of equal height next to each other, with a white gap between.

    Args:
        left: Picture, shape (H, W1, 3), uint8.
        right: Picture, shape (H, W2, 3), uint8.
        gap: Width of the white gap (px).

    Returns:
        np.ndarray: Shape (H, W1 + gap + W2, 3), uint8.
    """
    if left.shape[0] != right.shape[0]:
        raise ValueError(
            f"side_by_side needs pictures of equal height, got {left.shape[0]} and "
            f"{right.shape[0]}; resize one of them first."
        )
    spacer = np.full((left.shape[0], gap, 3), WHITE, np.uint8)
    return np.concatenate([left, spacer, right], axis=1)


def draw_gt_pred(
    image: ArrayLike,
    gt_instances: Sequence[Mapping],
    pred_instances: Optional[InstanceData],
    class_names: Sequence[str],
    palette: Optional[Sequence[Sequence[int]]] = None,
    score_thr: float = 0.3,
    gap: int = 4,
) -> np.ndarray:
    """Ground truth (left) beside the predictions scoring above ``score_thr`` (right).

    Args:
        image: RGB image at its original size, shape (H, W, 3), uint8.
        gt_instances: The data info's ``instances`` (see :func:`ground_truth_masks`); empty
            for none.
        pred_instances: The model's ``pred_instances`` with ``masks`` (N, H, W) (other sizes
            are resized, nearest), ``labels`` (N,) and ``scores`` (N,); None for none.
        class_names: Class names, one per class index.
        palette: RGB colour per class; a fixed palette when None.
        score_thr: Only predictions scoring above this are drawn (evaluation keeps the
            others, which COCO AP needs).
        gap: Width of the white gap between the panels (px).

    Returns:
        np.ndarray: Shape (H, 2 W + gap, 3), uint8, RGB.
    """
    image = _to_numpy(image)
    height, width = image.shape[:2]
    gt_masks, gt_labels = ground_truth_masks(gt_instances, height, width)
    truth = draw_instances(image, gt_masks, gt_labels, None, class_names, palette)
    if pred_instances is None or len(pred_instances) == 0:
        masks, labels, scores = np.zeros((0, height, width), bool), np.zeros(0, int), np.zeros(0)
    else:
        scores = _to_numpy(pred_instances.scores).astype(np.float64)
        keep = scores > score_thr
        masks = _fit_masks(_to_numpy(pred_instances.masks)[keep].astype(bool), height, width)
        labels, scores = _to_numpy(pred_instances.labels)[keep], scores[keep]
    guess = draw_instances(image, masks, labels, scores, class_names, palette)
    return side_by_side(truth, guess, gap)


def overview_sheet(pictures: Sequence[np.ndarray], columns: int = 2, gap: int = 8) -> np.ndarray:
    """Gather pictures into a grid, row by row, on white.

    Every cell takes the size of the largest picture (smaller ones sit at its top left);
    a short last row is filled with white cells.

    Args:
        pictures: At least one picture, each of shape (H_i, W_i, 3), uint8.
        columns: Pictures per row.
        gap: Width of the white gap between pictures of a row (px); rows touch.

    Returns:
        np.ndarray: Shape (R H, columns W + (columns - 1) gap, 3), uint8, with H and W the
        largest height and width and ``R = ceil(len(pictures) / columns)``.
    """
    if not pictures:
        raise ValueError("overview_sheet needs at least one picture.")
    if columns < 1:
        raise ValueError(f"`columns` must be at least 1, got {columns}.")
    height = max(picture.shape[0] for picture in pictures)
    width = max(picture.shape[1] for picture in pictures)
    rows = -(-len(pictures) // columns)
    sheet = np.full((rows * height, columns * width + (columns - 1) * gap, 3), WHITE, np.uint8)
    for number, picture in enumerate(pictures):
        top = (number // columns) * height
        left = (number % columns) * (width + gap)
        sheet[top : top + picture.shape[0], left : left + picture.shape[1]] = picture
    return sheet


def write_overview(
    picture_paths: Sequence[str], out_file: str, columns: int = 2, gap: int = 8
) -> str:
    """Read pictures from disk, gather them with :func:`overview_sheet` and write the sheet.

    Args:
        picture_paths: Picture files (any format OpenCV reads), at least one.
        out_file: The sheet's file (e.g. ``overview.png``).
        columns: Pictures per row.
        gap: Width of the white gap between pictures of a row (px).

    Returns:
        str: ``out_file``.
    """
    pictures = []
    for path in picture_paths:
        picture = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if picture is None:
            raise ValueError(f"Cannot read the picture '{path}' for the overview sheet.")
        pictures.append(picture)
    if not cv2.imwrite(str(out_file), overview_sheet(pictures, columns, gap)):
        raise ValueError(f"Cannot write the overview sheet to '{out_file}'; check the folder.")
    return str(out_file)
