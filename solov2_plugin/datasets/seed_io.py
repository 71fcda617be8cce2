"""Reading and writing one sample of the seed's folder format.

A split is a folder holding three sub-folders whose files share a base name:

- ``images/<stem>.<ext>``: the RGB image (png, jpg, bmp, tif, webp);
- ``labels/<stem>.<ext>``: the instance-ID map, 0 = background, stored
  losslessly: 8-bit PNG or BMP, 16-bit PNG, or 32-bit integer TIFF;
- ``annotations/<stem>.json``: ``{"<label id>": {"class": "<name>",
  "bbox": [x0, y0, x1, y1]}, ...}``, one entry per ID of the label map. An
  entry may also carry ``"iscrowd": 1`` (an extension of ours, written by the
  COCO converter) to mark a region that evaluation and training ignore.

Label maps go through PIL only: OpenCV silently clips IDs above 255 or 65535.
Every problem with a file raises :class:`SeedFormatError`, whose message names
the file, says what is wrong and how to fix it.
"""

import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine import fileio
from PIL import Image, UnidentifiedImageError

from .instance_maps import index_label_map, instance_boxes

PathLike = Union[str, Path]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
LABEL_EXTENSIONS = (".png", ".bmp", ".tif", ".tiff")
LOSSY_EXTENSIONS = (".jpg", ".jpeg", ".webp", ".jp2", ".gif")
ANNOTATION_EXTENSION = ".json"

# PIL modes of single-channel integer images (a palette image is read as its indices).
_LABEL_MODES = ("L", "P", "I;16", "I;16L", "I;16B", "I;16N", "I")
# Largest ID that each lossless label-map extension stores.
_EXTENSION_MAX_ID = {".bmp": 255, ".png": 65535, ".tif": 2**31 - 1, ".tiff": 2**31 - 1}


class SeedFormatError(ValueError):
    """A file of a seed-format dataset is missing, malformed or inconsistent.

    Args:
        path (str | Path): The file (or folder) at fault.
        problem (str): What is wrong, as a sentence.
        fix (str): How to fix it, as a sentence.
    """

    def __init__(self, path: PathLike, problem: str, fix: str) -> None:
        self.path = str(path)
        self.problem = problem
        self.fix = fix
        super().__init__(f"{self.path}: {problem} {fix}")

    def __reduce__(self) -> Tuple[type, Tuple[str, str, str]]:
        return type(self), (self.path, self.problem, self.fix)


def _read_bytes(path: PathLike, backend_args: Optional[dict]) -> bytes:
    try:
        return fileio.get(str(path), backend_args=backend_args)
    except FileNotFoundError as error:
        raise SeedFormatError(
            path, "The file does not exist.", "Check the path and the split's sub-folders."
        ) from error
    except OSError as error:
        raise SeedFormatError(
            path, f"The file cannot be read ({error}).", "Check its permissions."
        ) from error


def read_label_map(path: PathLike, backend_args: Optional[dict] = None) -> np.ndarray:
    """Read an instance-ID label map losslessly.

    Args:
        path (str | Path): Label-map file (.png, .bmp, .tif or .tiff).
        backend_args (dict, optional): mmengine file backend arguments.

    Returns:
        np.ndarray: ``(H, W)`` array of uint8, uint16 or int32 IDs (>= 0).

    Raises:
        SeedFormatError: If the file is missing, stored lossily, undecodable,
            truncated, has several channels or float values, or holds
            negative IDs.
    """
    suffix = Path(path).suffix.lower()
    if suffix in LOSSY_EXTENSIONS:
        raise SeedFormatError(
            path,
            f"The label map is stored as {suffix}, a lossy format that alters instance IDs.",
            "Save it as PNG (8 or 16 bits), BMP (8 bits) or TIFF (32-bit integers).",
        )
    data = _read_bytes(path, backend_args)
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            mode = image.mode
            label_map = np.asarray(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise SeedFormatError(
            path,
            f"The label map cannot be decoded ({error}); the file is truncated or not an image.",
            "Re-export it as PNG, BMP or TIFF.",
        ) from error
    if mode not in _LABEL_MODES:
        kind = "float" if mode == "F" else f"'{mode}'"
        raise SeedFormatError(
            path,
            f"The label map is a {kind} image; it must be a single-channel integer image "
            "of instance IDs.",
            "Save one channel of integer IDs (0 = background) as 8/16-bit PNG, 8-bit BMP "
            "or 32-bit integer TIFF; do not store IDs as colours or floats.",
        )
    if label_map.dtype.byteorder not in ("=", "|"):
        label_map = label_map.astype(label_map.dtype.newbyteorder("="))
    if label_map.dtype.kind == "i" and label_map.size and label_map.min() < 0:
        raise SeedFormatError(
            path,
            f"The label map holds negative IDs (smallest {label_map.min()}).",
            "IDs must be >= 0 (0 = background); 32-bit TIFFs hold IDs up to 2**31 - 1.",
        )
    return label_map


def read_image_size(
    path: PathLike, verify: bool = False, backend_args: Optional[dict] = None
) -> Tuple[int, int]:
    """Read an image's size from its header, optionally decoding it fully.

    Args:
        path (str | Path): Image file.
        verify (bool): Decode every pixel, which finds truncated files.
            Defaults to False (header only).
        backend_args (dict, optional): mmengine file backend arguments.

    Returns:
        tuple[int, int]: ``(height, width)``.

    Raises:
        SeedFormatError: If the file is missing, not an image or truncated.
    """
    data = _read_bytes(path, backend_args)
    try:
        with Image.open(io.BytesIO(data)) as image:
            if verify:
                image.load()
            width, height = image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise SeedFormatError(
            path,
            f"The image cannot be decoded ({error}); the file is truncated or not an image.",
            "Replace it with a complete RGB image, or remove the sample's three files.",
        ) from error
    return height, width


def _bad_entry(path: PathLike, key: str, problem: str) -> SeedFormatError:
    return SeedFormatError(
        path,
        f'Entry "{key}" {problem}.',
        'Each entry must read "<label id>": {"class": "<name>", "bbox": [x0, y0, x1, y1]}.',
    )


def read_annotation(path: PathLike, backend_args: Optional[dict] = None) -> Dict[int, dict]:
    """Read and validate a seed annotation JSON.

    Args:
        path (str | Path): Annotation file.
        backend_args (dict, optional): mmengine file backend arguments.

    Returns:
        dict[int, dict]: Per label ID (ascending), ``"class"`` (str), ``bbox``
        (list of 4 floats ``x0, y0, x1, y1``, or None when absent) and
        ``iscrowd`` (bool).

    Raises:
        SeedFormatError: If the file is missing, not valid JSON, or an entry is
            malformed.
    """
    data = _read_bytes(path, backend_args)
    try:
        content = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise SeedFormatError(
            path, "The annotation is not UTF-8 text.", "Save it as a UTF-8 JSON file."
        ) from error
    except json.JSONDecodeError as error:
        raise SeedFormatError(
            path,
            f"The annotation is not valid JSON ({error.msg} at line {error.lineno}, "
            f"column {error.colno}).",
            "Fix the syntax; an image without instances needs the file to hold {}.",
        ) from error
    if not isinstance(content, dict):
        raise SeedFormatError(
            path,
            f"The annotation holds a JSON {type(content).__name__}, not an object.",
            'Write an object keyed by label ID: {"1": {"class": "cat", "bbox": [...]}}.',
        )
    entries: Dict[int, dict] = {}
    for key, entry in content.items():
        try:
            label_id = int(key)
        except ValueError:
            label_id = 0
        if label_id <= 0 or str(label_id) != key.strip():
            raise _bad_entry(path, key, "is not keyed by a positive integer label ID")
        if not isinstance(entry, dict):
            raise _bad_entry(path, key, "is not an object")
        name = entry.get("class")
        if not isinstance(name, str) or not name:
            raise _bad_entry(path, key, 'has no "class" name')
        bbox = entry.get("bbox")
        if bbox is not None:
            if (
                not isinstance(bbox, list)
                or len(bbox) != 4
                or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                    for v in bbox
                )
            ):
                raise _bad_entry(path, key, f'has "bbox" {bbox!r}, not 4 numbers')
            bbox = [float(v) for v in bbox]
        iscrowd = entry.get("iscrowd", 0)
        if iscrowd not in (0, 1, False, True):
            raise _bad_entry(path, key, f'has "iscrowd" {iscrowd!r}, not 0 or 1')
        entries[label_id] = {"class": name, "bbox": bbox, "iscrowd": bool(iscrowd)}
    return {label_id: entries[label_id] for label_id in sorted(entries)}


def default_label_extension(highest_id: int) -> str:
    """The label-map format that holds IDs up to ``highest_id``: '.png' or '.tif'."""
    return ".png" if highest_id <= 65535 else ".tif"


_BITS_MAX_ID = {8: 255, 16: 65535, 32: 2**31 - 1}
_BITS_DTYPE = {8: np.uint8, 16: np.uint16, 32: np.int32}


def _label_dtype(ext: str, highest: int, label_bits: Optional[int]) -> np.dtype:
    allowed = {".bmp": (8,), ".png": (8, 16), ".tif": (32,), ".tiff": (32,)}[ext]
    if label_bits is None:
        fitting = [bits for bits in allowed if highest <= _BITS_MAX_ID[bits]]
        if not fitting:
            raise ValueError(
                f"A {ext} label map stores IDs up to {_EXTENSION_MAX_ID[ext]}, but the map "
                f"holds ID {highest}; use a '.tif' label map (32 bits) or renumber the instances."
            )
        return np.dtype(_BITS_DTYPE[fitting[0]])
    if label_bits not in allowed or highest > _BITS_MAX_ID[label_bits]:
        raise ValueError(
            f"label_bits={label_bits} cannot hold ID {highest} in a {ext} label map; "
            f"{ext} stores {' or '.join(map(str, allowed))}-bit IDs (32 bits: up to 2**31 - 1)."
        )
    return np.dtype(_BITS_DTYPE[label_bits])


def write_label_map(
    path: PathLike, label_map: np.ndarray, label_bits: Optional[int] = None
) -> Path:
    """Write an instance-ID map losslessly; the path's extension picks the format.

    Args:
        path (str | Path): Destination ending in '.png', '.bmp', '.tif' or '.tiff'.
        label_map (np.ndarray): ``(H, W)`` non-negative integer IDs.
        label_bits (int, optional): 8, 16 or 32; defaults to the fewest bits
            the format offers that hold the largest ID (PNG: 8 or 16, BMP: 8,
            TIFF: 32).

    Returns:
        Path: The written path.

    Raises:
        ValueError: If the format is lossy or unknown, or cannot hold the IDs.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in LABEL_EXTENSIONS:
        raise ValueError(
            f"{path}: a label map must be written as one of {LABEL_EXTENSIONS} (lossless), "
            f"not {ext or 'a file without extension'}."
        )
    label_map = np.asarray(label_map)
    if label_map.ndim != 2 or not np.issubdtype(label_map.dtype, np.integer):
        raise ValueError(
            f"label_map must be a 2-D integer array, got shape {label_map.shape} and dtype "
            f"{label_map.dtype}."
        )
    if label_map.size and label_map.min() < 0:
        raise ValueError("label_map must hold IDs >= 0 (0 = background).")
    highest = int(label_map.max()) if label_map.size else 0
    dtype = _label_dtype(ext, highest, label_bits)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(label_map.astype(dtype))).save(path)
    return path


def annotation_from_label_map(
    label_map: np.ndarray, classes_by_id: Mapping[int, str], crowd_ids: Tuple[int, ...] = ()
) -> Dict[str, dict]:
    """Build the annotation JSON content of a label map.

    Args:
        label_map (np.ndarray): ``(H, W)`` non-negative integer IDs.
        classes_by_id (Mapping[int, str]): Class name of every ID in the map,
            and of no other ID.
        crowd_ids (tuple[int, ...]): IDs to mark with ``"iscrowd": 1``.

    Returns:
        dict[str, dict]: ``{"<id>": {"class": name, "bbox": [x0, y0, x1, y1]}}``
        in ascending ID order, boxes in integer pixels with exclusive maximum.

    Raises:
        ValueError: If the named IDs differ from the map's IDs.
    """
    ids, index_map = index_label_map(np.asarray(label_map))
    id_list = ids.tolist()
    names = {int(label_id): name for label_id, name in classes_by_id.items()}
    bad_names = {k: v for k, v in names.items() if not isinstance(v, str) or not v}
    if bad_names:
        raise ValueError(f"classes_by_id must map IDs to non-empty class names, got {bad_names}.")
    if set(names) != set(id_list):
        raise ValueError(
            "classes_by_id must name exactly the IDs of label_map: missing "
            f"{sorted(set(id_list) - set(names))}, not in the map "
            f"{sorted(set(names) - set(id_list))}."
        )
    crowd = {int(label_id) for label_id in crowd_ids}
    if crowd - set(id_list):
        raise ValueError(f"crowd_ids {sorted(crowd - set(id_list))} are not IDs of label_map.")
    boxes = instance_boxes(index_map, len(id_list)).astype(int).tolist()
    annotation: Dict[str, dict] = {}
    for label_id, box in zip(id_list, boxes):
        entry: Dict[str, Any] = {"class": names[label_id], "bbox": box}
        if label_id in crowd:
            entry["iscrowd"] = 1
        annotation[str(label_id)] = entry
    return annotation


def write_annotation(path: PathLike, annotation: Mapping[str, dict]) -> Path:
    """Write annotation content (see :func:`annotation_from_label_map`) as JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(annotation, indent=1) + "\n", encoding="utf-8")
    return path


def write_seed_sample(
    split_dir: PathLike,
    stem: str,
    image: np.ndarray,
    label_map: np.ndarray,
    classes_by_id: Mapping[int, str],
    *,
    image_ext: str = ".png",
    label_ext: Optional[str] = None,
    label_bits: Optional[int] = None,
    crowd_ids: Tuple[int, ...] = (),
) -> Dict[str, Path]:
    """Write one sample (image, label map, annotation) in the seed's format.

    Boxes in the annotation are derived from the label map (``x0, y0, x1, y1``,
    integers, maximum corner exclusive).

    Args:
        split_dir (str | Path): The split's folder; ``images/``, ``labels/`` and
            ``annotations/`` are created in it when missing.
        stem (str): Base name shared by the sample's three files.
        image (np.ndarray): ``(H, W, 3)`` uint8 RGB image.
        label_map (np.ndarray): ``(H, W)`` integer instance IDs, 0 = background.
        classes_by_id (Mapping[int, str]): Class name of every ID in the map
            (and of no other ID).
        image_ext (str): Image file extension. Defaults to '.png'.
        label_ext (str, optional): '.png', '.bmp', '.tif' or '.tiff'. Defaults
            to PNG when the largest ID is below 65536, else TIFF.
        label_bits (int, optional): 8, 16 or 32 bits per ID. Defaults to the
            fewest bits that hold the largest ID (PNG: 8 or 16; BMP: 8; TIFF:
            32).
        crowd_ids (tuple[int, ...]): IDs written with ``"iscrowd": 1``.

    Returns:
        dict[str, Path]: Written paths under keys ``img``, ``seg`` and ``ann``.

    Raises:
        ValueError: If the arrays or the classes do not describe a valid sample,
            or the chosen format cannot hold the IDs.
    """
    image = np.asarray(image)
    label_map = np.asarray(label_map)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(
            f"image must be an (H, W, 3) uint8 RGB array, got shape {image.shape} "
            f"and dtype {image.dtype}."
        )
    if label_map.shape != image.shape[:2]:
        raise ValueError(
            f"label_map has shape {label_map.shape} but the image is {image.shape[:2]}; "
            "they must have the same height and width."
        )
    image_ext = image_ext.lower()
    if image_ext not in IMAGE_EXTENSIONS:
        raise ValueError(
            f"image_ext={image_ext!r} is not supported; use one of {IMAGE_EXTENSIONS}."
        )
    annotation = annotation_from_label_map(label_map, classes_by_id, crowd_ids)
    highest = int(label_map.max()) if label_map.size else 0
    if label_ext is None:
        label_ext = ".tif" if label_bits == 32 else default_label_extension(highest)
    split_dir = Path(split_dir)
    seg_path = write_label_map(
        split_dir / "labels" / f"{stem}{label_ext.lower()}", label_map, label_bits
    )
    img_path = split_dir / "images" / f"{stem}{image_ext}"
    img_path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(img_path)
    ann_path = split_dir / "annotations" / f"{stem}{ANNOTATION_EXTENSION}"
    write_annotation(ann_path, annotation)
    return dict(img=img_path, seg=seg_path, ann=ann_path)


@dataclass
class SeedSamplePaths:
    """The three files of one sample.

    Attributes:
        stem (str): Shared base name.
        img_path (str): Image file.
        label_map_path (str): Label-map file.
        ann_path (str): Annotation JSON.
    """

    stem: str
    img_path: str
    label_map_path: str
    ann_path: str


def _files_by_stem(
    folder: Path, extensions: Tuple[str, ...], problems: List[SeedFormatError]
) -> Dict[str, Path]:
    found: Dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        if path.suffix.lower() not in extensions:
            continue
        if path.stem in found:
            problems.append(
                SeedFormatError(
                    path,
                    f"Two files share the base name '{path.stem}' ({found[path.stem].name} and "
                    f"{path.name}), so the sample is ambiguous.",
                    "Keep one of them.",
                )
            )
            continue
        found[path.stem] = path
    return found


def scan_seed_split(
    img_dir: PathLike, label_dir: PathLike, ann_dir: PathLike
) -> Tuple[List[SeedSamplePaths], List[SeedFormatError]]:
    """Pair the files of a split by base name.

    Args:
        img_dir (str | Path): Folder of images.
        label_dir (str | Path): Folder of label maps.
        ann_dir (str | Path): Folder of annotation JSONs.

    Returns:
        tuple: The complete samples sorted by stem, and one
        :class:`SeedFormatError` per problem found (missing or empty folder,
        a file without its partners, two files with the same base name).
        Label maps with lossy extensions are paired too, so that reading them
        reports the format.
    """
    problems: List[SeedFormatError] = []
    folders = dict(images=Path(img_dir), labels=Path(label_dir), annotations=Path(ann_dir))
    for role, folder in folders.items():
        if not folder.is_dir():
            problems.append(
                SeedFormatError(
                    folder,
                    f"The {role} folder does not exist.",
                    "A split folder (data_root) must hold images/, labels/ and annotations/; "
                    "check data_root and data_prefix.",
                )
            )
    if problems:
        return [], problems
    images = _files_by_stem(folders["images"], IMAGE_EXTENSIONS, problems)
    labels = _files_by_stem(folders["labels"], LABEL_EXTENSIONS + LOSSY_EXTENSIONS, problems)
    annotations = _files_by_stem(folders["annotations"], (ANNOTATION_EXTENSION,), problems)
    if not images:
        problems.append(
            SeedFormatError(
                folders["images"],
                f"The images folder holds no image ({', '.join(IMAGE_EXTENSIONS)}).",
                "Put the split's RGB images there, or point data_root at another split.",
            )
        )
    for stem, path in images.items():
        missing = [
            f"labels/{stem}.<png|bmp|tif>" if stem not in labels else "",
            f"annotations/{stem}.json" if stem not in annotations else "",
        ]
        missing = [item for item in missing if item]
        if missing:
            problems.append(
                SeedFormatError(
                    path,
                    f"The image has no {' and no '.join(missing)}.",
                    "Add the missing file(s) with the same base name, or remove the image.",
                )
            )
    for partners, role in ((labels, "label map"), (annotations, "annotation")):
        for stem, path in partners.items():
            if stem not in images:
                problems.append(
                    SeedFormatError(
                        path,
                        f"The {role} has no image images/{stem}.<ext>.",
                        "Add the image with the same base name, or remove the file.",
                    )
                )
    samples = [
        SeedSamplePaths(stem, str(path), str(labels[stem]), str(annotations[stem]))
        for stem, path in images.items()
        if stem in labels and stem in annotations
    ]
    return samples, problems


@dataclass
class SeedSample:
    """One sample of a split, validated and indexed.

    Attributes:
        paths (SeedSamplePaths): Its files.
        height (int): Image and label-map height H.
        width (int): Image and label-map width W.
        ids (np.ndarray): ``(N,)`` int64 label IDs in ascending order.
        class_names (list[str]): N class names.
        crowd (np.ndarray): ``(N,)`` bool, True for ``"iscrowd": 1`` entries.
        index_map (np.ndarray): ``(H, W)`` int32, -1 on background, ``i`` on
            the pixels of ``ids[i]``.
        boxes (np.ndarray): ``(N, 4)`` float32 boxes derived from the masks
            (xyxy, maximum exclusive).
        label_bits (int): Bits per ID of the stored label map (8, 16 or 32).
        box_mismatch (list[int]): IDs whose JSON box differs from the mask's
            box by more than the tolerance.
    """

    paths: SeedSamplePaths
    height: int
    width: int
    label_bits: int
    ids: np.ndarray
    class_names: List[str]
    crowd: np.ndarray
    index_map: np.ndarray
    boxes: np.ndarray
    box_mismatch: List[int] = field(default_factory=list)


def short_listing(values: Any, limit: int = 10) -> str:
    """``'a, b, c and 7 more'``: the first ``limit`` values, for error messages."""
    values = list(values)
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def inspect_seed_sample(
    paths: SeedSamplePaths,
    classes: Optional[Sequence[str]] = None,
    *,
    verify_image: bool = False,
    box_tolerance: float = 2.0,
    backend_args: Optional[dict] = None,
) -> Tuple[Optional[SeedSample], List[SeedFormatError]]:
    """Read and cross-check the three files of a sample, collecting every problem.

    Args:
        paths (SeedSamplePaths): The sample's files.
        classes (Sequence[str], optional): Known class names; None accepts any.
        verify_image (bool): Decode the whole image (finds truncated files)
            instead of reading its header only. Defaults to False.
        box_tolerance (float): Largest difference in pixels between a JSON box
            and the mask's box that is not reported. Defaults to 2.
        backend_args (dict, optional): mmengine file backend arguments.

    Returns:
        tuple: The sample (None if any problem was found) and the list of
        problems, one :class:`SeedFormatError` each.
    """
    problems: List[SeedFormatError] = []

    def attempt(read: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return read(*args, **kwargs)
        except SeedFormatError as error:
            problems.append(error)
            return None

    size = attempt(read_image_size, paths.img_path, verify_image, backend_args)
    label_map = attempt(read_label_map, paths.label_map_path, backend_args)
    entries = attempt(read_annotation, paths.ann_path, backend_args)
    if label_map is not None and size is not None and label_map.shape != size:
        problems.append(
            SeedFormatError(
                paths.label_map_path,
                f"The label map is {label_map.shape[0]}x{label_map.shape[1]} (HxW) but its image "
                f"{Path(paths.img_path).name} is {size[0]}x{size[1]}.",
                "Label maps must have their image's size; re-export the label map at full "
                "resolution or fix the pairing of files.",
            )
        )
    if entries is not None and classes is not None:
        unknown = sorted({e["class"] for e in entries.values()} - set(classes))
        if unknown:
            problems.append(
                SeedFormatError(
                    paths.ann_path,
                    f"Class name(s) {short_listing(repr(n) for n in unknown)} are not among the "
                    f"dataset's classes {tuple(classes)}.",
                    "Fix the names in the file, or add the classes to metainfo['classes'] / "
                    "cls_ind.",
                )
            )
    if label_map is None or entries is None:
        return None, problems
    ids, index_map = index_label_map(label_map)
    id_list = ids.tolist()
    only_in_map = sorted(set(id_list) - set(entries))
    only_in_json = sorted(set(entries) - set(id_list))
    if only_in_map:
        problems.append(
            SeedFormatError(
                paths.ann_path,
                f"Label ID(s) {short_listing(only_in_map)} of "
                f"{Path(paths.label_map_path).name} have no entry in the annotation.",
                'Add an entry "<id>": {"class": ..., "bbox": ...} for each, or set those '
                "pixels to 0 in the label map.",
            )
        )
    if only_in_json:
        problems.append(
            SeedFormatError(
                paths.ann_path,
                f"Label ID(s) {short_listing(only_in_json)} of the annotation do not occur in "
                f"{Path(paths.label_map_path).name}.",
                "Remove those entries, or check that the label map is the right file and was "
                "saved losslessly.",
            )
        )
    if problems:
        return None, problems
    boxes = instance_boxes(index_map, len(id_list))
    json_boxes = np.array(
        [entries[i]["bbox"] if entries[i]["bbox"] is not None else [np.nan] * 4 for i in id_list],
        np.float64,
    ).reshape(-1, 4)
    with np.errstate(invalid="ignore"):
        far = np.abs(json_boxes - boxes).max(axis=1, initial=0.0) > box_tolerance
    sample = SeedSample(
        paths=paths,
        height=int(label_map.shape[0]),
        width=int(label_map.shape[1]),
        label_bits=8 * label_map.dtype.itemsize,
        ids=ids,
        class_names=[entries[i]["class"] for i in id_list],
        crowd=np.array([entries[i]["iscrowd"] for i in id_list], bool),
        index_map=index_map,
        boxes=boxes,
        box_mismatch=[i for i, bad in zip(id_list, far.tolist()) if bad],
    )
    return sample, []


def read_seed_sample(
    paths: SeedSamplePaths,
    classes: Optional[Sequence[str]] = None,
    *,
    verify_image: bool = False,
    box_tolerance: float = 2.0,
    backend_args: Optional[dict] = None,
) -> SeedSample:
    """Like :func:`inspect_seed_sample`, but raise the first problem found.

    Raises:
        SeedFormatError: The first problem of the sample.
    """
    sample, problems = inspect_seed_sample(
        paths,
        classes,
        verify_image=verify_image,
        box_tolerance=box_tolerance,
        backend_args=backend_args,
    )
    if problems:
        raise problems[0]
    return sample
