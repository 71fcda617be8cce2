"""Run the exported model and PyTorch on the same images and compare them."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Sequence, Tuple, Union

from mmengine.config import Config
from mmengine.structures import InstanceData
from tqdm import tqdm

from ..apis.predictor import PathLike, SOLOv2Predictor
from .agreement import Agreement, compare_results


def default_images(config: Union[PathLike, Config]) -> List[Path]:
    """The images of the config's validation split (``<data_root>/images``), sorted.

    Args:
        config (str | Path | Config): A config whose ``val_dataloader.dataset.data_root`` is a
            seed-format split (the demo's ``data/demo/val``).

    Returns:
        list[Path]: The split's images; empty when the folder does not exist.
    """
    from ..apis.infer_run import IMAGE_SUFFIXES

    cfg = config if isinstance(config, Config) else Config.fromfile(str(config))
    root = (cfg.get("val_dataloader") or {}).get("dataset", {}).get("data_root")
    folder = Path(str(root)) / "images" if root else None
    if folder is None or not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def check_export(
    config: Union[PathLike, Config],
    checkpoint: PathLike,
    onnx_path: PathLike,
    images: Sequence[Any],
    *,
    threads: int = 0,
    progress: bool = False,
    **test_cfg_overrides: Any,
) -> Tuple[Agreement, List[InstanceData], List[InstanceData]]:
    """Predict ``images`` with PyTorch (eager, CPU) and onnxruntime, and compare.

    Args:
        config (str | Path | Config): The model's config.
        checkpoint (str | Path): The weights the ONNX file was exported from.
        onnx_path (str | Path): The exported model.
        images (Sequence): Paths or ``(H, W, 3)`` uint8 RGB arrays.
        threads (int): onnxruntime threads (0: its default).
        progress (bool): Show a progress bar.
        **test_cfg_overrides: The overrides the export was made with.

    Returns:
        tuple: the :class:`Agreement`, PyTorch's and onnxruntime's results per image.
    """
    reference = SOLOv2Predictor(config, checkpoint, device="cpu", **test_cfg_overrides)
    exported = SOLOv2Predictor(
        config, onnx_path, backend="onnxruntime", threads=threads, **test_cfg_overrides
    )
    ref_results, onnx_results = [], []
    for image in tqdm(images, desc="compare", unit="image", disable=not progress):
        ref_results.append(reference(image))
        onnx_results.append(exported(image))
    return compare_results(ref_results, onnx_results), ref_results, onnx_results
