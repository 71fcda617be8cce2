"""Validation of the ``reduction`` arguments shared by our losses."""

from typing import Optional

REDUCTIONS = ("none", "mean", "sum")


def check_reduction(owner: str, name: str, reduction: Optional[str], optional: bool) -> None:
    """Raise a ValueError naming ``owner`` and ``name`` unless ``reduction`` is valid.

    Args:
        owner: Class name for the message, e.g. ``'SOLOv2DiceLoss'``.
        name: Argument name, ``'reduction'`` or ``'reduction_override'``.
        reduction: The value given.
        optional: Whether None is allowed (``reduction_override``).
    """
    if reduction in REDUCTIONS or (optional and reduction is None):
        return
    allowed = ("None, " if optional else "") + "'none', 'mean' or 'sum'"
    raise ValueError(f"{owner}: {name} must be {allowed}, got {reduction!r}.")
