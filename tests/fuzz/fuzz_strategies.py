"""Hypothesis strategies drawing seed samples (label maps, annotations, images) and arrays.

The sample strategies (``label_map_cases``, ``annotation_cases``, ``image_cases``)
return a :class:`~fuzz_oracle.SampleCase` whose expected outcome is computed here
from what was drawn, never by the package under test; ``image_files`` and
``arrays`` feed the predictor.

Dimension key: H, W: height and width; C: channels; N: instances.
"""

import json
from typing import Callable, Dict, Optional, Tuple

import mmcv
import numpy as np
from fuzz_files import cv2_bytes, pil_bytes, png_bytes, png_header_only
from fuzz_oracle import CLASSES, ExpectedSample, SampleCase, mask_boxes, present_ids, scale_16_to_8
from hypothesis import strategies as st
from PIL import Image

# ---------------------------------------------------------------------------
# Label maps
# ---------------------------------------------------------------------------

sides = st.one_of(st.integers(1, 24), st.integers(25, 64), st.integers(65, 300))


@st.composite
def instance_maps(draw: st.DrawFn, max_id: int, max_side: Optional[int] = None) -> np.ndarray:
    """An ``(H, W)`` int64 label map: rectangles of distinct IDs (with gaps, up to ``max_id``),
    some IDs in several pieces, holes of background cut into them, some IDs painted over.
    """
    side = sides if max_side is None else st.integers(1, max_side)
    height, width = draw(side), draw(side)
    count = draw(st.integers(0, min(5, max_id)))
    ids = draw(st.lists(st.integers(1, max_id), min_size=count, max_size=count, unique=True))
    label_map = np.zeros((height, width), np.int64)

    def rectangle() -> Tuple[slice, slice]:
        y0, x0 = draw(st.integers(0, height - 1)), draw(st.integers(0, width - 1))
        y1, x1 = draw(st.integers(y0 + 1, height)), draw(st.integers(x0 + 1, width))
        return slice(y0, y1), slice(x0, x1)

    for label_id in ids:
        for _ in range(draw(st.integers(1, 3))):  # pieces
            label_map[rectangle()] = label_id
    for _ in range(draw(st.integers(0, 2))):  # holes
        label_map[rectangle()] = 0
    return label_map


def annotation_json(
    label_map: np.ndarray, classes: Dict[int, str], crowd: Optional[Dict[int, bool]] = None
) -> dict:
    """The correct annotation of a label map: class and mask box per ID (and iscrowd)."""
    ids = present_ids(label_map)
    content = {}
    for label_id, box in zip(ids.tolist(), mask_boxes(label_map, ids).tolist()):
        content[str(label_id)] = {"class": classes[label_id], "bbox": box}
        if crowd and label_id in crowd:
            content[str(label_id)]["iscrowd"] = int(crowd[label_id])
    return content


def _grey_palette_image(label_map: np.ndarray) -> Image.Image:
    height, width = label_map.shape
    image = Image.frombytes("P", (width, height), label_map.astype(np.uint8).tobytes())
    image.putpalette([v for i in range(256) for v in (i, 255 - i, (7 * i) % 256)])
    return image


def _pil(dtype: type, extension: str) -> Callable[[np.ndarray], bytes]:
    """Encoder of an int64 map cast to ``dtype`` (mapped to PIL's mode for it) by PIL."""
    return lambda label_map: pil_bytes(Image.fromarray(label_map.astype(dtype)), extension)


def _negative(label_map: np.ndarray) -> bytes:
    """A 32-bit TIFF of ``-id - 1``: background -1 and every ID negative."""
    return pil_bytes(Image.fromarray(-label_map.astype(np.int32) - 1), ".tif")


def _grey_alpha(label_map: np.ndarray) -> bytes:
    return png_bytes(np.stack([label_map, label_map > 0], 2).astype(np.uint16))


def _rgb(label_map: np.ndarray) -> bytes:
    return png_bytes(np.repeat(label_map.astype(np.uint8)[..., None], 3, 2))


# name: (extension, largest ID, encoder of an int64 map, valid)
LabelStore = Tuple[str, int, Callable[[np.ndarray], bytes], bool]
LABEL_STORES: Dict[str, LabelStore] = {
    "8-bit .png": (".png", 255, _pil(np.uint8, ".png"), True),
    "8-bit .bmp": (".bmp", 255, _pil(np.uint8, ".bmp"), True),
    "8-bit .tif": (".tif", 255, _pil(np.uint8, ".tif"), True),
    "16-bit .png": (".png", 65535, _pil(np.uint16, ".png"), True),
    "16-bit .tiff": (".tiff", 65535, _pil(np.uint16, ".tiff"), True),
    "32-bit .tif": (".tif", 2**31 - 1, _pil(np.int32, ".tif"), True),
    "palette .png": (".png", 255, lambda m: pil_bytes(_grey_palette_image(m), ".png"), True),
    "1-bit .png": (".png", 1, _pil(bool, ".png"), True),
    # Refused: float values, several channels, a lossy format, negative IDs.
    "float .tif": (".tif", 2**20, _pil(np.float32, ".tif"), False),
    "RGB .png": (".png", 255, _rgb, False),
    "grey+alpha .png": (".png", 65535, _grey_alpha, False),
    "8-bit .jpg": (".jpg", 255, _pil(np.uint8, ".jpg"), False),
    "negative 32-bit .tif": (".tif", 2**31 - 1, _negative, False),
}


def rgb_image_case(height: int, width: int, seed: int) -> Tuple[bytes, np.ndarray]:
    """An 8-bit RGB PNG of random pixels and the BGR array it decodes to."""
    rgb = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return png_bytes(rgb), rgb[..., ::-1].copy()


@st.composite
def label_map_cases(draw: st.DrawFn, store: Optional[str] = None) -> SampleCase:
    """A label map in ``store`` (any of :data:`LABEL_STORES` when None), with a correct
    annotation or one of three faults.

    Faults: an ID of the map missing from the annotation, an entry for an ID
    the map lacks (the annotation is named), an image of another size (the
    label map is named). A refused store names the label map.
    """
    store = store or draw(st.sampled_from(sorted(LABEL_STORES)))
    extension, max_id, encode, valid = LABEL_STORES[store]
    label_map = draw(instance_maps(max_id))
    ids = present_ids(label_map).tolist()
    classes = {i: draw(st.sampled_from(CLASSES)) for i in ids}
    crowd = {i: draw(st.booleans()) for i in ids}
    content = annotation_json(label_map, classes, crowd)
    fault = draw(st.sampled_from(["none", "none", "none", "missing entry", "extra entry", "size"]))
    culprits: Tuple[str, ...] = () if valid else ("label map",)
    height, width = label_map.shape
    if fault == "missing entry" and ids:
        del content[str(draw(st.sampled_from(ids)))]
        culprits += ("annotation",)
    elif fault == "extra entry":
        absent = draw(st.integers(1, 2**31 - 1).filter(lambda i: i not in ids))
        content[str(absent)] = {"class": CLASSES[0]}
        culprits += ("annotation",)
    elif fault == "size":
        height += draw(st.sampled_from([-1, 1])) if height > 1 else 1
        culprits += ("label map",)
    image, image_bgr = rgb_image_case(height, width, seed=len(ids))
    expected = None
    if not culprits:
        expected = ExpectedSample(label_map, classes, crowd, image_bgr)
    kind = f"label map: {store}" + (f", {fault}" if culprits and valid else "")
    annotation = json.dumps(content).encode()
    return SampleCase(
        kind, ".png", image, extension, encode(label_map), annotation, expected, culprits
    )


# ---------------------------------------------------------------------------
# Annotations
# ---------------------------------------------------------------------------

# Values that are not a class name, not 4 finite numbers, not 0/1, not an object.
BAD_CLASSES = [None, "", 1, 2.5, True, ["disc"], {"name": "disc"}, "unknown class"]
BAD_BOXES = [
    "0 0 1 1", [0, 0, 1], [0, 0, 1, 1, 1], [0, 0, float("nan"), 1], [0, 0, float("inf"), 1],
    [0, True, 1, 1], [[0, 0], [1, 1]], {"x0": 0}, [0, 0, 10**400, 1], [0, 0, "1", 1], 7, [],
]  # fmt: skip
BAD_CROWDS = [2, -1, "yes", None, [1], 0.5, float("nan")]
BAD_ENTRIES = ["disc", 3, [], None, True]
BAD_KEYS = ["0", "-1", "abc", "1.5", "01", "", "1e3", "+1", "١"]
BAD_DOCUMENTS = [[], [{"class": "disc"}], 3, "text", None, True]


def _with_entry(content: dict, key: str, change: Callable[[dict], None]) -> dict:
    entry = dict(content[key])
    change(entry)
    return {**content, key: entry}


ACCEPTED_MUTATIONS = [
    "no bbox", "bbox null", "bbox off", "extra entry keys", "iscrowd", "indented", "utf-8 bom",
    "ascii escapes",
]  # fmt: skip
REFUSED_MUTATIONS = [
    "no class", "bad class", "bad bbox", "bad iscrowd", "entry not an object", "bad key",
    "document not an object", "duplicate id", "missing entry", "extra entry", "not json",
    "truncated json", "not utf-8", "utf-16", "deep nesting", "empty file",
]  # fmt: skip
MUTATIONS = ACCEPTED_MUTATIONS + REFUSED_MUTATIONS


@st.composite
def annotation_cases(draw: st.DrawFn, mutation: Optional[str] = None) -> SampleCase:
    """A valid sample whose annotation JSON is mutated (by ``mutation``, any when None).

    Accepted mutations (the sample loads; off boxes warn): boxes left out,
    null or off (negative, inverted, outside the image), extra keys in an
    entry, ``iscrowd`` flags, indentation, a UTF-8 byte-order mark, escaped or
    raw UTF-8. Refused mutations (the annotation is named): bad class, box,
    iscrowd, entry, key or document, duplicate IDs, a missing or extra entry,
    text that is not JSON or not UTF-8, nesting too deep for a parser.
    """
    label_map = draw(instance_maps(70000, max_side=40).filter(lambda m: present_ids(m).size > 0))
    ids = present_ids(label_map).tolist()
    classes = {i: draw(st.sampled_from(CLASSES)) for i in ids}
    content = annotation_json(label_map, classes)
    crowd: Dict[int, bool] = {}
    key = str(draw(st.sampled_from(ids)))
    box_warning = False
    height, width = label_map.shape
    mutation = mutation or draw(st.sampled_from(MUTATIONS))
    refused = mutation in REFUSED_MUTATIONS
    text: Optional[bytes] = None
    if mutation == "no bbox":
        content = _with_entry(content, key, lambda e: e.pop("bbox"))
    elif mutation == "bbox null":
        content = _with_entry(content, key, lambda e: e.update(bbox=None))
    elif mutation == "bbox off":
        coordinate = st.one_of(st.integers(-(10**6), 10**6), st.floats(-1e9, 1e9, allow_nan=False))
        box = draw(st.lists(coordinate, min_size=4, max_size=4))
        mask_box = np.array(content[key]["bbox"], np.float64)
        box_warning = bool(np.abs(np.array(box, np.float64) - mask_box).max() > 2.0)
        content = _with_entry(content, key, lambda e: e.update(bbox=box))
    elif mutation == "extra entry keys":
        names = st.text("abcxyz_-é ", max_size=8).filter(
            lambda k: k not in ("class", "bbox", "iscrowd")
        )
        values = st.integers() | st.text("abcé", max_size=5) | st.none()
        extra = draw(st.dictionaries(names, values, max_size=3))
        content = _with_entry(content, key, lambda e: e.update(extra))
    elif mutation == "iscrowd":
        flag = draw(st.sampled_from([0, 1, True, False, 1.0, 0.0]))
        crowd[int(key)] = bool(flag)
        content = _with_entry(content, key, lambda e: e.update(iscrowd=flag))
    elif mutation == "indented":
        text = json.dumps(content, indent=draw(st.integers(0, 4)), ensure_ascii=False).encode()
    elif mutation == "utf-8 bom":
        text = b"\xef\xbb\xbf" + json.dumps(content, ensure_ascii=False).encode()
    elif mutation == "ascii escapes":
        text = json.dumps(content, ensure_ascii=True).encode()
    elif mutation == "no class":
        content = _with_entry(content, key, lambda e: e.pop("class"))
    elif mutation == "bad class":
        bad = draw(st.sampled_from(BAD_CLASSES))
        content = _with_entry(content, key, lambda e: e.update({"class": bad}))
    elif mutation == "bad bbox":
        bad = draw(st.sampled_from(BAD_BOXES))
        content = _with_entry(content, key, lambda e: e.update(bbox=bad))
    elif mutation == "bad iscrowd":
        bad = draw(st.sampled_from(BAD_CROWDS))
        content = _with_entry(content, key, lambda e: e.update(iscrowd=bad))
    elif mutation == "entry not an object":
        content = {**content, key: draw(st.sampled_from(BAD_ENTRIES))}
    elif mutation == "bad key":
        content = {**content, draw(st.sampled_from(BAD_KEYS)): {"class": CLASSES[0]}}
    elif mutation == "document not an object":
        text = json.dumps(draw(st.sampled_from(BAD_DOCUMENTS))).encode()
    elif mutation == "duplicate id":
        other = draw(st.sampled_from([key, f" {key}", f"{key} "]))
        body = json.dumps(content)[1:-1]
        text = ("{" + body + f', "{other}": {{"class": "{CLASSES[1]}"}}' + "}").encode()
    elif mutation == "missing entry":
        content = {k: v for k, v in content.items() if k != key}
    elif mutation == "extra entry":
        absent = draw(st.integers(1, 10**12).filter(lambda i: i not in ids))
        content = {**content, str(absent): {"class": CLASSES[0]}}
    elif mutation == "not json":
        text = draw(st.binary(min_size=1, max_size=64))
    elif mutation == "truncated json":
        whole = json.dumps(content).encode()
        text = whole[: draw(st.integers(0, len(whole) - 1))]
    elif mutation == "not utf-8":
        text = json.dumps(content, ensure_ascii=False).encode("latin-1", "replace")
        text = text.replace(b"{", b"{\xff", 1) if text.isascii() else text
    elif mutation == "utf-16":
        encoding = draw(st.sampled_from(["utf-16", "utf-16-le", "utf-32"]))
        text = json.dumps(content, ensure_ascii=False).encode(encoding)
    elif mutation == "deep nesting":
        depth = draw(st.integers(10**4, 10**5))
        text = b"[" * depth + b"]" * depth
    elif mutation == "empty file":
        text = draw(st.sampled_from([b"", b" ", b"\n"]))
    annotation = text if text is not None else json.dumps(content).encode()
    image, image_bgr = rgb_image_case(height, width, seed=len(ids))
    crowd_of = {i: crowd.get(i, False) for i in ids}
    expected = None
    if not refused:
        expected = ExpectedSample(label_map, classes, crowd_of, image_bgr, None, box_warning)
    culprits = ("annotation",) if refused else ()
    label = pil_bytes(Image.fromarray(label_map.astype(np.int32)), ".tif")
    kind = f"annotation: {mutation}"
    return SampleCase(kind, ".png", image, ".tif", label, annotation, expected, culprits)


# ---------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------


def expected_bgr(pixels: np.ndarray, order: str) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """What ``LoadSeedImage`` gives for lossless ``pixels``: BGR, 8 bits, alpha dropped.

    Args:
        pixels (np.ndarray): ``(H, W, C)`` uint8/uint16, C in 1..4.
        order (str): 'rgb' (grey, grey+alpha, RGB, RGBA) or 'bgr' (OpenCV's order).

    Returns:
        tuple: ``(H, W, 3)`` uint8 image and, for 16-bit input, the pixels
        allowed to differ by 1 (else None).
    """
    channels = pixels.shape[2]
    if channels <= 2:
        colour = np.repeat(pixels[..., :1], 3, axis=2)
    else:
        colour = pixels[..., :3] if order == "bgr" else pixels[..., 2::-1]
    if pixels.dtype == np.uint8:
        return np.ascontiguousarray(colour), None
    return scale_16_to_8(colour)


# name: (extension, channels, dtype, encoder of (H, W, C) pixels, channel order)
ImageStore = Tuple[str, Tuple[int, ...], Tuple[type, ...], Callable[[np.ndarray], bytes], str]
IMAGE_STORES: Dict[str, ImageStore] = {
    "png": (".png", (1, 2, 3, 4), (np.uint8, np.uint16), png_bytes, "rgb"),
    "tiff": (".tif", (1, 3, 4), (np.uint8, np.uint16), lambda p: cv2_bytes(p, ".tif"), "bgr"),
    "bmp": (".bmp", (1, 3), (np.uint8,), lambda p: cv2_bytes(p, ".bmp"), "bgr"),
    "jpeg": (".jpg", (1, 3), (np.uint8,), lambda p: cv2_bytes(p, ".jpg", 90), "bgr"),
}
# Intact files: every store, channel count and depth, e.g. 'png 2ch 16-bit'.
INTACT_KINDS: Dict[str, Tuple[str, int, type]] = {
    f"{store} {channels}ch {8 * np.dtype(dtype).itemsize}-bit": (store, channels, dtype)
    for store, (_, channel_choices, dtypes, _, _) in IMAGE_STORES.items()
    for channels in channel_choices
    for dtype in dtypes
}
CORRUPTIONS = ["truncated", "bytes replaced", "garbage", "zero bytes", "bad size", "float"]
# What the image tests are parametrised by: an intact kind or a corruption of any store.
IMAGE_KINDS = [*INTACT_KINDS, *CORRUPTIONS]
# (H, W) claimed by PNG headers; 23000 x 23000 is below OpenCV's limit, above PIL's.
BAD_SIZES = {
    "0xN": (0, 5),
    "Nx0": (5, 0),
    "huge 100000x100000": (100000, 100000),
    "huge 23000x23000": (23000, 23000),
    "huge 1x2**31-1": (1, 2**31 - 1),
}


@st.composite
def image_files(
    draw: st.DrawFn, image_kind: Optional[str] = None
) -> Tuple[str, str, bytes, Tuple[int, int], Optional[tuple], bool]:
    """An image file of ``image_kind`` (one of :data:`IMAGE_KINDS`: an intact file of that
    store, channel count and depth, or a corruption of any; any when None).

    Returns:
        tuple: ``(kind, extension, data, (H, W), expected, refused)``:
        ``expected`` is ``(bgr, slack)`` for a file that must decode exactly
        as drawn, None when it must not or may not; ``refused`` says it must
        be refused (else it may load when corrupt, must load when intact).
    """
    image_kind = image_kind or draw(st.sampled_from(IMAGE_KINDS))
    corruption = "none" if image_kind in INTACT_KINDS else image_kind
    if corruption == "bad size":
        name = draw(st.sampled_from(sorted(BAD_SIZES)))
        height, width = BAD_SIZES[name]
        data = png_header_only(width, height)
        return f"image: png {name}", ".png", data, (height, width), None, True
    height, width = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    if corruption == "float":
        pixels = rng.random((height, width, 3), dtype=np.float32)
        data = cv2_bytes(pixels, ".tif")
        return "image: float32 tiff", ".tif", data, (height, width), None, True
    if corruption == "none":
        store, channels, dtype = INTACT_KINDS[image_kind]
    else:
        store, channels, dtype = draw(st.sampled_from(list(INTACT_KINDS.values())))
    extension, _, _, encode, order = IMAGE_STORES[store]
    top = draw(st.sampled_from([1, 255, 4095, 65535])) if dtype == np.uint16 else 255
    pixels = rng.integers(0, top + 1, (height, width, channels)).astype(dtype)
    data = encode(pixels)
    kind = f"image: {store} {channels}ch {8 * np.dtype(dtype).itemsize}-bit"
    if store == "jpeg":
        expected = (mmcv.imfrombytes(data, flag="color", backend="cv2"), None)
    else:
        expected = expected_bgr(pixels, order)
    if corruption == "none":
        return kind, extension, data, (height, width), expected, False
    if corruption == "truncated":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif corruption == "bytes replaced":
        data = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        data = bytes(data)
        expected = None  # a replaced pixel byte decodes to other pixels
    elif corruption == "garbage":
        data, expected = draw(st.binary(min_size=1, max_size=256)), None
        kind = "image: garbage"
    else:
        return "image: zero bytes", extension, b"", (height, width), None, True
    if corruption in ("truncated", "bytes replaced"):
        kind = f"image: {corruption} {store}"
    return kind, extension, data, (height, width), expected, False


@st.composite
def image_cases(draw: st.DrawFn, image_kind: Optional[str] = None) -> SampleCase:
    """A sample around a drawn image file (see :func:`image_files`): an 8-bit label map of
    its size and the correct annotation; the dataset verifies images or not."""
    drawn = draw(image_files(image_kind))
    kind, extension, data, (height, width), expected_image, refused = drawn
    verify_images = draw(st.booleans())
    # Bad sizes get a small label map: the image is at fault.
    label_map = np.zeros((min(max(height, 1), 64), min(max(width, 1), 64)), np.int64)
    label_map[: max(1, height // 2), : max(1, width // 2)] = draw(st.integers(1, 255))
    ids = present_ids(label_map).tolist()
    classes = {i: CLASSES[i % len(CLASSES)] for i in ids}
    annotation = json.dumps(annotation_json(label_map, classes)).encode()
    label = pil_bytes(Image.fromarray(label_map.astype(np.uint8)), ".png")
    truncated = kind.startswith("image: truncated")
    if truncated and not verify_images:
        expected_image = None  # decoders may fill the missing part: only the shape is checked
    if refused:
        expected, culprits = None, ("image",)
    else:
        bgr, slack = expected_image if expected_image is not None else (None, None)
        expected = ExpectedSample(label_map, classes, {}, bgr, slack)
        # A corrupt header may decode to another size: the label map is then named.
        intact = expected_image is not None and not truncated
        culprits = () if intact else ("image", "label map")
    return SampleCase(
        kind, extension, data, ".png", label, annotation, expected, culprits, verify_images
    )


# ---------------------------------------------------------------------------
# In-memory arrays for the predictor
# ---------------------------------------------------------------------------


ARRAY_FAULTS = ["dtype", "channels", "empty"]


@st.composite
def arrays(draw: st.DrawFn, fault: Optional[str] = None) -> Tuple[str, np.ndarray]:
    """An in-memory image, valid or with one fault.

    Valid: uint8 ``(H, W)`` or ``(H, W, C)`` with C in 1, 3, 4, H and W in 1..40.
    Faults: ``'dtype'`` (uint16, float32, bool, int64), ``'channels'`` (2 or 5
    channels, or 4 dimensions), ``'empty'`` (H or W 0).

    Returns:
        tuple: ``(kind, array)``.
    """
    dtype: type = np.uint8
    height, width = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    shape: Tuple[int, ...] = (height, width)
    channels = draw(st.sampled_from([None, 1, 3, 4]))
    if fault == "dtype":
        dtype = draw(st.sampled_from([np.uint16, np.float32, np.bool_, np.int64]))
    elif fault == "channels":
        channels = draw(st.sampled_from([2, 5, (3, 1)]))
    elif fault == "empty":
        shape = draw(st.sampled_from([(0, width), (height, 0), (0, 0)]))
    if channels is not None:
        shape = (*shape, *np.atleast_1d(channels).tolist())
    seed = draw(st.integers(0, 2**16))
    array = (np.random.default_rng(seed).random(shape) * 255).astype(dtype)
    layout = "x".join(["H", "W", *map(str, shape[2:])])
    kind = f"array: {fault or 'valid'}, {np.dtype(dtype).name} {layout}"
    return kind, array
