"""The picture of a budget comparison: mask AP against training minutes, one line per run."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional, Sequence, Union

from .budget_training import CurvePoint


def plot_curves(
    curves: Mapping[str, Sequence[CurvePoint]],
    out: Union[str, Path],
    title: str = "mask AP against training time",
    budget_minutes: Optional[float] = None,
    ylabel: str = "mask AP (COCO segm mAP, val)",
) -> Path:
    """Draw each run's AP against its training minutes and save a PNG.

    Args:
        curves: Run label -> its points (from :func:`~.budget_training.read_curve`).
        out: The PNG to write.
        title: Figure title.
        budget_minutes: Draw the budget as a dashed vertical line.
        ylabel: Y-axis label.

    Returns:
        Path: ``out``.

    Raises:
        ValueError: No curve holds a point.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not any(curves.values()):
        raise ValueError("nothing to plot: every curve is empty.")
    figure, axes = plt.subplots(figsize=(7.0, 4.2), dpi=110)
    for label, points in curves.items():
        if not points:
            continue
        minutes = [0.0] + [point.train_minutes for point in points]
        aps = [0.0] + [max(point.ap, 0.0) for point in points]
        axes.plot(minutes, aps, marker="o", markersize=3.5, label=f"{label} (last {aps[-1]:.3f})")
    if budget_minutes is not None:
        axes.axvline(budget_minutes, color="grey", linestyle="--", linewidth=1, label="budget")
    axes.set_xlabel("training minutes (evaluation excluded)")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.set_ylim(bottom=0.0)
    axes.set_xlim(left=0.0)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out)
    plt.close(figure)
    return out
