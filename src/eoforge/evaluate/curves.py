"""Learning-curve figure: losses and validation metrics of a training run against epoch.

Reads the Lightning ``CSVLogger`` log through
:func:`eoforge.evaluate.readers.read_metrics_csv`, where training and
validation values are logged on separate rows, and averages each curve per epoch.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from eoforge.evaluate.figures import PathLike, finish_figure, new_figure
from eoforge.evaluate.readers import read_metrics_csv

MAX_METRIC_CURVES = 8
"""Metric curves drawn at most; per-class ones are dropped first (the report has a table)."""


class ColumnTable(Protocol):
    """Anything with named columns: a mapping of column name to values, or a pandas DataFrame."""

    def keys(self) -> Iterable[Any]:
        """Column names."""

    def __getitem__(self, key: Any, /) -> Any:
        """The values of one column."""


def _per_x(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
) -> tuple[list[float], list[float]]:
    """Mean of the finite ``y`` per distinct ``x`` (step-level rows of one epoch collapse)."""
    ok = np.isfinite(x) & np.isfinite(y)
    xs, ys = x[ok], y[ok]
    keys = sorted(set(xs.tolist()))
    return keys, [float(ys[xs == k].mean()) for k in keys]


def curve_columns(columns: Mapping[str, Any], x_name: str) -> tuple[list[str], list[str]]:
    """Which logged columns are drawn as losses and which as metrics.

    Learning rates, the x column and ``*_step`` columns that have an ``*_epoch``
    twin are left out; when there are more than :data:`MAX_METRIC_CURVES`
    metrics, only the headline ones (no per-class suffix, or ``f1_macro``) stay.

    Args:
        columns: Column names (values unused).
        x_name: The x column (``"epoch"`` or ``"step"``).

    Returns:
        ``(losses, metrics)``: column names, in log order.
    """
    names = [n for n in columns if n not in ("epoch", "step", x_name)]
    names = [n for n in names if not n.lower().startswith("lr") and "lr-" not in n.lower()]
    names = [n for n in names if not (n.endswith("_step") and f"{n[:-5]}_epoch" in columns)]
    losses = [n for n in names if "loss" in n.lower()]
    metrics = [n for n in names if "loss" not in n.lower()]
    # per-class curves (val/iou_water ...) drown the headline ones: keep those when present
    headline = [n for n in metrics if "_" not in n.split("/")[-1] or n.endswith("f1_macro")]
    if len(metrics) > MAX_METRIC_CURVES and headline:
        metrics = headline[:MAX_METRIC_CURVES]
    if len(losses) > 2 and any(n.endswith("_step") for n in losses):
        losses = [n for n in losses if not n.endswith("_step")] or losses
    return losses, metrics


def learning_curves(
    metrics: PathLike | ColumnTable,
    *,
    title: str | None = None,
    path: PathLike | None = None,
) -> Figure:
    """Loss curves and validation metric curves against epoch.

    Args:
        metrics: A Lightning ``CSVLogger`` ``metrics.csv`` (columns such as ``epoch``,
            ``step``, ``train/loss``, ``val/loss``, ``val/miou``; rows logged separately,
            so most cells are blank), or the same columns as a mapping or DataFrame.
        title: Figure title.
        path: Also write the PNG there.

    Returns:
        The figure: losses on the left, other metrics (validation solid, training
        dashed) on the right, each value averaged per epoch (or per step when
        there is no epoch column); metrics within 0-1 get a 0-1 axis.

    Raises:
        MissingFileError, UnreadableFileError: The CSV cannot be read.
    """
    if isinstance(metrics, str | os.PathLike):
        columns = read_metrics_csv(metrics)
    else:
        columns = {str(k): np.asarray(metrics[k], np.float64) for k in metrics.keys()}  # noqa: SIM118
    x_name = "epoch" if "epoch" in columns else "step"
    x = columns.get(
        x_name, np.arange(max((len(v) for v in columns.values()), default=0), dtype=float)
    )
    losses, others = curve_columns(columns, x_name)
    fig = new_figure(11.0, 4.2)
    for ax, names, heading in zip(
        fig.subplots(1, 2), (losses, others), ("loss", "metrics"), strict=True
    ):
        drawn = 0
        bounded = True
        for name in names:
            xs, ys = _per_x(x, columns[name])
            if not xs:
                continue
            style = "--" if name.startswith("train") else "-"
            ax.plot(xs, ys, style, marker="o" if len(xs) <= 30 else None, markersize=3, label=name)
            bounded &= all(0.0 <= v <= 1.0 for v in ys)
            drawn += 1
        if drawn:
            ax.legend(fontsize=8, frameon=False)
            if heading == "metrics" and bounded:
                ax.set_ylim(0.0, 1.0)
        else:
            ax.text(0.5, 0.5, f"no {heading} logged", ha="center", va="center",
                    transform=ax.transAxes, color="#666666")  # fmt: skip
        ax.set_xlabel(x_name, fontsize=9)
        ax.set_ylabel(heading, fontsize=9)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
    fig.suptitle(title or "learning curves", fontsize=11)
    return finish_figure(fig, path)


__all__ = ["MAX_METRIC_CURVES", "ColumnTable", "curve_columns", "learning_curves"]
