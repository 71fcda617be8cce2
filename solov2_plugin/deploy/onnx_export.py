"""Export a trained SOLOv2 (network and post-processing) to one ONNX file.

The graph is :class:`~.export_module.SOLOv2ExportModule` traced by ``torch.export`` and
translated by PyTorch's dynamo-based ONNX exporter (``torch.onnx.export(..., dynamo=True)``,
which needs ``onnxscript``). The weights are stored inside the file (no ``.onnx.data``
beside it), and the file's metadata carries what a runner needs besides the graph: class
names, palette, the baked post-processing settings and the input layout (see
:data:`METADATA_KEYS`).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config

from ..apis.predictor import PathLike, SOLOv2Predictor
from .export_module import GRAPH_TEST_KEYS, SOLOv2ExportModule, effective_test_cfg

#: Input and output names of the graph.
INPUT_NAMES = ("image", "out_size")
OUTPUT_NAMES = ("masks", "labels", "scores")
#: Format of the metadata (bumped when the graph's inputs or outputs change).
FORMAT_VERSION = "1"
#: ``metadata_props`` keys written into the ONNX file (values are JSON).
METADATA_KEYS = (
    "solov2_format",
    "class_names",
    "palette",
    "test_cfg",
    "pad_size_divisor",
    "dynamic",
    "input_shape",
)
#: Smallest side of a dynamic input: the stride-64 level must be at least 2 cells wide
#: (the exporter proves the graph's shapes for sides >= 65 only).
MIN_DYNAMIC_SIDE = 65
#: Largest side of a dynamic input.
MAX_DYNAMIC_SIDE = 8192


@contextlib.contextmanager
def _quiet_export() -> Iterator[None]:
    """Silence the exporter's progress lines and warnings (errors still raise)."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "torch._dynamo")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def example_input(predictor: SOLOv2Predictor, image: Any) -> Tuple[torch.Tensor, torch.Tensor]:
    """The graph's inputs for one image, as the predictor's test pipeline makes them.

    Args:
        predictor (SOLOv2Predictor): Gives the test pipeline and ``mask_out_stride``.
        image: A path or an ``(H, W, 3)`` uint8 RGB array.

    Returns:
        tuple[Tensor, Tensor]: ``image`` (1, 3, h, w) uint8 BGR (resized, unpadded) and
        ``out_size`` (2,) int64, the original size divided by ``mask_out_stride``
        (rounded up).
    """
    packed = predictor._prepare(image, 0, "rgb")
    stride = int(predictor.test_cfg.get("mask_out_stride", 1))
    out_size = out_size_for(packed["data_samples"].metainfo["ori_shape"], stride)
    return packed["inputs"][None].contiguous(), torch.from_numpy(out_size)


def _export_program(
    module: SOLOv2ExportModule, inputs: Tuple[torch.Tensor, torch.Tensor], dynamic: bool
) -> torch.export.ExportedProgram:
    """``torch.export`` the module (non-strict first, then strict)."""
    shapes = None
    if dynamic:
        height = torch.export.Dim("height", min=MIN_DYNAMIC_SIDE, max=MAX_DYNAMIC_SIDE)
        width = torch.export.Dim("width", min=MIN_DYNAMIC_SIDE, max=MAX_DYNAMIC_SIDE)
        shapes = {"image": {2: height, 3: width}, "out_size": None}
    errors = []
    for strict in (False, True):
        try:
            return torch.export.export(module, inputs, dynamic_shapes=shapes, strict=strict)
        except Exception as error:  # noqa: BLE001  (the other tracing mode may succeed)
            errors.append(f"strict={strict}: {type(error).__name__}: {str(error)[:2000]}")
    raise RuntimeError("torch.export failed on SOLOv2ExportModule:\n" + "\n".join(errors))


def export_onnx(
    config: Union[PathLike, Config],
    checkpoint: PathLike,
    out_path: PathLike,
    sample_image: Any,
    *,
    dynamic: bool = True,
    opset: Optional[int] = None,
    **test_cfg_overrides: Any,
) -> Path:
    """Export the model of ``config`` + ``checkpoint`` with its post-processing to ONNX.

    Args:
        config (str | Path | Config): The model's config.
        checkpoint (str | Path): Its weights (``.pth``).
        out_path (str | Path): The ``.onnx`` file to write (folders are created).
        sample_image: A path or ``(H, W, 3)`` uint8 RGB array traced through the graph;
            with ``dynamic=False`` the graph only takes inputs of its resized size.
        dynamic (bool): Dynamic input height and width (sides 65..8192). Defaults to True.
        opset (int, optional): ONNX opset; None: the exporter's default (18 or more).
        **test_cfg_overrides: Post-processing settings replacing the config's ones before
            they are baked into the graph (``score_thr``, ``nms_pre``, ``max_per_img``...).

    Returns:
        Path: ``out_path``.

    Raises:
        FileNotFoundError: If the config or the checkpoint does not exist.
        ValueError: For a model or setting the graph cannot hold (see
            :class:`SOLOv2ExportModule`).
        RuntimeError: If tracing or translating fails.
    """
    import onnx

    predictor = SOLOv2Predictor(config, checkpoint, device="cpu", **test_cfg_overrides)
    module = SOLOv2ExportModule(predictor.model).eval()
    inputs = example_input(predictor, sample_image)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad(), _quiet_export():
        program = _export_program(module, inputs, dynamic)
        onnx_program = torch.onnx.export(
            program,
            f=None,
            input_names=list(INPUT_NAMES),
            output_names=list(OUTPUT_NAMES),
            opset_version=opset,
            dynamo=True,
            external_data=False,
        )
    model = onnx_program.model_proto
    cfg = effective_test_cfg(predictor.model.mask_head)
    metadata: Dict[str, Any] = {
        "solov2_format": FORMAT_VERSION,
        "class_names": list(predictor.class_names),
        "palette": [list(colour) for colour in predictor.palette] if predictor.palette else None,
        "test_cfg": {key: cfg[key] for key in GRAPH_TEST_KEYS},
        "pad_size_divisor": module.pad_size_divisor,
        "dynamic": dynamic,
        "input_shape": list(inputs[0].shape[-2:]),
    }
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    onnx.save_model(model, str(out_path))
    return out_path


def read_metadata(onnx_path: PathLike) -> Dict[str, Any]:
    """The metadata :func:`export_onnx` wrote into an ONNX file.

    Args:
        onnx_path (str | Path): The ``.onnx`` file.

    Returns:
        dict: :data:`METADATA_KEYS` and their values.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it was not written by :func:`export_onnx` (or by another version).
    """
    import onnx

    path = Path(onnx_path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such ONNX file; export one with tools/export_onnx.py.")
    model = onnx.load_model(str(path), load_external_data=False)
    props = {entry.key: entry.value for entry in model.metadata_props}
    if props.get("solov2_format") != json.dumps(FORMAT_VERSION):
        raise ValueError(
            f"{path}: not a SOLOv2 export of this version (metadata solov2_format="
            f"{props.get('solov2_format')!r}, expected {FORMAT_VERSION!r}); export it again with "
            "tools/export_onnx.py."
        )
    return {key: json.loads(props[key]) for key in METADATA_KEYS if key in props}


def out_size_for(ori_shape: Tuple[int, int], mask_out_stride: int) -> np.ndarray:
    """The graph's ``out_size`` input: ``ceil(ori / mask_out_stride)``, (2,) int64."""
    return np.asarray([-(-int(side) // mask_out_stride) for side in ori_shape[:2]], np.int64)
