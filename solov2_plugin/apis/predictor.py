"""``SOLOv2Predictor``: a trained model as a plain function from images to instances.

Shapes: ``N`` instances, ``H`` x ``W`` image, ``K`` classes.

Example:
    >>> from solov2_plugin.apis import SOLOv2Predictor
    >>> predictor = SOLOv2Predictor('configs/solov2_demo.py', 'best.pth', score_thr=0.5)
    >>> result = predictor('image.png')  # doctest: +SKIP
    >>> result.masks.shape, predictor.class_names[result.labels[0]]  # doctest: +SKIP
"""

from __future__ import annotations

import copy
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import mmcv
import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmengine.structures import InstanceData

from ..datasets.errors import SeedFormatError
from ..datasets.seed_readers import decode_image_bgr, read_bytes

PathLike = Union[str, Path]
ImageInput = Union[PathLike, np.ndarray]

CHANNEL_ORDERS = ("rgb", "bgr")
#: Where the model runs: PyTorch (a checkpoint) or onnxruntime (a file of tools/export_onnx.py).
BACKENDS = ("pytorch", "onnxruntime")


class UnreadableImageError(ValueError):
    """An input image is missing, truncated, not an image, or of an unsupported depth.

    Args:
        path (str | Path): The file at fault.
        problem (str): What is wrong, as a sentence.
    """

    def __init__(self, path: PathLike, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem} Check the file, or leave it out of the inputs.")

    def __reduce__(self) -> Tuple[type, Tuple[str, str]]:
        return type(self), (self.path, self.problem)


def read_image(path: PathLike) -> np.ndarray:
    """Read an image file of any common depth as 8-bit RGB.

    Decoded as :class:`~solov2_plugin.datasets.transforms.LoadSeedImage` does: EXIF
    orientation applied, greyscale replicated to three channels, alpha dropped, 16-bit values
    scaled to 8 bits by the image's own maximum.

    Args:
        path (str | Path): Image file (PNG, JPEG, TIFF, BMP, ...).

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8, RGB.

    Raises:
        UnreadableImageError: If the file is missing, unreadable, not an image, or holds
            32-bit or float values.
    """
    try:
        bgr = decode_image_bgr(read_bytes(path), path)
    except SeedFormatError as error:
        raise UnreadableImageError(path, error.problem) from error
    return np.ascontiguousarray(bgr[..., ::-1])


def as_bgr(image: np.ndarray, channel_order: str = "rgb") -> np.ndarray:
    """Check an in-memory image and return it as ``(H, W, 3)`` uint8 BGR (what mmdet expects).

    Args:
        image (np.ndarray): ``(H, W, 3)`` uint8 in ``channel_order``; ``(H, W)`` or
            ``(H, W, 1)`` greyscale (replicated) and ``(H, W, 4)`` (alpha dropped) are accepted.
        channel_order (str): ``'rgb'`` (default: PIL, skimage, matplotlib) or ``'bgr'``
            (OpenCV, mmcv).

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8, BGR, contiguous.

    Raises:
        ValueError: For another dtype, shape or channel order.
    """
    if channel_order not in CHANNEL_ORDERS:
        raise ValueError(
            f"channel_order={channel_order!r} is unknown: use 'rgb' (PIL, skimage) or 'bgr' "
            "(OpenCV, mmcv)."
        )
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        kind = image.dtype if isinstance(image, np.ndarray) else type(image).__name__
        raise ValueError(
            f"An in-memory image must be a uint8 numpy array, got {kind}; scale it to 0..255 "
            "and convert it with `.astype(np.uint8)`, or pass the file path instead."
        )
    given_shape = image.shape
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise ValueError(
            f"An in-memory image must have shape (H, W, 3) (or (H, W), (H, W, 1), (H, W, 4)), "
            f"got {given_shape}."
        )
    if min(image.shape[:2]) == 0:
        raise ValueError(
            f"An in-memory image must be at least 1 x 1 pixel, got the empty shape {given_shape}."
        )
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    image = image[..., :3]
    if channel_order == "rgb":
        image = image[..., ::-1]
    return np.ascontiguousarray(image)


def check_resizable(pipeline: Compose, shape: Tuple[int, int], source: str) -> None:
    """Refuse an image that the pipeline's ``Resize`` steps would shrink to 0 pixels.

    A keep-ratio resize of a thin strip (e.g. 1 x 600 into 256 x 256) rounds its short side
    to 0, which OpenCV rejects with an error that names neither the image nor the cause.

    Args:
        pipeline (Compose): The test pipeline.
        shape (tuple[int, int]): The image's ``(H, W)``.
        source (str): The image's path, or a description of an in-memory image.

    Raises:
        ValueError: A resize step would make a side 0 px; names the shape and the fix.
    """
    height, width = shape
    for step in pipeline.transforms:
        scale = getattr(step, "scale", None)
        if scale is None or not hasattr(step, "keep_ratio"):
            continue
        if step.keep_ratio:
            new_width, new_height = mmcv.rescale_size((width, height), scale)
        else:
            new_width, new_height = scale
        if min(new_width, new_height) < 1:
            raise ValueError(
                f"{source}: an image of shape ({height}, {width}) becomes "
                f"{new_height} x {new_width} px after the test pipeline's resize to {scale}: "
                "its aspect ratio is too extreme. Crop it, or pad its short side, first."
            )
        height, width = new_height, new_width


def _is_loading_step(step: dict) -> bool:
    """Whether a pipeline step reads files (images, annotations): ``Load*`` transforms."""
    name = str(step.get("type", ""))
    return name.split(".")[-1].startswith("Load") or name.endswith("InferencerLoader")


def in_memory_test_pipeline(cfg: Config) -> List[dict]:
    """The config's test pipeline without its file-loading and ground-truth steps.

    Args:
        cfg (Config): A full config with ``test_dataloader.dataset.pipeline`` (or
            ``test_pipeline``).

    Returns:
        list[dict]: Transform configs taking a dict with ``img`` (BGR uint8), ``img_shape``,
        ``ori_shape``, ``img_path`` and ``img_id``.

    Raises:
        ValueError: If the config has no test pipeline.
    """
    dataset = cfg.get("test_dataloader", {}).get("dataset", {})
    pipeline = dataset.get("pipeline") or cfg.get("test_pipeline")
    if not pipeline:
        raise ValueError(
            f"The config {cfg.filename} has no test pipeline: set "
            "test_dataloader.dataset.pipeline (e.g. Resize and PackDetInputs)."
        )
    steps = [copy.deepcopy(dict(step)) for step in pipeline if not _is_loading_step(step)]
    for step in steps:
        if "meta_keys" in step:  # ground truth is not there at inference
            step["meta_keys"] = tuple(key for key in step["meta_keys"] if key != "instances")
    return steps


def class_names_from(checkpoint_meta: dict, cfg: Config, num_classes: int) -> Tuple[str, ...]:
    """Class names: the checkpoint's ``dataset_meta``, else the config's, else ``class_<k>``.

    Args:
        checkpoint_meta (dict): The checkpoint's ``meta``.
        cfg (Config): The model's config.
        num_classes (int): K, the head's number of classes (0: unknown, not checked).

    Returns:
        tuple[str, ...]: K names, in label order.

    Raises:
        ValueError: If the names found are not K.
    """
    meta = {
        str(key).lower(): value for key, value in checkpoint_meta.get("dataset_meta", {}).items()
    }
    names = meta.get("classes")
    source = "the checkpoint's meta.dataset_meta"
    if names is None:
        dataset = cfg.get("test_dataloader", {}).get("dataset", {})
        names = (dataset.get("metainfo") or {}).get("classes") or cfg.get("classes")
        source = "the config's test_dataloader.dataset.metainfo"
    if names is None:
        return tuple(f"class_{index}" for index in range(num_classes))
    names = tuple(str(name) for name in names)
    if num_classes and len(names) != num_classes:
        raise ValueError(
            f"{source} names {len(names)} classes {list(names)} but the model's head predicts "
            f"{num_classes}: use the config the checkpoint was trained with."
        )
    return names


def _default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


class SOLOv2Predictor:
    """A trained SOLOv2 as a function of images (any mmdet instance segmentor works too).

    Built from a config and a checkpoint with mmdet's registry; images go through the config's
    test pipeline (its ``Load*`` steps left out, images given in memory) and the model's
    ``test_step``. Images whose inputs pad to the same size are batched together, so a batched
    call returns what single calls return.

    Also usable as ``predict_fn`` of :func:`~solov2_plugin.apis.series.predict_series` and
    :func:`~solov2_plugin.apis.tiles.predict_tiled`: ``predictor(image)`` with an ``(H, W, 3)``
    uint8 RGB array returns the instances at the array's size (the test pipeline resizes).

    Args:
        config (str | Path | Config): The model's config (a file or a loaded ``Config``).
        checkpoint (str | Path): Weights saved by mmengine (ours or converted from mmdet).
        device (str, optional): ``'cuda'``, ``'cuda:1'``, ``'cpu'``... None: ``'cuda'`` when
            available, else ``'cpu'``. The onnxruntime backend runs on the CPU.
        backend (str): ``'pytorch'`` (``checkpoint`` is a ``.pth``) or ``'onnxruntime'``
            (``checkpoint`` is an ``.onnx`` written by ``tools/export_onnx.py``; images go
            through the same test pipeline, one per graph call, and come back in the same
            form; see ``docs/deploy.md``).
        threads (int): onnxruntime intra-op threads (0: its default); unused by PyTorch.
        **test_cfg_overrides: Post-processing settings replacing the config's
            ``model.test_cfg`` ones: ``score_thr``, ``mask_thr``, ``nms_pre``, ``filter_thr``,
            ``kernel`` (``'gaussian'`` / ``'linear'``), ``sigma``, ``max_per_img``,
            ``mask_out_stride`` (2: masks at H/2 x W/2). Unknown keys raise ``ValueError``.
            With onnxruntime the settings are the exported graph's: only ``mask_out_stride``
            may change, other values must equal the baked ones.

    Attributes:
        model (torch.nn.Module | None): The model, in eval mode, on ``device`` (None with
            onnxruntime).
        runner (OnnxSOLOv2Runner | None): The onnxruntime session (None with PyTorch).
        cfg (Config): The config, with the overrides applied.
        class_names (tuple[str, ...]): K class names, in label order (checkpoint's
            ``dataset_meta``, else the config's).
        palette (list[tuple[int, int, int]] | None): RGB colour per class, when the checkpoint
            carries one.
        device (str): Where the model runs.

    Raises:
        FileNotFoundError: If the config or the checkpoint does not exist.
        ValueError: For unknown ``test_cfg`` keys, or a checkpoint that does not fit the model.
    """

    def __init__(
        self,
        config: Union[PathLike, Config],
        checkpoint: PathLike,
        device: Optional[str] = None,
        backend: str = "pytorch",
        threads: int = 0,
        **test_cfg_overrides: Any,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend={backend!r} is unknown: use one of {BACKENDS}.")
        self.backend = backend
        self.runner: Any = None
        if isinstance(config, Config):
            cfg = copy.deepcopy(config)
        else:
            if not Path(config).is_file():
                raise FileNotFoundError(f"Config file {config} does not exist; check the path.")
            cfg = Config.fromfile(str(config))
        if not Path(checkpoint).is_file():
            raise FileNotFoundError(f"Checkpoint {checkpoint} does not exist; check the path.")
        init_default_scope(cfg.get("default_scope", "mmdet"))
        if backend == "onnxruntime":
            self._init_onnxruntime(cfg, checkpoint, threads, test_cfg_overrides)
            return
        from mmdet.registry import MODELS  # after the scope: the registry is mmdet's

        if test_cfg_overrides:
            test_cfg = dict(cfg.model.get("test_cfg") or {})
            test_cfg.update(test_cfg_overrides)
            cfg.model.test_cfg = test_cfg
        if cfg.model.get("backbone", {}).get("init_cfg") is not None:
            cfg.model.backbone.init_cfg = None  # the checkpoint holds every weight
        try:
            model = MODELS.build(cfg.model)
        except ValueError as error:
            if test_cfg_overrides and "test_cfg" in str(error):
                raise ValueError(
                    f"SOLOv2Predictor: test_cfg overrides {sorted(test_cfg_overrides)}: {error}"
                ) from error
            raise
        try:
            loaded = load_checkpoint(
                model, str(checkpoint), map_location="cpu", strict=True, logger="silent"
            )
        except RuntimeError as error:
            raise ValueError(
                f"Checkpoint {checkpoint} does not fit the model of {cfg.filename}: {error} "
                "Use the config the checkpoint was trained with."
            ) from error
        meta = loaded.get("meta", {}) if isinstance(loaded, dict) else {}
        num_classes = int(getattr(getattr(model, "mask_head", None), "num_classes", 0) or 0)
        self.class_names = class_names_from(meta, cfg, num_classes)
        palette = {str(k).lower(): v for k, v in meta.get("dataset_meta", {}).items()}.get(
            "palette"
        )
        self.palette = [tuple(int(c) for c in colour) for colour in palette] if palette else None
        self.device = device or _default_device()
        model.dataset_meta = {"classes": self.class_names, "palette": self.palette}
        model.cfg = cfg
        self.model = model.to(self.device).eval()
        self.cfg = cfg
        self.pipeline = Compose(in_memory_test_pipeline(cfg))
        preprocessor = getattr(model, "data_preprocessor", None)
        self.pad_size_divisor = int(getattr(preprocessor, "pad_size_divisor", 1) or 1)

    def _init_onnxruntime(
        self, cfg: Config, onnx_path: PathLike, threads: int, overrides: Dict[str, Any]
    ) -> None:
        """Set up the onnxruntime backend: the exported graph, its metadata and the pipeline.

        The graph's post-processing settings are fixed at export; only ``mask_out_stride``
        (applied on the host) may differ from the config's.
        """
        from ..deploy.onnx_backend import OnnxSOLOv2Runner

        runner = OnnxSOLOv2Runner(onnx_path, threads=threads)
        baked = runner.test_cfg
        fixed = {
            key: value
            for key, value in overrides.items()
            if key != "mask_out_stride" and baked.get(key, object()) != value
        }
        if fixed:
            raise ValueError(
                f"{onnx_path}: test_cfg {fixed} differ from the settings baked into the exported "
                f"graph {baked}; export again with them (tools/export_onnx.py --test-cfg), or "
                "use the PyTorch backend."
            )
        test_cfg = dict(cfg.model.get("test_cfg") or {})
        test_cfg.update(baked)
        test_cfg["mask_out_stride"] = int(
            overrides.get("mask_out_stride", test_cfg.get("mask_out_stride", 1))
        )
        cfg.model.test_cfg = test_cfg
        self.runner = runner
        self.model = None
        self.cfg = cfg
        self.class_names = runner.class_names
        self.palette = runner.palette
        self.device = "cpu"
        self.pipeline = Compose(in_memory_test_pipeline(cfg))
        preprocessor = cfg.model.get("data_preprocessor") or {}
        self.pad_size_divisor = int(preprocessor.get("pad_size_divisor", 1) or 1)

    @property
    def test_cfg(self) -> dict:
        """The post-processing settings in use (the config's, with the overrides)."""
        return dict(self.cfg.model.get("test_cfg") or {})

    def _prepare(self, image: ImageInput, index: int, channel_order: str) -> dict:
        """Run one image through the test pipeline; returns ``inputs`` and ``data_samples``."""
        if isinstance(image, (str, Path)):
            bgr = np.ascontiguousarray(read_image(image)[..., ::-1])
            path: Optional[str] = str(image)
        else:
            bgr = as_bgr(image, channel_order)
            path = None
        check_resizable(self.pipeline, bgr.shape[:2], path or f"image {index}")
        results = {
            "img": bgr,
            "img_shape": bgr.shape[:2],
            "ori_shape": bgr.shape[:2],
            "img_path": path,
            "img_id": index,
        }
        return self.pipeline(results)

    def _padded_shape(self, packed: dict) -> Tuple[int, int]:
        """The input size after batch padding (images batched together must share it)."""
        height, width = packed["inputs"].shape[-2:]
        divisor = self.pad_size_divisor
        return (-(-height // divisor) * divisor, -(-width // divisor) * divisor)

    def __call__(
        self,
        images: Union[ImageInput, Sequence[ImageInput]],
        channel_order: str = "rgb",
        batch_size: int = 1,
    ) -> Union[InstanceData, List[InstanceData]]:
        """Segment one image or a list of images.

        Args:
            images: A path, an ``(H, W, 3)`` uint8 array, or a list of them. Files are read
                with :func:`read_image` (8/16-bit, greyscale, RGBA).
            channel_order (str): Channel order of in-memory arrays: ``'rgb'`` (default) or
                ``'bgr'`` (as ``cv2.imread`` gives). Files are always read correctly.
            batch_size (int): At most this many images per forward pass (images padding to
                different sizes never share one).

        Returns:
            InstanceData | list[InstanceData]: Per image (a list for a list input), numpy
            arrays on the host: ``masks`` (N, H, W) bool (``ceil(H / s)`` x ``ceil(W / s)``
            with ``mask_out_stride`` s), ``labels`` (N,) int64 indices into
            :attr:`class_names`, ``scores`` (N,) float32 in descending order, ``bboxes`` (N, 4)
            float32 xyxy at full image scale (max corner exclusive). N may be 0.

        Raises:
            UnreadableImageError: If a file cannot be read (it names the file).
            ValueError: For a malformed array or an unknown ``channel_order``.
        """
        single = isinstance(images, (str, Path, np.ndarray))
        items = [images] if single else list(images)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
        packed = [self._prepare(image, index, channel_order) for index, image in enumerate(items)]
        if self.runner is not None:
            stride = int(self.test_cfg.get("mask_out_stride", 1))
            results_onnx = [
                self.runner.predict(
                    sample["inputs"], sample["data_samples"].metainfo["ori_shape"], stride
                )
                for sample in packed
            ]
            return results_onnx[0] if single else results_onnx
        groups: Dict[Tuple[int, int], List[int]] = defaultdict(list)
        for index, sample in enumerate(packed):
            groups[self._padded_shape(sample)].append(index)
        results: List[Optional[InstanceData]] = [None] * len(items)
        for indices in groups.values():
            for start in range(0, len(indices), batch_size):
                chunk = indices[start : start + batch_size]
                data = {
                    "inputs": [packed[i]["inputs"] for i in chunk],
                    "data_samples": [packed[i]["data_samples"] for i in chunk],
                }
                with torch.no_grad():
                    outputs = self.model.test_step(data)
                for i, output in zip(chunk, outputs):
                    results[i] = _to_host(output.pred_instances)
        return results[0] if single else results  # type: ignore[return-value]


def _to_host(instances: InstanceData) -> InstanceData:
    """``pred_instances`` as numpy arrays: masks bool, labels int64, scores/bboxes float32."""

    def numpy(value: Any) -> np.ndarray:
        if isinstance(value, torch.Tensor):
            return value.detach().cpu().numpy()
        return np.asarray(value)

    masks = numpy(instances.masks).astype(bool, copy=False)
    result = InstanceData()
    result.masks = masks
    result.labels = numpy(instances.labels).astype(np.int64, copy=False).reshape(-1)
    result.scores = numpy(instances.scores).astype(np.float32, copy=False).reshape(-1)
    if "bboxes" in instances:
        result.bboxes = numpy(instances.bboxes).astype(np.float32, copy=False).reshape(-1, 4)
    else:
        result.bboxes = np.zeros((len(masks), 4), np.float32)
    return result


def det_inferencer_config(config: Union[PathLike, Config]) -> Config:
    """A config that mmdet's ``DetInferencer`` takes, and builds without warnings.

    Two changes, neither affecting the predictions:

    - ``DetInferencer`` looks for mmcv's ``LoadImageFromFile`` in the test pipeline (to swap
      it for its ``InferencerLoader``, which takes paths and arrays) and raises when it is not
      there: our seed-format configs read images with ``LoadSeedImage``, which becomes
      ``LoadImageFromFile`` (identical for 8-bit images; for 16-bit ones pass arrays from
      :func:`read_image`, flipped to BGR, or use :class:`SOLOv2Predictor`).
    - ``DetInferencer`` builds the config's ``visualizer`` with no ``save_dir``, so the
      ``LocalVisBackend`` of mmdet's ``default_runtime.py`` cannot be added and mmengine warns
      "Failed to add LocalVisBackend". The inferencer saves its pictures itself (its
      ``out_dir``), never through a backend: the backends are dropped.

    Args:
        config (str | Path | Config): The model's config.

    Returns:
        Config: A modified copy.
    """
    cfg = copy.deepcopy(config) if isinstance(config, Config) else Config.fromfile(str(config))
    for step in cfg.test_dataloader.dataset.pipeline:
        if str(step.get("type", "")).split(".")[-1] == "LoadSeedImage":
            step.clear()
            step["type"] = "LoadImageFromFile"
    if cfg.get("visualizer") is not None:
        cfg.visualizer.vis_backends = []
    return cfg
