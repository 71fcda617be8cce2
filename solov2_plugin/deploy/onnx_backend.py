"""Run an exported SOLOv2 in onnxruntime and return what the PyTorch path returns.

Shapes: R detections, h x w the resized input image, Ho x Wo the mask size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.structures import InstanceData

from ..apis.predictor import PathLike
from ..structures import masks_to_boxes
from .onnx_export import INPUT_NAMES, MIN_DYNAMIC_SIDE, out_size_for, read_metadata


class OnnxSOLOv2Runner:
    """An onnxruntime session on a file written by :func:`~.onnx_export.export_onnx`.

    Args:
        onnx_path (str | Path): The exported model.
        threads (int): onnxruntime intra-op threads; 0: onnxruntime's default (all cores).
        providers (Sequence[str], optional): Execution providers; None: the CPU.

    Attributes:
        metadata (dict): The file's metadata (class names, palette, baked ``test_cfg``...).
        class_names (tuple[str, ...]): K class names, in label order.
        palette (list[tuple[int, int, int]] | None): RGB colour per class, when known.
        test_cfg (dict): The post-processing settings baked into the graph.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it is not a SOLOv2 export.
    """

    def __init__(
        self,
        onnx_path: PathLike,
        threads: int = 0,
        providers: Optional[Sequence[str]] = None,
    ) -> None:
        import onnxruntime as ort

        self.path = Path(onnx_path)
        self.metadata: Dict[str, Any] = read_metadata(self.path)
        self.class_names = tuple(self.metadata["class_names"])
        palette = self.metadata.get("palette")
        self.palette = [tuple(int(c) for c in colour) for colour in palette] if palette else None
        self.test_cfg = dict(self.metadata["test_cfg"])
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only
        if threads > 0:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(self.path), options, providers=list(providers or ["CPUExecutionProvider"])
        )

    def check_input(self, image: np.ndarray) -> None:
        """Raise ValueError when the graph cannot take a (1, 3, h, w) input of this size."""
        height, width = image.shape[-2:]
        if self.metadata.get("dynamic"):
            if min(height, width) < MIN_DYNAMIC_SIDE:
                raise ValueError(
                    f"{self.path}: the resized input is {height} x {width}; the exported graph "
                    f"needs both sides >= {MIN_DYNAMIC_SIDE}. Resize the image up, or use the "
                    "PyTorch backend."
                )
            return
        expected = tuple(self.metadata.get("input_shape", ()))
        if (height, width) != expected:
            raise ValueError(
                f"{self.path}: exported without --dynamic for inputs of {expected[0]} x "
                f"{expected[1]}, got {height} x {width}; export again with --dynamic."
            )

    def run(self, image: np.ndarray, out_size: np.ndarray) -> Tuple[np.ndarray, ...]:
        """Run the graph.

        Args:
            image (np.ndarray): (1, 3, h, w) uint8 BGR, the test pipeline's resized image.
            out_size (np.ndarray): (2,) int64 mask size (Ho, Wo).

        Returns:
            tuple[np.ndarray, np.ndarray, np.ndarray]: ``masks`` (R, Ho, Wo) bool,
            ``labels`` (R,) int64, ``scores`` (R,) float32.
        """
        self.check_input(image)
        feeds = {
            INPUT_NAMES[0]: np.ascontiguousarray(image, dtype=np.uint8),
            INPUT_NAMES[1]: np.asarray(out_size, np.int64),
        }
        masks, labels, scores = self.session.run(None, feeds)
        return masks.astype(bool, copy=False), labels.astype(np.int64), scores.astype(np.float32)

    def predict(
        self, image: np.ndarray, ori_shape: Tuple[int, int], mask_out_stride: int = 1
    ) -> InstanceData:
        """Instances of one image, as :class:`~solov2_plugin.apis.SOLOv2Predictor` returns them.

        Args:
            image (np.ndarray | Tensor): (3, h, w) or (1, 3, h, w) uint8 BGR (resized).
            ori_shape (tuple[int, int]): The original image size (H, W).
            mask_out_stride (int): Masks at ``ceil(H / s)`` x ``ceil(W / s)``.

        Returns:
            InstanceData: Numpy ``masks`` (R, Ho, Wo) bool, ``labels`` (R,) int64,
            ``scores`` (R,) float32 (descending) and ``bboxes`` (R, 4) float32 xyxy at full
            image scale (max corner exclusive), computed as the head computes them.
        """
        if isinstance(image, torch.Tensor):
            image = image.cpu().numpy()
        if image.ndim == 3:
            image = image[None]
        out_size = out_size_for(ori_shape, mask_out_stride)
        masks, labels, scores = self.run(image, out_size)
        full_h, full_w = (int(side) for side in ori_shape[:2])
        bboxes = masks_to_boxes(torch.from_numpy(masks)) * mask_out_stride
        bboxes = torch.minimum(bboxes, bboxes.new_tensor([full_w, full_h, full_w, full_h]))
        result = InstanceData()
        result.masks = masks
        result.labels = labels
        result.scores = scores
        result.bboxes = bboxes.numpy().astype(np.float32, copy=False)
        return result
