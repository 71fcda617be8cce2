"""``GTPredOverlayHook``: ground truth beside prediction for every test image."""

from __future__ import annotations

import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence

import mmcv
from mmdet.registry import HOOKS
from mmdet.structures import DetDataSample
from mmengine.hooks import Hook
from mmengine.utils import mkdir_or_exist

from ..datasets.transforms import LoadSeedImage
from ..visualization import draw_gt_pred


@HOOKS.register_module()
class GTPredOverlayHook(Hook):
    """Draw ground truth | prediction for every test image into a folder.

    mmdet's ``DetVisualizationHook`` draws the data sample's ``gt_instances``, which a test
    pipeline does not load, so its ground-truth panel stays empty. This hook takes the
    ground truth from the data info's ``instances`` instead (masks at the original size):
    from the sample's metainfo when the test pipeline's ``PackDetInputs`` keeps
    ``'instances'`` in its ``meta_keys``, else from the test dataset (matched by
    ``img_path``). Each picture is ``<out_dir>/<image stem>.png``: the image at its original
    size with the ground truth on the left and, on the right, the predictions scoring above
    ``score_thr`` (:func:`~solov2_plugin.visualization.draw_gt_pred`; labels sit inside
    their masks and never overlap). A split without ground truth gives a bare left panel.

    Use it from a config, or with ``tools/test.py --show-dir DIR``::

        custom_hooks = [dict(type='GTPredOverlayHook', out_dir='overlays', score_thr=0.3)]

    Args:
        out_dir: Folder of the pictures; a relative one lies under
            ``<work_dir>/<timestamp>/`` (as mmdet's ``test_out_dir``), an absolute one is used
            as is.
        score_thr: Only predictions scoring above this are drawn.
        gap: Width of the white gap between the two panels (px).

    Attributes:
        written (list[str]): Paths of the pictures written by the last test run, in order.
    """

    priority = "NORMAL"

    def __init__(self, out_dir: str = "overlays", score_thr: float = 0.3, gap: int = 4) -> None:
        if not 0.0 <= score_thr <= 1.0:
            raise ValueError(f"GTPredOverlayHook: score_thr must lie in [0, 1], got {score_thr}.")
        self.out_dir = out_dir
        self.score_thr = score_thr
        self.gap = gap
        self.written: List[str] = []
        self._out_path = out_dir
        self._class_names: Sequence[str] = ()
        self._palette: Optional[Sequence[Sequence[int]]] = None
        self._instances_by_path: Optional[Dict[str, list]] = None
        # 8-bit images load as with LoadImageFromFile; 16-bit ones are scaled, not truncated.
        self._load_image = LoadSeedImage()

    def before_test(self, runner) -> None:
        """Settle the output folder and read the classes and palette of the test split."""
        self._out_path = osp.join(runner.work_dir, runner.timestamp, self.out_dir)
        mkdir_or_exist(self._out_path)
        self.written = []
        self._instances_by_path = None
        metainfo = runner.test_dataloader.dataset.metainfo
        if "classes" not in metainfo:
            raise ValueError(
                "GTPredOverlayHook needs the class names of the test dataset: set "
                "metainfo=dict(classes=(...)) on test_dataloader.dataset."
            )
        self._class_names = tuple(metainfo["classes"])
        self._palette = metainfo.get("palette")

    def _ground_truth(self, runner, sample: DetDataSample) -> list:
        """The data info's ``instances`` of ``sample``; empty when the split has none."""
        if "instances" in sample.metainfo:
            return sample.metainfo["instances"]
        if self._instances_by_path is None:
            dataset = runner.test_dataloader.dataset
            infos = (dataset.get_data_info(index) for index in range(len(dataset)))
            self._instances_by_path = {
                info.get("img_path"): info.get("instances", []) for info in infos
            }
        return self._instances_by_path.get(sample.metainfo.get("img_path"), [])

    def after_test_iter(
        self,
        runner,
        batch_idx: int,
        data_batch: Optional[Mapping] = None,
        outputs: Optional[Sequence[DetDataSample]] = None,
    ) -> None:
        """Write one picture per data sample of the batch."""
        for sample in outputs or ():
            image_path = sample.metainfo["img_path"]
            image = self._load_image(dict(img_path=image_path))["img"][..., ::-1]
            picture = draw_gt_pred(
                image,
                self._ground_truth(runner, sample),
                sample.get("pred_instances"),
                self._class_names,
                self._palette,
                self.score_thr,
                self.gap,
            )
            stem = osp.splitext(osp.basename(image_path))[0]
            path = osp.join(self._out_path, f"{stem}.png")
            mmcv.imwrite(picture[..., ::-1], path)
            self.written.append(path)
