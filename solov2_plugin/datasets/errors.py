"""The error of a seed-format dataset, and a helper shortening lists in its messages."""

from pathlib import Path
from typing import Any, Iterable, Tuple, Union

PathLike = Union[str, Path]


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


def short_listing(values: Iterable[Any], limit: int = 10) -> str:
    """``'a, b, c and 7 more'``: the first ``limit`` values, for error messages."""
    values = list(values)
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")
