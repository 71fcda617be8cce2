"""``LoadSeedInstanceMasks``: instance masks, boxes and labels from a label map."""

from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import get_box_type
from mmdet.structures.mask import BitmapMasks

from ..errors import SeedFormatError, short_listing
from ..instance_maps import index_label_map, instance_boxes, instance_masks
from ..seed_readers import read_label_map


@TRANSFORMS.register_module()
class LoadSeedInstanceMasks(BaseTransform):
    """Load the instances of a :class:`SeedInstanceDataset` sample from its label map.

    Place it right after ``LoadSeedImage`` (or ``LoadImageFromFile``); mmdet's
    geometric transforms (Resize, RandomFlip, RandomCrop, Pad, multi-scale...)
    and ``PackDetInputs`` then work unchanged. The label map is decoded with PIL and indexed in
    O(H * W); only the N instance masks are built, never a one-hot stack of the
    largest ID's depth.

    Required keys: ``label_map_path``, ``instances`` (with ``label_id``,
    ``bbox_label`` and ``ignore_flag``), ``ori_shape``, ``img_shape``.

    Added keys:

    - ``gt_masks`` (BitmapMasks): ``(N, H, W)`` uint8 masks, one per instance
      in ``instances`` order (ascending label ID).
    - ``gt_bboxes`` (HorizontalBoxes or np.ndarray): ``(N, 4)`` float32 xyxy
      boxes of the masks, maximum corner exclusive.
    - ``gt_bboxes_labels`` (np.ndarray): ``(N,)`` int64 class indices.
    - ``gt_ignore_flags`` (np.ndarray): ``(N,)`` bool, True for crowd regions.

    Args:
        box_type (str, optional): Box type for ``gt_bboxes`` as in mmdet's
            ``LoadAnnotations``; None gives a plain array. Defaults to 'hbox'.
        backend_args (dict, optional): mmengine file backend arguments.
    """

    def __init__(self, box_type: Optional[str] = "hbox", backend_args: Optional[dict] = None):
        self.box_type = box_type
        self.backend_args = backend_args

    def transform(self, results: dict) -> dict:
        """Read the label map and add the instance annotations.

        Args:
            results (dict): Result dict of ``SeedInstanceDataset`` after
                ``LoadImageFromFile``.

        Returns:
            dict: ``results`` with ``gt_masks``, ``gt_bboxes``,
            ``gt_bboxes_labels`` and ``gt_ignore_flags``.

        Raises:
            ValueError: If the sample lacks the keys above or the transform is
                placed after a resize.
            SeedFormatError: If the label map is unreadable, not the size of
                its image, or holds other IDs than the sample lists.
        """
        if "label_map_path" not in results or "instances" not in results:
            raise ValueError(
                "LoadSeedInstanceMasks needs samples of SeedInstanceDataset (keys "
                "'label_map_path' and 'instances'); for COCO-format data use mmdet's "
                "LoadAnnotations instead."
            )
        path = results["label_map_path"]
        label_map = read_label_map(path, self.backend_args)
        height, width = label_map.shape
        ori_shape = tuple(results.get("ori_shape", (height, width)))
        if ori_shape != (height, width):
            raise SeedFormatError(
                path,
                f"The label map is {height}x{width} (HxW) but its image is "
                f"{ori_shape[0]}x{ori_shape[1]}.",
                "Label maps must have their image's size; check the files with "
                "tools/check_dataset.py.",
            )
        if tuple(results.get("img_shape", ori_shape)) != ori_shape:
            raise ValueError(
                "LoadSeedInstanceMasks got an image already resized to "
                f"{tuple(results['img_shape'])}; place it right after the image loading step "
                "(LoadSeedImage or LoadImageFromFile)."
            )
        instances = results["instances"]
        ids, index_map = index_label_map(label_map)
        expected = [instance["label_id"] for instance in instances]
        if ids.tolist() != expected:
            raise SeedFormatError(
                path,
                f"The label map holds {len(ids)} IDs ({short_listing(ids.tolist())}) but its "
                f"annotation listed {len(expected)} ({short_listing(expected)}) when the dataset "
                "was built.",
                "The file changed since; rebuild the dataset (restart the run).",
            )
        num = len(expected)
        boxes = instance_boxes(index_map, num)
        results["gt_masks"] = BitmapMasks(instance_masks(index_map, num), height, width)
        if self.box_type is None:
            results["gt_bboxes"] = boxes
        else:
            results["gt_bboxes"] = get_box_type(self.box_type)[1](boxes)
        results["gt_bboxes_labels"] = np.array(
            [instance["bbox_label"] for instance in instances], np.int64
        )
        results["gt_ignore_flags"] = np.array(
            [instance["ignore_flag"] for instance in instances], bool
        )
        return results

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(box_type={self.box_type!r}, backend_args={self.backend_args})"
