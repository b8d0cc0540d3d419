"""Streaming accumulators and the maths of map accuracy: confusion matrices and errors.

Both accumulators take blocks of paired pixels one at a time, so a scene of any
size is scored in memory bounded by the block size. Metrics that are undefined
(a class that appears in neither map, R² of a constant reference) are NaN.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Int64Array = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_DENSE_SPAN = 1024  # class ids spanning fewer values than this are counted with bincount


class ConfusionAccumulator:
    """Counts ``(reference, prediction)`` class pairs over blocks of pixels."""

    def __init__(self) -> None:
        self._pairs: Counter[tuple[int, int]] = Counter()

    def update(self, reference: Int64Array, prediction: Int64Array) -> None:
        """Add the pairs of two equally shaped integer arrays (already masked, any shape)."""
        if reference.size == 0:
            return
        lo = int(min(reference.min(), prediction.min()))
        span = int(max(reference.max(), prediction.max())) - lo + 1
        if span <= _DENSE_SPAN:
            # Class maps hold few small ids: one bincount beats sorting by far.
            codes = (reference - lo) * span + (prediction - lo)
            counts = np.bincount(codes.ravel(), minlength=span * span)
            for code in np.flatnonzero(counts):
                self._pairs[(int(code) // span + lo, int(code) % span + lo)] += int(counts[code])
            return
        pairs = np.stack([reference.ravel(), prediction.ravel()], axis=1)
        unique, counts = np.unique(pairs, axis=0, return_counts=True)
        for (ref, pred), count in zip(unique.tolist(), counts.tolist(), strict=True):
            self._pairs[(int(ref), int(pred))] += int(count)

    def ids(self) -> list[int]:
        """Every class id seen in either map, ascending."""
        return sorted({i for pair in self._pairs for i in pair})

    def matrix(self, ids: Sequence[int]) -> Int64Array:
        """Confusion matrix ``[K, K]`` over ``ids``: rows = reference, columns = prediction.

        Pairs involving an id outside ``ids`` are left out.
        """
        index = {class_id: i for i, class_id in enumerate(ids)}
        out = np.zeros((len(ids), len(ids)), np.int64)
        for (ref, pred), count in self._pairs.items():
            if ref in index and pred in index:
                out[index[ref], index[pred]] += count
        return out


@dataclass(frozen=True, eq=False)
class ClassMetrics:
    """Per-class and overall agreement derived from a confusion matrix.

    Attributes:
        iou: Intersection over union per class, ``[K]``.
        precision: User's accuracy per class (correct / predicted), ``[K]``.
        recall: Producer's accuracy per class (correct / reference), ``[K]``.
        f1: Harmonic mean of precision and recall per class, ``[K]``.
        support: Reference pixels per class, ``[K]``.
        overall_accuracy: Fraction of pixels whose class agrees.
        miou: Mean IoU over classes present in the reference or the prediction.
        mean_f1: Mean F1 over the same classes.
        kappa: Cohen's kappa (agreement beyond chance).
    """

    iou: FloatArray
    precision: FloatArray
    recall: FloatArray
    f1: FloatArray
    support: Int64Array
    overall_accuracy: float
    miou: float
    mean_f1: float
    kappa: float


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _nanmean(values: FloatArray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else math.nan


def class_metrics(confusion: Int64Array) -> ClassMetrics:
    """Metrics of a confusion matrix ``[K, K]`` (rows = reference, columns = prediction).

    A class with no pixel in either map gets NaN IoU/F1 and is left out of the
    means; its precision (or recall) is NaN when it was never predicted (or
    never present in the reference).
    """
    cm = confusion.astype(np.float64)
    tp = np.diag(cm)
    reference = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    total = float(cm.sum())
    iou = _ratio(tp, reference + predicted - tp)
    f1 = _ratio(2 * tp, reference + predicted)
    accuracy = float(tp.sum() / total) if total else math.nan
    return ClassMetrics(
        iou=iou,
        precision=_ratio(tp, predicted),
        recall=_ratio(tp, reference),
        f1=f1,
        support=confusion.sum(axis=1).astype(np.int64),
        overall_accuracy=accuracy,
        miou=_nanmean(iou),
        mean_f1=_nanmean(f1),
        kappa=_kappa(accuracy, reference, predicted, total),
    )


def _kappa(accuracy: float, reference: FloatArray, predicted: FloatArray, total: float) -> float:
    if not total:
        return math.nan
    chance = float((reference * predicted).sum() / total**2)
    if chance >= 1.0:  # both maps hold a single, identical class: perfect, not undefined
        return 1.0 if accuracy == 1.0 else math.nan
    return (accuracy - chance) / (1.0 - chance)


@dataclass(frozen=True)
class RegressionMetrics:
    """Errors of predicted values against reference values, in the maps' units.

    Attributes:
        mae: Mean absolute error.
        rmse: Root mean squared error.
        bias: Mean of prediction minus reference (positive: over-prediction).
        r2: Coefficient of determination, ``1 - SSE / SST`` (NaN for a constant reference).
        pixels: Pixel pairs scored.
    """

    mae: float
    rmse: float
    bias: float
    r2: float
    pixels: int


class RegressionAccumulator:
    """Sums of errors and the reference's variance over blocks of pixels.

    The reference's mean and sum of squared deviations are merged block by
    block (Chan et al.), so R² stays accurate for values far from zero where
    ``sum(x²) - n·mean²`` would cancel catastrophically.
    """

    def __init__(self) -> None:
        self.pixels = 0
        self._error = 0.0
        self._abs_error = 0.0
        self._sq_error = 0.0
        self._mean = 0.0
        self._m2 = 0.0

    def update(self, reference: FloatArray, prediction: FloatArray) -> None:
        """Add equally shaped float arrays of paired, valid pixels."""
        n = int(reference.size)
        if n == 0:
            return
        error = prediction - reference
        self._error += float(error.sum())
        self._abs_error += float(np.abs(error).sum())
        self._sq_error += float(np.square(error).sum())
        mean = float(reference.mean())
        m2 = float(np.square(reference - mean).sum())
        total = self.pixels + n
        delta = mean - self._mean
        self._m2 += m2 + delta * delta * self.pixels * n / total
        self._mean += delta * n / total
        self.pixels = total

    def result(self) -> RegressionMetrics:
        """The metrics of every pixel added so far (NaN when none was)."""
        n = self.pixels
        if n == 0:
            return RegressionMetrics(math.nan, math.nan, math.nan, math.nan, 0)
        r2 = 1.0 - self._sq_error / self._m2 if self._m2 > 0 else math.nan
        return RegressionMetrics(
            mae=self._abs_error / n,
            rmse=math.sqrt(self._sq_error / n),
            bias=self._error / n,
            r2=r2,
            pixels=n,
        )
