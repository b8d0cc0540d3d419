"""Confusion-matrix figure: a heatmap of class shares with the pixel counts written in the cells.

Rows are reference classes and columns predicted ones, as in
:class:`eoforge.evaluate.metrics.ConfusionAccumulator`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure

from eoforge.errors import ConfigError
from eoforge.evaluate.figures import PathLike, finish_figure, new_figure

NORMALIZATIONS = {
    "true": "share of each reference class (rows sum to 1)",
    "pred": "share of each predicted class (columns sum to 1)",
    "all": "share of all scored pixels",
}
"""``normalize`` values and what the colour then shows (the colour-bar label)."""

MAX_ANNOTATED = 25
"""Most classes whose cells get their values written; larger matrices are colour only."""


def normalized_matrix(
    matrix: npt.ArrayLike, normalize: str | None = "true"
) -> npt.NDArray[np.float64]:
    """Confusion matrix ``[K, K]`` (rows reference, columns prediction) as ratios.

    Args:
        matrix: Pixel counts ``[K, K]``.
        normalize: ``"true"`` (by row), ``"pred"`` (by column), ``"all"``, or None (counts).

    Returns:
        float64 ``[K, K]``; rows/columns without pixels are 0.

    Raises:
        ConfigError: An unknown ``normalize``.
    """
    counts = np.asarray(matrix, np.float64)
    if normalize is None:
        return counts
    if normalize not in NORMALIZATIONS:
        raise ConfigError(
            f"unknown normalize={normalize!r}.", fix="use 'true', 'pred', 'all' or None."
        )
    if normalize == "true":
        total = counts.sum(axis=1, keepdims=True)
    elif normalize == "pred":
        total = counts.sum(axis=0, keepdims=True)
    else:
        total = np.full_like(counts, counts.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        out: npt.NDArray[np.float64] = np.where(total > 0, counts / np.maximum(total, 1e-300), 0.0)
    return out


def confusion_matrix(
    matrix: npt.ArrayLike,
    names: Sequence[str],
    *,
    normalize: str | None = "true",
    title: str | None = None,
    path: PathLike | None = None,
) -> Figure:
    """Heatmap of a confusion matrix with ratios and counts written in the cells.

    Args:
        matrix: Pixel counts ``[K, K]``, rows reference classes, columns predicted ones.
        names: ``K`` class names.
        normalize: Colour by ``"true"`` (row shares, i.e. recall on the diagonal),
            ``"pred"`` (column shares, precision), ``"all"``, or None (counts).
        title: Figure title.
        path: Also write the PNG there.

    Returns:
        The figure; its image holds :func:`normalized_matrix` ``[K, K]``. Cells show
        the ratio and, up to 12 classes, the count below it (counts alone when
        ``normalize`` is None); none above :data:`MAX_ANNOTATED` classes.

    Raises:
        ConfigError: The matrix is not square or does not match ``names``.
    """
    counts = np.asarray(matrix, np.float64)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] != len(names):
        raise ConfigError(
            f"confusion matrix of shape {counts.shape} does not match {len(names)} class names.",
            fix="pass a square [K, K] matrix (rows reference, columns prediction) and K names.",
        )
    ratios = normalized_matrix(counts, normalize)
    k = len(names)
    side = min(max(4.5, 0.55 * k + 2.5), 14.0)
    fig = new_figure(side + 1.0, side)
    ax = fig.add_subplot()
    vmax = 1.0 if normalize else max(float(ratios.max(initial=0.0)), 1.0)
    image = ax.imshow(ratios, cmap="Blues", vmin=0.0, vmax=vmax, interpolation="nearest")
    fig.colorbar(image, ax=ax, shrink=0.8, label=NORMALIZATIONS.get(normalize or "", "pixels"))
    if k <= MAX_ANNOTATED:
        size = 8 if k <= 10 else 6
        for r in range(k):
            for c in range(k):
                count = int(counts[r, c])
                text = f"{ratios[r, c]:.2f}" if normalize else f"{count:,}"
                if normalize and k <= 12:
                    text += f"\n{count:,}"
                colour = "white" if ratios[r, c] > 0.55 * vmax else "#222222"
                ax.text(c, r, text, ha="center", va="center", fontsize=size, color=colour)
    ax.set_xticks(range(k), list(names), rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k), list(names), fontsize=8)
    ax.set_xlabel("prediction", fontsize=9)
    ax.set_ylabel("reference", fontsize=9)
    fig.suptitle(title or "confusion matrix", fontsize=11)
    return finish_figure(fig, path)


__all__ = ["MAX_ANNOTATED", "NORMALIZATIONS", "confusion_matrix", "normalized_matrix"]
