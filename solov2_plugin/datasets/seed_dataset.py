"""``SeedInstanceDataset``: one split of the seed's folder format as an mmdet dataset."""

import warnings
from typing import List, Mapping, Optional, Sequence, Tuple, Union

from mmdet.datasets import BaseDetDataset
from mmdet.registry import DATASETS
from mmengine import list_from_file

from .class_index import check_classes, default_palette, read_cls_ind
from .coco_convert import encode_instance_rles
from .errors import short_listing
from .instance_maps import instance_areas
from .seed_validation import SeedSample, read_seed_sample
from .semantic_maps import semantic_map_advice, semantic_map_evidence
from .split_pairing import DEFAULT_DATA_PREFIX, scan_seed_split

_FILTER_KEYS = {"filter_empty_gt", "min_size"}


class SeedBoxMismatchWarning(UserWarning):
    """A JSON box differs from the box of its instance's mask by more than the tolerance."""


class SeedSemanticMapWarning(UserWarning):
    """Label maps look like semantic (class) maps: one ID covers many separate regions."""


class SeedImageDepthWarning(UserWarning):
    """16-bit images would be cut to their high byte by ``LoadImageFromFile``."""


@DATASETS.register_module()
class SeedInstanceDataset(BaseDetDataset):
    """One split of a dataset in the seed's folder format.

    ``data_root`` holds ``images/``, ``labels/`` (instance-ID maps) and
    ``annotations/`` (one JSON per image) whose files share base names; see
    ``docs/dataset.md``. Building the dataset reads every annotation and label
    map once, validates them (any problem raises :class:`SeedFormatError`
    naming the file; ``tools/check_dataset.py`` lists all of them at once) and
    keeps per sample:

    - ``img_path``, ``label_map_path``, ``img_id`` (1-based, sorted base
      names), ``height``, ``width``;
    - ``instances``: per label ID in ascending order, ``bbox`` (xyxy from the
      mask, maximum exclusive), ``bbox_label`` (0-based class index),
      ``ignore_flag`` (1 for ``"iscrowd": 1`` entries), ``mask`` (compressed
      COCO RLE at the original size), ``area`` (mask pixels) and ``label_id``.

    ``LoadSeedImage`` reads its image (8/16-bit, greyscale, RGBA) and
    ``LoadSeedInstanceMasks`` turns a sample into ``gt_masks`` and friends.
    Building warns once (:class:`SeedSemanticMapWarning`) when label maps look
    like semantic maps (see :mod:`.semantic_maps`), and once
    (:class:`SeedImageDepthWarning`) when the pipeline reads 16-bit images
    with mmcv's ``LoadImageFromFile``.
    mmdet's ``CocoMetric`` without ``ann_file`` builds its ground truth from
    ``instances``: add ``'instances'`` to ``PackDetInputs``' ``meta_keys`` in
    the evaluation pipeline.

    Images without instances are kept (``filter_cfg=None``); mmdet's
    ``filter_cfg=dict(filter_empty_gt=True, min_size=32)`` works as in
    ``CocoDataset``.

    Args:
        data_root (str): The split's folder.
        cls_ind (Mapping[str, int] | str, optional): Seed-style class index
            ``{"background": 0, "cat": 1, ...}`` or a JSON file of one; the
            background entry is dropped and classes are ordered by index.
            Either this or ``metainfo=dict(classes=...)`` is required; given
            both, they must agree.
        data_prefix (dict, optional): Sub-folders ``img``, ``seg`` and ``ann``
            relative to ``data_root``. Defaults to
            ``dict(img='images', seg='labels', ann='annotations')``.
        verify_images (bool): Decode every image while building, which finds
            truncated files (otherwise only headers are read). Defaults to
            False.
        box_tolerance (float): JSON boxes further than this many pixels from
            their mask's box are warned about, once per file. Defaults to 2.
        metainfo (Mapping, optional): ``classes`` (sequence of names, or a
            text file of one name per line) and optionally ``palette`` (one
            RGB tuple per class; a fixed default otherwise).
        ann_file (str): Must stay empty: the annotations are per-image JSONs.
        **kwargs: ``pipeline``, ``filter_cfg``, ``test_mode``, ``lazy_init``,
            ``indices``, ``serialize_data``, ``backend_args``... as in
            :class:`mmdet.datasets.BaseDetDataset`.

    Attributes:
        category_ids (list[int]): COCO category ID of each class: the
            ``cls_ind`` indices, else ``1..K``; used by the COCO converter.

    Raises:
        ValueError: For missing or inconsistent classes, an ``ann_file``, or
            unknown ``filter_cfg`` keys; :class:`SeedFormatError` (a
            ``ValueError``) for problems in the files.
    """

    METAINFO: dict = dict()

    def __init__(
        self,
        data_root: str,
        cls_ind: Optional[Union[Mapping[str, int], str]] = None,
        data_prefix: Optional[dict] = None,
        verify_images: bool = False,
        box_tolerance: float = 2.0,
        metainfo: Optional[Mapping] = None,
        ann_file: str = "",
        **kwargs,
    ) -> None:
        if ann_file:
            raise ValueError(
                f"SeedInstanceDataset reads per-image JSONs from data_root and takes no ann_file "
                f"(got {ann_file!r}); when overriding a COCO dataset in a config, use "
                "dict(_delete_=True, type='SeedInstanceDataset', ...)."
            )
        metainfo = dict(metainfo or {})
        classes, self.category_ids = self._resolve_classes(metainfo.get("classes"), cls_ind)
        metainfo["classes"] = classes
        palette = metainfo.get("palette")
        if palette is None:
            metainfo["palette"] = default_palette(len(classes))
        elif len(palette) < len(classes):
            raise ValueError(
                f"metainfo['palette'] has {len(palette)} colours for {len(classes)} classes; "
                "give one RGB tuple per class or leave it out for a default palette."
            )
        prefix = dict(DEFAULT_DATA_PREFIX)
        prefix.update(data_prefix or {})
        unknown = set(prefix) - set(DEFAULT_DATA_PREFIX)
        if unknown:
            raise ValueError(
                f"data_prefix keys {sorted(unknown)} are unknown; SeedInstanceDataset uses "
                "'img', 'seg' and 'ann'."
            )
        unknown = set(kwargs.get("filter_cfg") or {}) - _FILTER_KEYS
        if unknown:
            raise ValueError(
                f"filter_cfg keys {sorted(unknown)} are unknown; SeedInstanceDataset supports "
                f"{sorted(_FILTER_KEYS)}."
            )
        self.verify_images = verify_images
        self.box_tolerance = box_tolerance
        super().__init__(data_root=data_root, data_prefix=prefix, metainfo=metainfo, **kwargs)

    @staticmethod
    def _resolve_classes(
        classes: Optional[Union[Sequence[str], str]],
        cls_ind: Optional[Union[Mapping[str, int], str]],
    ) -> Tuple[Tuple[str, ...], List[int]]:
        if isinstance(classes, str):
            classes = list_from_file(classes)
        if classes is None and cls_ind is None:
            raise ValueError(
                "SeedInstanceDataset needs its classes: pass metainfo=dict(classes=(...)) or "
                "cls_ind={'background': 0, 'cat': 1, ...} (or the path of such a JSON file)."
            )
        if cls_ind is None:
            classes = check_classes(classes, "metainfo['classes']")
            return classes, list(range(1, len(classes) + 1))
        names, indices = read_cls_ind(cls_ind)
        if classes is not None and tuple(classes) != tuple(names):
            raise ValueError(
                f"metainfo['classes'] {tuple(classes)} disagree with cls_ind, which orders the "
                f"classes as {tuple(names)}; give only one of them."
            )
        return check_classes(names, "cls_ind"), indices

    def load_data_list(self) -> List[dict]:
        """Scan the split, validate every sample and build its data info.

        Returns:
            list[dict]: One data info per image, sorted by base name.

        Raises:
            SeedFormatError: The first problem found in the files.
        """
        samples, problems = scan_seed_split(
            self.data_prefix["img"], self.data_prefix["seg"], self.data_prefix["ann"]
        )
        if problems:
            raise problems[0]
        classes = self._metainfo["classes"]
        label_of = {name: label for label, name in enumerate(classes)}
        data_list, semantic, deep_images = [], [], []
        for img_id, paths in enumerate(samples, start=1):
            sample = read_seed_sample(
                paths,
                classes,
                verify_image=self.verify_images,
                box_tolerance=self.box_tolerance,
                backend_args=self.backend_args,
            )
            if sample.box_mismatch:
                warnings.warn(
                    f"{paths.ann_path}: the boxes of label ID(s) {sample.box_mismatch} differ from "
                    f"their masks' boxes by more than {self.box_tolerance} px; the masks' boxes "
                    "are used.",
                    SeedBoxMismatchWarning,
                    stacklevel=2,
                )
            class_indices = [self.category_ids[label_of[n]] for n in sample.class_names]
            evidence = semantic_map_evidence(
                sample.ids.tolist(), sample.region_counts, class_indices
            )
            if evidence:
                semantic.append(f"{paths.label_map_path} ({evidence})")
            if sample.image is not None and sample.image.bits > 8:
                deep_images.append(f"{paths.img_path} ({sample.image.describe()})")
            data_list.append(self._data_info(sample, img_id, label_of))
        self._warn_about_files(semantic, deep_images, len(samples))
        return data_list

    def _warn_about_files(self, semantic: List[str], deep_images: List[str], total: int) -> None:
        """One warning for suspected semantic maps, one for 16-bit images cut by the pipeline."""
        if semantic:
            warnings.warn(
                f"{len(semantic)} of {total} label maps of {self.data_root} look like semantic "
                f"(class) maps, not instance maps: {short_listing(semantic, 3)}. "
                + semantic_map_advice(),
                SeedSemanticMapWarning,
                stacklevel=3,
            )
        loads = [type(t).__name__ for t in getattr(self.pipeline, "transforms", [])]
        if deep_images and "LoadImageFromFile" in loads:
            warnings.warn(
                f"{len(deep_images)} of {total} images of {self.data_root} have more than 8 bits "
                f"per channel: {short_listing(deep_images, 3)}. mmcv's LoadImageFromFile keeps "
                "only their high byte (e.g. values 0..1728 become 0..6); use "
                "dict(type='LoadSeedImage') in the pipeline instead.",
                SeedImageDepthWarning,
                stacklevel=3,
            )

    @staticmethod
    def _data_info(sample: SeedSample, img_id: int, label_of: Mapping[str, int]) -> dict:
        num = len(sample.ids)
        rles = encode_instance_rles(sample.index_map, num)
        areas = instance_areas(sample.index_map, num).tolist()
        instances = [
            dict(
                bbox=box,
                bbox_label=label_of[name],
                ignore_flag=int(crowd),
                mask=rle,
                area=area,
                label_id=label_id,
            )
            for box, name, crowd, rle, area, label_id in zip(
                sample.boxes.tolist(),
                sample.class_names,
                sample.crowd.tolist(),
                rles,
                areas,
                sample.ids.tolist(),
            )
        ]
        return dict(
            img_path=sample.paths.img_path,
            label_map_path=sample.paths.label_map_path,
            img_id=img_id,
            height=sample.height,
            width=sample.width,
            instances=instances,
        )

    def filter_data(self) -> List[dict]:
        """Apply ``filter_cfg`` (training only), as mmdet's ``CocoDataset`` does.

        ``filter_empty_gt`` drops images without a non-ignored instance;
        ``min_size`` drops images whose shorter side is below it.

        Returns:
            list[dict]: The kept data infos.

        Raises:
            ValueError: If the filter would remove every image.
        """
        if self.test_mode or not self.filter_cfg:
            return self.data_list
        filter_empty_gt = self.filter_cfg.get("filter_empty_gt", False)
        min_size = self.filter_cfg.get("min_size", 0)
        kept = [
            info
            for info in self.data_list
            if min(info["width"], info["height"]) >= min_size
            and not (filter_empty_gt and all(i["ignore_flag"] for i in info["instances"]))
        ]
        if self.data_list and not kept:
            raise ValueError(
                f"filter_cfg={self.filter_cfg} removes all {len(self.data_list)} images of "
                f"{self.data_root}; relax it or leave it out."
            )
        return kept
