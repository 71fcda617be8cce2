"""The run behind ``tools/infer.py``: inputs listed, read, segmented, written, summarised.

Per picture: one label image (``(H, W)`` int32, 0 = background, objects 1..K) with its class
and score tables (entry ``L - 1`` for label ``L``); every output is drawn from it (see
:mod:`.infer_outputs`). A bad input (unreadable, or failing anywhere on its way) is reported,
skipped and listed in the summary; it never ends the run.
"""

from __future__ import annotations

import glob
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.structures import InstanceData
from tqdm import tqdm

from .infer_outputs import (
    BACKGROUND_COLOUR,
    CocoWriter,
    crop_objects,
    draw_overlay,
    write_image,
    write_label_png,
)
from .label_image import EDGES, clean_label_image, drop_edge_objects, edge_flags, fuse_instances
from .measure import measure_instances, write_measurements_csv
from .predictor import SOLOv2Predictor, read_image

#: Suffixes of the files taken from a folder (case-insensitive).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp", ".pgm", ".ppm")
#: Exit status: every input segmented / some inputs failed / bad command line or set-up.
EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2

PredictFn = Callable[[np.ndarray], InstanceData]


@dataclass
class InferOptions:
    """What to do with each picture (``tools/infer.py``'s options).

    Attributes:
        out_dir (Path): Where everything is written.
        overlay_scale (float): Size of the overlays relative to the pictures, in (0, 1].
        min_box_side (int): Objects whose box has a side under this (px) are dropped.
        min_part_area (int): Connected parts under this many pixels are erased.
        edge_margin (int): Pixels from an edge still counted as touching it.
        edges (tuple[str, ...]): The edges that count (``top``, ``bottom``, ``left``,
            ``right``).
        drop_edge (bool): Drop the objects touching ``edges`` (else flag them in the CSV).
        pixel_size (float, optional): mm per pixel, for the ``*_mm`` CSV columns.
        crops (bool): Write one picture per object.
        polygons (bool): Also write ``coco_polygons.json``.
        tile (int, optional): Predict in windows of this side (px).
        overlap (int, optional): Overlap of tiles or of series frames (px); None: 128 for
            tiles, 0 for series.
        background (tuple[int, int, int]): RGB colour of the other objects in a crop.
    """

    out_dir: Path
    overlay_scale: float = 1.0
    min_box_side: int = 0
    min_part_area: int = 0
    edge_margin: int = 0
    edges: Tuple[str, ...] = EDGES
    drop_edge: bool = False
    pixel_size: Optional[float] = None
    crops: bool = False
    polygons: bool = False
    tile: Optional[int] = None
    overlap: Optional[int] = None
    background: Tuple[int, int, int] = BACKGROUND_COLOUR


@dataclass
class ImageResult:
    """One picture's objects.

    Attributes:
        label_image (np.ndarray): ``(H, W)`` int32, objects 1..K.
        labels (np.ndarray): ``(K,)`` int64 class indices (label ``L`` at ``L - 1``).
        scores (np.ndarray): ``(K,)`` float32 scores.
        records (list[dict]): K measurement rows (:func:`measure_instances`).
    """

    label_image: np.ndarray
    labels: np.ndarray
    scores: np.ndarray
    records: List[Dict[str, Any]]


@dataclass
class RunSummary:
    """What a run did.

    Attributes:
        segmented (list[str]): Names of the pictures (or frames) segmented.
        failed (list[tuple[str, str]]): ``(input, reason)`` of each input skipped.
        objects (Counter): Objects per class name.
        seconds (float): Time spent reading, predicting and writing.
        outputs (dict[str, str]): Run-level files written (CSV, COCO JSON...).
    """

    segmented: List[str] = field(default_factory=list)
    failed: List[Tuple[str, str]] = field(default_factory=list)
    objects: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    outputs: Dict[str, str] = field(default_factory=dict)

    @property
    def exit_status(self) -> int:
        """:data:`EXIT_OK` when nothing failed, else :data:`EXIT_SOME_FAILED`."""
        return EXIT_SOME_FAILED if self.failed else EXIT_OK

    def text(self) -> str:
        """The summary printed at the end of a run."""
        count = len(self.segmented)
        per_image = self.seconds / count if count else 0.0
        lines = [
            f"segmented {count} image(s) in {self.seconds:.1f} s ({per_image:.2f} s per image)",
            f"objects: {sum(self.objects.values())}"
            + "".join(f"\n  {name}: {n}" for name, n in sorted(self.objects.items())),
        ]
        lines += [f"wrote {path}" for path in self.outputs.values()]
        if self.failed:
            lines.append(f"FAILED {len(self.failed)} input(s), skipped:")
            lines += [f"  {path}: {reason}" for path, reason in self.failed]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-ready summary (``summary.json``)."""
        return {
            "segmented": self.segmented,
            "failed": [{"input": path, "reason": reason} for path, reason in self.failed],
            "objects_per_class": dict(self.objects),
            "seconds": round(self.seconds, 3),
            "outputs": self.outputs,
            "exit_status": self.exit_status,
        }


def list_inputs(inputs: Sequence[str], recursive: bool = False) -> Tuple[List[Path], List[str]]:
    """Expand files, folders and glob patterns into a list of image files.

    A folder gives its files with an image suffix (:data:`IMAGE_SUFFIXES`), sorted by path,
    its sub-folders too with ``recursive``; a pattern (``*``, ``?``, ``[``) gives its matches
    (``**`` crosses folders with ``recursive``); a file is taken as it is. Duplicates are
    dropped, the first place kept.

    Args:
        inputs (Sequence[str]): Files, folders or glob patterns.
        recursive (bool): Descend into sub-folders.

    Returns:
        tuple: The files, and one message per input that gave none.
    """
    files: List[Path] = []
    problems = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            walk = path.rglob("*") if recursive else path.glob("*")
            found = sorted(p for p in walk if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            where = "or below it " if recursive else ""
            message = f"{item}: no image ({', '.join(IMAGE_SUFFIXES)}) in this folder {where}"
        elif glob.has_magic(item):
            found = sorted(Path(p) for p in glob.glob(item, recursive=recursive))
            found = [p for p in found if p.is_file()]
            message = f"{item}: the pattern matches no file"
        elif path.exists():
            found = [path]
        else:
            found, message = [], f"{item}: no such file or folder"
        if not found:
            problems.append(message.rstrip())
        files += found
    unique = list(dict.fromkeys(files))
    return unique, problems


def output_names(paths: Sequence[Path]) -> List[str]:
    """A distinct name per input for its output files: its stem, made unique when needed.

    Stems shared by several inputs get their parent folder's name in front
    (``a/x.png``, ``b/x.png`` -> ``a_x``, ``b_x``), then a number if still not unique.
    """
    stems = Counter(p.stem for p in paths)
    names = [p.stem if stems[p.stem] == 1 else f"{p.parent.name}_{p.stem}" for p in paths]
    seen: Counter = Counter()
    unique = []
    for name in names:
        seen[name] += 1
        unique.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return unique


def full_size(predict: Callable[[np.ndarray], Any]) -> PredictFn:
    """Wrap a predictor so its masks are at the picture's size whatever ``mask_out_stride``.

    Masks at ``ceil(H / s)`` x ``ceil(W / s)`` are repeated ``s`` times along both axes and
    cropped to ``H`` x ``W``.
    """

    def predict_fn(image: np.ndarray) -> InstanceData:
        result = predict(image)
        masks = np.asarray(result.masks, bool)
        height, width = image.shape[:2]
        if masks.shape[1:] != (height, width) and len(masks):
            stride = -(-height // masks.shape[1])
            masks = masks.repeat(stride, axis=1).repeat(stride, axis=2)[:, :height, :width]
            result.masks = np.ascontiguousarray(masks)
        elif masks.shape[1:] != (height, width):
            result.masks = np.zeros((0, height, width), bool)
        return result

    return predict_fn


def segment_image(
    image: np.ndarray,
    predict_fn: PredictFn,
    options: InferOptions,
    class_names: Sequence[str],
    image_name: str,
) -> ImageResult:
    """Predict, fuse, clean, handle edges and measure one picture.

    Overlapping masks go to the best-scoring instance (the head returns no mask
    probabilities to fuse by); with ``options.tile`` the picture is predicted in windows
    (:func:`~solov2_plugin.apis.tiles.predict_tiled`).

    Args:
        image (np.ndarray): ``(H, W, 3)`` uint8 RGB.
        predict_fn (Callable): Full-size predictor (:func:`full_size`).
        options (InferOptions): The run's options.
        class_names (Sequence[str]): Names of the class indices.
        image_name (str): Value of the CSV's ``image`` column.

    Returns:
        ImageResult: The picture's label image, tables and measurements.
    """
    if options.tile:
        from .tiles import predict_tiled

        overlap = 128 if options.overlap is None else options.overlap
        label_image, records = predict_tiled(
            image,
            predict_fn,
            tile=options.tile,
            overlap=min(overlap, options.tile - 1),
            min_box_side=options.min_box_side,
            min_part_area=options.min_part_area,
        )
        labels = np.asarray([r["class"] for r in records], np.int64)
        scores = np.asarray([r["score"] for r in records], np.float32)
    else:
        instances = predict_fn(image)
        labels = np.asarray(instances.labels, np.int64)
        scores = np.asarray(instances.scores, np.float32)
        fused = fuse_instances(instances.masks, scores, by="score")
        label_image, kept = clean_label_image(fused, options.min_box_side, options.min_part_area)
        labels, scores = labels[kept - 1], scores[kept - 1]
    if options.drop_edge:
        label_image, kept = drop_edge_objects(label_image, options.edge_margin, options.edges)
        labels, scores = labels[kept - 1], scores[kept - 1]
    records = measure_instances(
        label_image, labels, scores, class_names, options.pixel_size, image_name
    )
    touching = edge_flags(label_image, options.edge_margin, options.edges)
    for record in records:
        record["touches_edge"] = bool(touching[record["id"] - 1])
    return ImageResult(label_image, labels, scores, records)


def _write_picture(
    name: str,
    image: np.ndarray,
    result: ImageResult,
    options: InferOptions,
    class_names: Sequence[str],
    palette: Optional[Sequence[Sequence[int]]],
) -> None:
    """Label PNG, overlay and crops of one picture (crop names added to its records)."""
    out = options.out_dir
    write_label_png(out / "labels" / f"{name}.png", result.label_image)
    overlay = draw_overlay(
        image,
        result.label_image,
        result.labels,
        result.scores,
        class_names,
        palette,
        options.overlay_scale,
    )
    write_image(out / "overlays" / f"{name}.png", overlay)
    if options.crops:
        crops = crop_objects(image, result.label_image, options.background)
        for record in result.records:
            file_name = f"{name}-CROP-{record['id']:03d}.jpg"
            write_image(out / "crops" / file_name, crops[record["id"]])
            record["crop"] = file_name


def run_images(
    predictor: SOLOv2Predictor,
    paths: Sequence[Path],
    options: InferOptions,
    progress: bool = True,
) -> RunSummary:
    """Segment pictures one by one and write every output (see ``docs/inference.md``).

    Args:
        predictor (SOLOv2Predictor): The model.
        paths (Sequence[Path]): Image files.
        options (InferOptions): What to write, and the post-processing.
        progress (bool): Show a progress bar (on stderr).

    Returns:
        RunSummary: Pictures segmented, inputs failed (with the reason), objects per class.
    """
    class_names = predictor.class_names
    predict_fn = full_size(predictor)
    coco = CocoWriter(class_names, polygons=options.polygons)
    summary = RunSummary()
    records: List[Dict[str, Any]] = []
    start = time.perf_counter()
    for path, name in tqdm(
        list(zip(paths, output_names(paths))), desc="infer", unit="image", disable=not progress
    ):
        try:
            image = read_image(path)
            result = segment_image(image, predict_fn, options, class_names, path.name)
            _write_picture(name, image, result, options, class_names, predictor.palette)
        except Exception as error:  # noqa: BLE001  (reported, listed and skipped)
            summary.failed.append((str(path), f"{type(error).__name__}: {error}"))
            continue
        coco.add_image(path.name, result.label_image, result.labels, result.scores)
        records += result.records
        summary.segmented.append(str(path))
        summary.objects.update(record["class"] for record in result.records)
    summary.seconds = time.perf_counter() - start
    _finish(summary, options, records, coco)
    return summary


def run_series(
    predictor: SOLOv2Predictor,
    paths: Sequence[Path],
    options: InferOptions,
    progress: bool = True,
) -> RunSummary:
    """Segment a belt's frame series (in the order given), each object once and whole.

    Calls :func:`~solov2_plugin.apis.series.predict_series`; every seam image it predicts is
    saved as ``seams/OVERLAP_<k>-<k+1>.png`` (k: index of the frame above, in the order
    given). A frame that cannot be read ends its series: the frames before and after it are
    processed as two series (so no seam is made across the gap). The CSV's ``image`` is the
    frame holding the object's top row.

    Args:
        predictor (SOLOv2Predictor): The model.
        paths (Sequence[Path]): Frame files, top of the belt first.
        options (InferOptions): Post-processing and outputs (``overlap``: rows shared by
            consecutive frames).
        progress (bool): Show a progress bar (on stderr).

    Returns:
        RunSummary: As :func:`run_images`.
    """
    from .series import predict_series

    summary = RunSummary()
    records: List[Dict[str, Any]] = []
    start = time.perf_counter()
    segments: List[List[Tuple[int, Path, np.ndarray]]] = [[]]
    for index, path in enumerate(tqdm(paths, desc="read", unit="frame", disable=not progress)):
        try:
            segments[-1].append((index, path, read_image(path)))
        except Exception as error:  # noqa: BLE001  (reported, listed and skipped)
            summary.failed.append((str(path), f"{type(error).__name__}: {error}"))
            segments.append([])
    predict_fn = full_size(predictor)
    for segment in (s for s in segments if s):
        indices = [index for index, _, _ in segment]

        def save_seam(k: int, seam: np.ndarray, indices: List[int] = indices) -> None:
            above, below = indices[k], indices[k + 1]
            write_image(options.out_dir / "seams" / f"OVERLAP_{above}-{below}.png", seam)

        try:
            found = predict_series(
                [frame for _, _, frame in segment],
                predict_fn,
                overlap=options.overlap or 0,
                min_box_side=options.min_box_side,
                min_part_area=options.min_part_area,
                class_names=predictor.class_names,
                pixel_size=options.pixel_size,
                seam_callback=save_seam,
            )
        except Exception as error:  # noqa: BLE001
            reason = f"{type(error).__name__}: {error}"
            summary.failed += [(str(path), reason) for _, path, _ in segment]
            continue
        for record in found:
            record["image"] = segment[record["frame"]][1].name
            record["frame"] = indices[record["frame"]]
        records += found
        summary.segmented += [str(path) for _, path, _ in segment]
        summary.objects.update(record["class"] for record in found)
    summary.seconds = time.perf_counter() - start
    _finish(summary, options, records, None)
    return summary


def _finish(
    summary: RunSummary,
    options: InferOptions,
    records: List[Dict[str, Any]],
    coco: Optional[CocoWriter],
) -> None:
    """Write the run-level files (CSV, COCO JSON, summary.json) and note them in ``summary``."""
    out = options.out_dir
    out.mkdir(parents=True, exist_ok=True)
    summary.outputs["csv"] = str(write_measurements_csv(out / "measurements.csv", records))
    if coco is not None:
        for path in coco.write(out):
            summary.outputs[path.stem] = str(path)
    summary.outputs["summary"] = str(out / "summary.json")
    (out / "summary.json").write_text(json.dumps(summary.to_dict(), indent=2))
