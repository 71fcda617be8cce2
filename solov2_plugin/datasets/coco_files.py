"""Converting whole splits between the seed's folder format and COCO JSON files.

The file side of :mod:`.coco_convert` (which holds the pure conversions):
``tools/convert_dataset.py`` is a command line over :func:`write_seed_as_coco`
and :func:`write_coco_as_seed`.
"""

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from tqdm import tqdm

from .class_index import BACKGROUND, write_cls_ind
from .coco_convert import coco_to_seed, seed_to_coco
from .errors import PathLike, SeedFormatError
from .seed_dataset import SeedInstanceDataset
from .seed_readers import IMAGE_EXTENSIONS, read_image_size
from .seed_writers import write_label_files


def write_seed_as_coco(
    data_root: PathLike,
    out_json: PathLike,
    *,
    cls_ind: Optional[Union[Mapping[str, int], PathLike]] = None,
    classes: Optional[Sequence[str]] = None,
    data_prefix: Optional[Mapping[str, str]] = None,
) -> Dict[str, Any]:
    """Write the COCO instance JSON of a seed split.

    Args:
        data_root (str | Path): The split's folder.
        out_json (str | Path): COCO JSON to write (folders are created).
        cls_ind (Mapping | str | Path, optional): Seed-style class index (or
            its JSON file); its indices become the category IDs.
        classes (Sequence[str], optional): Class names (category IDs 1..K).
        data_prefix (Mapping[str, str], optional): Sub-folders ``img``,
            ``seg``, ``ann``.

    Returns:
        dict: The COCO dataset written (see :func:`~.coco_convert.seed_to_coco`).

    Raises:
        ValueError: If the classes are missing or the split has a problem
            (:class:`SeedFormatError` naming the file).
    """
    dataset = SeedInstanceDataset(
        data_root=str(data_root),
        cls_ind=str(cls_ind) if isinstance(cls_ind, Path) else cls_ind,
        metainfo=dict(classes=tuple(classes)) if classes else None,
        data_prefix=dict(data_prefix) if data_prefix else None,
    )
    data_list = [dataset.get_data_info(i) for i in range(len(dataset))]
    coco = seed_to_coco(data_list, dataset.metainfo["classes"], dataset.category_ids)
    out = Path(out_json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(coco), encoding="utf-8")
    return coco


@dataclass
class CocoToSeedSummary:
    """What :func:`write_coco_as_seed` wrote.

    Attributes:
        images (int): Samples written.
        cls_ind (dict[str, int]): The class index written to ``classes.json``.
        overlap_pixels (int): Pixels claimed by more than one COCO annotation.
        dropped (list[tuple[str, list[int]]]): Per image file name, the COCO
            annotation IDs left without a pixel (not written).
    """

    images: int
    cls_ind: Dict[str, int]
    overlap_pixels: int = 0
    dropped: List[Tuple[str, List[int]]] = field(default_factory=list)


def _read_coco(coco_path: Path, image_dir: Path) -> Dict[str, Any]:
    try:
        coco = json.loads(coco_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SeedFormatError(
            coco_path, f"The COCO file cannot be read ({error}).", "Give a COCO instance JSON."
        ) from error
    categories = coco.get("categories", [])
    if BACKGROUND in {c["name"] for c in categories}:
        raise SeedFormatError(
            coco_path,
            f"A category is named '{BACKGROUND}', which the seed reserves for label 0.",
            "Rename that category before converting.",
        )
    if any(int(c["id"]) <= 0 for c in categories):
        raise SeedFormatError(
            coco_path,
            "A category has an ID <= 0; the seed's class index keeps 0 for background.",
            "Renumber the categories from 1.",
        )
    stems: Dict[str, Path] = {}
    for image in coco["images"]:
        name = Path(image["file_name"])
        if name.stem in stems:
            raise SeedFormatError(
                coco_path,
                f"Images {stems[name.stem]} and {name} share the base name '{name.stem}'.",
                "Rename one of them; files of a seed sample are paired by base name.",
            )
        if name.suffix.lower() not in IMAGE_EXTENSIONS:
            raise SeedFormatError(
                image_dir / name,
                f"The image format {name.suffix} is not supported.",
                f"Convert it to one of {IMAGE_EXTENSIONS}.",
            )
        stems[name.stem] = name
    return coco


def write_coco_as_seed(
    coco_json: PathLike,
    image_dir: PathLike,
    out_root: PathLike,
    *,
    label_ext: Optional[str] = None,
    progress: bool = False,
) -> CocoToSeedSummary:
    """Write a seed split (and its ``classes.json``) from a COCO JSON and its images.

    Images are copied unchanged; each gets a label map (the first format of
    :data:`~.label_formats.LABEL_FORMATS` holding its IDs, unless
    ``label_ext``) and an annotation; overlaps are resolved as
    :func:`~.coco_convert.coco_to_seed` says.

    Args:
        coco_json (str | Path): COCO instance JSON (polygons or RLE).
        image_dir (str | Path): Folder the JSON's ``file_name`` entries are
            relative to.
        out_root (str | Path): Split folder to create.
        label_ext (str, optional): Label-map extension for every sample.
        progress (bool): Show a progress bar on stderr. Defaults to False.

    Returns:
        CocoToSeedSummary: Counts, the class index, dropped annotations.

    Raises:
        SeedFormatError: If the JSON, an image or a size is wrong (naming it).
        ValueError: If a label format cannot hold the IDs.
    """
    coco_path, image_dir, out_root = Path(coco_json), Path(image_dir), Path(out_root)
    coco = _read_coco(coco_path, image_dir)
    cls_ind = {BACKGROUND: 0}
    for category in sorted(coco.get("categories", []), key=lambda c: int(c["id"])):
        cls_ind[category["name"]] = int(category["id"])
    summary = CocoToSeedSummary(images=len(coco["images"]), cls_ind=cls_ind)
    converted = coco_to_seed(coco)
    for item in tqdm(converted, total=summary.images, desc="converting", disable=not progress):
        source = image_dir / item.image["file_name"]
        size = read_image_size(source)
        if size != item.label_map.shape:
            raise SeedFormatError(
                source,
                f"The image is {size[0]}x{size[1]} but the COCO entry says "
                f"{item.label_map.shape[0]}x{item.label_map.shape[1]}.",
                "Fix the entry's height and width, or give the right image folder.",
            )
        (out_root / "images").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, out_root / "images" / source.name)
        write_label_files(
            out_root,
            source.stem,
            item.label_map,
            item.classes_by_id,
            label_ext=label_ext,
            crowd_ids=item.crowd_ids,
        )
        summary.overlap_pixels += item.overlap_pixels
        if item.lost:
            summary.dropped.append((source.name, list(item.lost)))
    out_root.mkdir(parents=True, exist_ok=True)
    write_cls_ind(out_root / "classes.json", cls_ind)
    return summary
