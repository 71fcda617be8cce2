"""``CrowdedCocoMetric``: COCO's mAP counting as many detections an image as its other metrics."""

from contextlib import contextmanager
from typing import Dict, Iterator, List

from mmdet.evaluation.metrics import CocoMetric, coco_metric
from mmdet.registry import METRICS
from mmengine.logging import print_log


class _COCOevalAtLargestMaxDets(coco_metric.COCOeval):
    """pycocotools' COCOeval whose ``stats[0]`` (mAP) uses ``params.maxDets[-1]``.

    pycocotools computes the mAP over IoU 0.50:0.95 with at most 100 detections an image
    whatever ``params.maxDets`` says, while AP50, AP75 and the per-size APs use its last
    entry. On images holding more than 100 objects that mAP is capped (190 objects: at
    most about 0.53 for perfect masks) and disagrees with its own AP50.
    """

    def summarize(self) -> None:
        super().summarize()
        if self.params.iouType not in ("segm", "bbox"):
            return
        area = self.params.areaRngLbl.index("all")
        precision = self.eval["precision"][:, :, :, area, -1]  # (T, R, K) at maxDets[-1]
        valid = precision[precision > -1]
        self.stats[0] = float(valid.mean()) if valid.size else -1.0


@contextmanager
def _map_at_largest_max_dets() -> Iterator[None]:
    """Make mmdet's CocoMetric build the COCOeval above for the duration."""
    original = coco_metric.COCOeval
    coco_metric.COCOeval = _COCOevalAtLargestMaxDets
    try:
        yield
    finally:
        coco_metric.COCOeval = original


@METRICS.register_module()
class CrowdedCocoMetric(CocoMetric):
    """mmdet's ``CocoMetric`` whose ``mAP`` counts up to ``proposal_nums[-1]`` detections.

    For crowded images (cells, particles, crowds: more objects an image than COCO's
    100) set ``proposal_nums`` to end at or above the model's ``max_per_img``; every
    other key is computed as by ``CocoMetric``, and with 100 detections an image or fewer
    the two metrics agree. The printed COCO table keeps pycocotools' labels: its first
    line ("maxDets=100") is the one replaced; a log line gives the value reported.

    Args:
        proposal_nums (Sequence[int]): Detections an image counted; the mAP uses the last.
            Defaults to (100, 300, 1000).
        **kwargs: ``CocoMetric``'s other arguments (``use_mp_eval`` is not supported).
    """

    def __init__(self, *args, **kwargs) -> None:
        if kwargs.get("use_mp_eval"):
            raise ValueError("CrowdedCocoMetric does not support use_mp_eval=True.")
        super().__init__(*args, **kwargs)

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        """CocoMetric's metrics, ``mAP`` counting ``proposal_nums[-1]`` detections an image."""
        with _map_at_largest_max_dets():
            metrics = super().compute_metrics(results)
        print_log(
            f"CrowdedCocoMetric: mAP counts up to {self.proposal_nums[-1]} detections an image.",
            logger="current",
        )
        return metrics
