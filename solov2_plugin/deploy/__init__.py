"""Deployment: SOLOv2 with its post-processing exported to ONNX and run in onnxruntime.

See ``docs/deploy.md``. onnx, onnxscript and onnxruntime are imported only when used.
"""

from .agreement import Agreement, compare_results, mask_iou_matrix, match_detections
from .export_module import SOLOv2ExportModule

__all__ = [
    "Agreement",
    "SOLOv2ExportModule",
    "compare_results",
    "mask_iou_matrix",
    "match_detections",
]
