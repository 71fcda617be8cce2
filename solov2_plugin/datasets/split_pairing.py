"""Pairing the files of a seed-format split by base name."""

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Tuple

from .errors import PathLike, SeedFormatError
from .label_formats import LABEL_EXTENSIONS, LOSSY_EXTENSIONS
from .seed_readers import ANNOTATION_EXTENSION, IMAGE_EXTENSIONS

# Sub-folders of a split, by the keys of ``data_prefix``.
DEFAULT_DATA_PREFIX = dict(img="images", seg="labels", ann="annotations")


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
    label_pattern = "|".join(dict.fromkeys(ext[1:] for ext in LABEL_EXTENSIONS))
    for stem, path in images.items():
        missing = [
            f"labels/{stem}.<{label_pattern}>" if stem not in labels else "",
            f"annotations/{stem}{ANNOTATION_EXTENSION}" if stem not in annotations else "",
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
