"""Class lists: the seed's ``cls_ind`` dictionaries and default palettes."""

import colorsys
import json
from pathlib import Path
from typing import List, Mapping, Sequence, Tuple, Union

BACKGROUND = "background"


def read_cls_ind(cls_ind: Union[Mapping[str, int], str, Path]) -> Tuple[List[str], List[int]]:
    """Turn a seed-style ``{name: index}`` dict (or a JSON file of one) into classes.

    The ``background`` entry, which the seed keeps at index 0, is dropped; the
    other classes are ordered by index, and mmdet's 0-based label of a class is
    its position in that order.

    Args:
        cls_ind (Mapping[str, int] | str | Path): The dict, or a path to a JSON
            file holding it.

    Returns:
        tuple[list[str], list[int]]: Foreground class names and their seed
        indices, both in ascending index order.

    Raises:
        ValueError: If the file cannot be read or the dict is malformed
            (non-integer or repeated indices, no foreground class).
    """
    source = "cls_ind"
    if isinstance(cls_ind, (str, Path)):
        source = str(cls_ind)
        try:
            cls_ind = json.loads(Path(cls_ind).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(
                f"{source}: cannot read the class index ({error}). Give a JSON object such as "
                '{"background": 0, "cat": 1, "dog": 2}.'
            ) from error
    if not isinstance(cls_ind, Mapping):
        raise ValueError(
            f"{source}: the class index must map class names to integer indices, such as "
            f'{{"background": 0, "cat": 1}}; got {type(cls_ind).__name__}.'
        )
    pairs = []
    for name, index in cls_ind.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"{source}: class names must be non-empty strings, got {name!r}.")
        if isinstance(index, bool) or not isinstance(index, int):
            raise ValueError(
                f"{source}: the index of class {name!r} must be an integer, got {index!r}."
            )
        if name != BACKGROUND:
            pairs.append((index, name))
    indices = [index for index, _ in pairs]
    if len(set(indices)) != len(indices):
        repeated = sorted({i for i in indices if indices.count(i) > 1})
        raise ValueError(f"{source}: indices {repeated} are given to several classes.")
    if not pairs:
        raise ValueError(f"{source}: the class index names no class besides background.")
    pairs.sort()
    return [name for _, name in pairs], [index for index, _ in pairs]


def write_cls_ind(path: Union[str, Path], cls_ind: Mapping[str, int]) -> None:
    """Write a seed-style ``{name: index}`` class index as a JSON file (``classes.json``).

    Args:
        path (str | Path): The file to write.
        cls_ind (Mapping[str, int]): ``{"background": 0, "cat": 1, ...}``.
    """
    Path(path).write_text(json.dumps(dict(cls_ind), indent=2) + "\n", encoding="utf-8")


def check_classes(classes: Sequence[str], source: str) -> Tuple[str, ...]:
    """Validate a class list.

    Args:
        classes (Sequence[str]): Class names.
        source (str): Where the list came from, for the error message.

    Returns:
        tuple[str, ...]: The classes.

    Raises:
        ValueError: If the list is empty, not a sequence of non-empty strings,
            or repeats a name.
    """
    if isinstance(classes, str) or not isinstance(classes, Sequence) or not classes:
        raise ValueError(f"{source} must be a non-empty sequence of class names, got {classes!r}.")
    if not all(isinstance(name, str) and name for name in classes):
        raise ValueError(f"{source} must hold non-empty strings, got {list(classes)}.")
    if len(set(classes)) != len(classes):
        raise ValueError(f"{source} repeats class names: {list(classes)}.")
    return tuple(classes)


def default_palette(num_classes: int) -> List[Tuple[int, int, int]]:
    """Distinct, reproducible RGB colours, one per class (golden-angle hues).

    Args:
        num_classes (int): Number of colours.

    Returns:
        list[tuple[int, int, int]]: RGB colours in 0..255.
    """
    palette = []
    for k in range(num_classes):
        hue = (k * 0.618033988749895) % 1.0
        value = 0.95 if k % 2 == 0 else 0.75
        red, green, blue = colorsys.hsv_to_rgb(hue, 0.75, value)
        palette.append((round(red * 255), round(green * 255), round(blue * 255)))
    return palette
