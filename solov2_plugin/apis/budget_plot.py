"""The picture of a budget comparison: mask AP against training minutes, one line per run."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional, Sequence, Union

from .budget_training import CurvePoint

#: x-axis of each panel: the CurvePoint field and its label.
_AXES = {
    "train_minutes": "training minutes, wall clock (evaluation excluded)",
    "cpu_minutes": "CPU minutes of the training process",
}


def plot_curves(
    curves: Mapping[str, Sequence[CurvePoint]],
    out: Union[str, Path],
    title: str = "mask AP against training time",
    budget_minutes: Optional[float] = None,
    ylabel: str = "mask AP (COCO segm mAP, val)",
    with_cpu: bool = False,
) -> Path:
    """Draw each run's AP against its training minutes and save a PNG.

    A missing AP (-1: the model detected nothing, so the evaluator returned no metric) is
    drawn as 0, and every line starts at (0, 0).

    Args:
        curves: Run label -> its points (from :func:`~.budget_training.read_curve`).
        out: The PNG to write.
        title: Figure title.
        budget_minutes: Draw the budget as a dashed vertical line (wall-clock panel).
        ylabel: Y-axis label.
        with_cpu: Add a second panel against the CPU minutes each run got (on a shared
            machine, the compute behind each wall-clock minute).

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
    fields = ["train_minutes", "cpu_minutes"] if with_cpu else ["train_minutes"]
    figure, axes_list = plt.subplots(
        1, len(fields), figsize=(7.0 * len(fields), 4.2), dpi=110, squeeze=False
    )
    for field, axes in zip(fields, axes_list[0]):
        for label, points in curves.items():
            if not points:
                continue
            minutes = [0.0] + [getattr(point, field) for point in points]
            aps = [0.0] + [max(point.ap, 0.0) for point in points]
            axes.plot(
                minutes, aps, marker="o", markersize=3.5, label=f"{label} (last {aps[-1]:.3f})"
            )
        if budget_minutes is not None and field == "train_minutes":
            axes.axvline(budget_minutes, color="grey", linestyle="--", linewidth=1, label="budget")
        axes.set_xlabel(_AXES[field])
        axes.set_ylabel(ylabel)
        axes.set_ylim(bottom=0.0)
        axes.set_xlim(left=0.0)
        axes.grid(alpha=0.3)
        axes.legend(loc="upper left", fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out)
    plt.close(figure)
    return out
