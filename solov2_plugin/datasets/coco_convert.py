"""Conversion between the seed's label maps and COCO instance annotations.

Pure functions (no file I/O): :mod:`.coco_files` reads and writes the files.
The seed -> COCO direction writes masks as compressed RLE and keeps each
instance's seed label ID under the extra key ``seed_label_id``, so that the way
back rebuilds the very same label maps.

Dimension key: H, W: image height and width; N: number of instances.
"""

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence

import numpy as np
from pycocotools import mask as mask_utils

from .instance_maps import instance_run_lengths


def encode_instance_rles(index_map: np.ndarray, num: int) -> List[Dict[str, Any]]:
    """Compressed COCO RLEs of all instances of an index map, in one pass.

    Args:
        index_map (np.ndarray): ``(H, W)`` int index map (-1 = background, ``i``
            for instance i), see :func:`~.instance_maps.index_label_map`.
        num (int): Number of instances N; every index in ``[0, N)`` must occur.

    Returns:
        list[dict]: N RLEs ``{"size": [H, W], "counts": str}``, identical to
        ``pycocotools.mask.encode`` of each binary mask.
    """
    if num == 0:
        return []
    height, width = index_map.shape
    uncompressed = [
        {"size": [height, width], "counts": counts}
        for counts in instance_run_lengths(index_map, num)
    ]
    rles = mask_utils.frPyObjects(uncompressed, height, width)
    return [{"size": [height, width], "counts": rle["counts"].decode("ascii")} for rle in rles]


def decode_segmentation(segmentation: Any, height: int, width: int) -> np.ndarray:
    """Rasterise a COCO segmentation (polygons, uncompressed or compressed RLE).

    Args:
        segmentation (list | dict): COCO ``segmentation`` field.
        height (int): Image height H.
        width (int): Image width W.

    Returns:
        np.ndarray: ``(H, W)`` bool mask (all False for an empty segmentation).

    Raises:
        ValueError: If the segmentation has an unknown layout or a size other
            than ``(H, W)``.
    """
    if isinstance(segmentation, list):
        polygons = [p for p in segmentation if len(p) >= 6 and len(p) % 2 == 0]
        if not polygons:
            return np.zeros((height, width), bool)
        rle = mask_utils.merge(mask_utils.frPyObjects(polygons, height, width))
    elif isinstance(segmentation, dict) and "counts" in segmentation:
        if list(segmentation.get("size", [])) != [height, width]:
            raise ValueError(
                f"An RLE of size {segmentation.get('size')} belongs to an image of "
                f"{[height, width]}; the RLE's size must be [height, width] of its image."
            )
        if isinstance(segmentation["counts"], list):
            rle = mask_utils.frPyObjects(segmentation, height, width)
        else:
            rle = segmentation
    else:
        raise ValueError(
            "A COCO segmentation must be a list of polygons or an RLE dict with 'counts' and "
            f"'size', got {type(segmentation).__name__}."
        )
    return mask_utils.decode(rle).astype(bool)


def seed_to_coco(
    data_list: Sequence[dict],
    classes: Sequence[str],
    category_ids: Optional[Sequence[int]] = None,
) -> Dict[str, Any]:
    """Build a COCO instance dataset from :class:`SeedInstanceDataset` samples.

    Args:
        data_list (Sequence[dict]): The dataset's data infos (``img_path``,
            ``img_id``, ``height``, ``width``, ``instances`` with ``mask``
            RLE, ``bbox`` xyxy, ``bbox_label``, ``ignore_flag``, ``area``,
            ``label_id``).
        classes (Sequence[str]): Class names, in label order.
        category_ids (Sequence[int], optional): COCO category ID of each class;
            defaults to ``1..K`` (a seed ``cls_ind`` index fits here).

    Returns:
        dict: COCO dataset with ``images`` (``file_name`` relative to the
        split's images folder), ``annotations`` (compressed RLE, mask
        ``area``, xywh ``bbox``, ``iscrowd``, ``seed_label_id``) and
        ``categories``.
    """
    if category_ids is None:
        category_ids = list(range(1, len(classes) + 1))
    if len(category_ids) != len(classes) or len(set(category_ids)) != len(category_ids):
        raise ValueError(
            f"category_ids {list(category_ids)} must give one distinct ID per class of "
            f"{list(classes)}."
        )
    images, annotations = [], []
    for info in data_list:
        images.append(
            dict(
                id=info["img_id"],
                file_name=info["img_path"].replace("\\", "/").rsplit("/", 1)[-1],
                height=info["height"],
                width=info["width"],
            )
        )
        for instance in info["instances"]:
            x0, y0, x1, y1 = instance["bbox"]
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=info["img_id"],
                    category_id=int(category_ids[instance["bbox_label"]]),
                    segmentation=dict(instance["mask"]),
                    area=int(instance["area"]),
                    bbox=[float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                    iscrowd=int(instance["ignore_flag"]),
                    seed_label_id=int(instance["label_id"]),
                )
            )
    categories = [dict(id=int(i), name=name) for i, name in zip(category_ids, classes)]
    return dict(images=images, annotations=annotations, categories=categories)


@dataclass
class CocoImageAsSeed:
    """One COCO image turned into a seed label map.

    Attributes:
        image (dict): The COCO image entry.
        label_map (np.ndarray): ``(H, W)`` int64 IDs, 0 = background.
        classes_by_id (dict[int, str]): Class name of each ID in the map.
        crowd_ids (tuple[int, ...]): IDs of ``iscrowd`` annotations.
        lost (list[int]): COCO annotation IDs left out: empty, or entirely
            covered by other annotations.
        overlap_pixels (int): Pixels claimed by more than one annotation.
    """

    image: dict
    label_map: np.ndarray
    classes_by_id: Dict[int, str]
    crowd_ids: tuple
    lost: List[int] = field(default_factory=list)
    overlap_pixels: int = 0


def _label_ids(annotations: Sequence[dict]) -> List[int]:
    kept = [a.get("seed_label_id") for a in annotations]
    if all(isinstance(i, int) and 0 < i < 2**31 for i in kept) and len(set(kept)) == len(kept):
        return kept
    return list(range(1, len(annotations) + 1))


def coco_to_seed(coco: Dict[str, Any]) -> Iterable[CocoImageAsSeed]:
    """Turn each image of a COCO instance dataset into a seed label map.

    A label map holds one ID per pixel, so overlapping COCO masks are painted in
    this order: crowd regions first, then instances from the largest to the
    smallest, each later one on top. Label IDs are the annotations'
    ``seed_label_id`` when every annotation of the image has a distinct one
    (a round trip then gives back the same maps), else ``1..N`` in
    annotation order.

    Args:
        coco (dict): COCO dataset with ``images``, ``annotations`` and
            ``categories``.

    Yields:
        CocoImageAsSeed: One per image, in the order of ``coco["images"]``.

    Raises:
        ValueError: If an annotation names an unknown image or category.
    """
    names = {c["id"]: c["name"] for c in coco.get("categories", [])}
    by_image: Dict[Any, List[dict]] = {image["id"]: [] for image in coco["images"]}
    for ann in coco.get("annotations", []):
        if ann["image_id"] not in by_image:
            raise ValueError(f"Annotation {ann['id']} names image {ann['image_id']}, not listed.")
        if ann["category_id"] not in names:
            raise ValueError(
                f"Annotation {ann['id']} names category {ann['category_id']}, not listed."
            )
        by_image[ann["image_id"]].append(ann)
    for image in coco["images"]:
        height, width = int(image["height"]), int(image["width"])
        annotations = by_image[image["id"]]
        ids = _label_ids(annotations)
        masks = [decode_segmentation(a["segmentation"], height, width) for a in annotations]
        areas = [int(m.sum()) for m in masks]
        order = sorted(
            range(len(annotations)),
            key=lambda k: (not annotations[k].get("iscrowd", 0), -areas[k], k),
        )
        label_map = np.zeros((height, width), np.int64)
        claims = np.zeros((height, width), np.int32)
        for k in order:
            label_map[masks[k]] = ids[k]
            claims += masks[k]
        present = set(np.unique(label_map).tolist())
        kept = [k for k in range(len(annotations)) if ids[k] in present]
        yield CocoImageAsSeed(
            image=image,
            label_map=label_map,
            classes_by_id={ids[k]: names[annotations[k]["category_id"]] for k in kept},
            crowd_ids=tuple(ids[k] for k in kept if annotations[k].get("iscrowd", 0)),
            lost=[annotations[k]["id"] for k in range(len(annotations)) if ids[k] not in present],
            overlap_pixels=int((claims > 1).sum()),
        )
