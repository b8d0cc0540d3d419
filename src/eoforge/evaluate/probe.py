"""Probes on frozen features: k-nearest neighbours and a linear classifier, with their metrics.

* :func:`knn_probe`: cosine similarity to the training vectors, the ``k``
  nearest vote with weights ``exp(similarity / temperature)`` (DINO's
  weighted k-NN: k = 20, temperature 0.07). Single labels: top-1
  ``accuracy``; multi-hot labels: each class's score is the weighted share of
  neighbours holding it, scored by ``map``. Both report
  ``precision_at_10``: the share of a validation window's 10 nearest training
  windows with the same class (multi-label: sharing at least one label);
  with fewer training windows than ``k`` (or 10), all of them count.
* :func:`linear_probe`: logistic regression (scikit-learn, L-BFGS, fixed
  seed) on features standardised with the training split's mean and std;
  multi-hot labels get one binary regression per class (one-vs-rest).

Metric names follow eoforge's classification and multi-label tasks:
``accuracy`` (overall, single label) and ``map`` (macro mean average
precision over the classes with at least one positive validation window;
classes absent from the validation split are left out, not counted as 0).
"""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score

from eoforge.errors import ConfigError
from eoforge.evaluate.features import Features

FloatArray = npt.NDArray[np.float64]


def mean_average_precision(scores: npt.ArrayLike, targets: npt.ArrayLike) -> float:
    """Macro mean of per-class average precision (``map``).

    Args:
        scores: ``[N, K]`` scores (higher: more likely positive).
        targets: ``[N, K]`` multi-hot 0/1 targets.

    Returns:
        Mean over the classes with at least one positive target of the
        all-point average precision (the mean of precision at each positive's
        rank); NaN when no class has a positive.
    """
    s = np.asarray(scores, dtype=np.float64)
    t = np.asarray(targets) > 0.5
    values = [
        float(average_precision_score(t[:, k], s[:, k])) for k in range(t.shape[1]) if t[:, k].any()
    ]
    return float(np.mean(values)) if values else float("nan")


def _unit(vectors: npt.ArrayLike) -> FloatArray:
    v = np.asarray(vectors, dtype=np.float64)
    unit: FloatArray = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    return unit


def _neighbours(train: Features, val: Features, k: int) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Indices ``[M, k]`` of each validation vector's nearest training vectors and similarities."""
    similarity = _unit(val.vectors) @ _unit(train.vectors).T
    k = min(k, similarity.shape[1])
    # stable sort on the negated similarity: ties go to the earlier training item
    order = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
    return order.astype(np.int64), np.take_along_axis(similarity, order, axis=1)


def precision_at(train: Features, val: Features, k: int = 10) -> float:
    """Share of each validation window's ``k`` nearest training windows that share its label.

    Single labels when the data has them, else sharing at least one multi-hot label.
    """
    order, _ = _neighbours(train, val, k)
    if train.single is not None and val.single is not None:
        same = train.single[order] == val.single[:, None]
    elif train.multi is not None and val.multi is not None:
        shared = (train.multi[order] > 0.5) & (val.multi[:, None, :] > 0.5)
        same = shared.any(axis=2)
    else:
        raise ConfigError("the two splits carry different kinds of labels.", fix="check the data.")
    return float(same.mean())


def knn_probe(
    train: Features,
    val: Features,
    num_classes: int,
    *,
    k: int = 20,
    temperature: float = 0.07,
) -> dict[str, float]:
    """Weighted k-NN on cosine similarity (see the module doc).

    Args:
        train: Training vectors ``[N, D]`` and labels.
        val: Validation vectors ``[M, D]`` and labels.
        num_classes: ``K``.
        k: Neighbours that vote.
        temperature: Vote weight ``exp(similarity / temperature)``.

    Returns:
        ``accuracy`` (single labels), ``map`` (multi-hot labels), ``precision_at_10``.
    """
    order, similarity = _neighbours(train, val, k)
    weights = np.exp(
        (similarity - 1.0) / temperature
    )  # shifted by the largest possible: no overflow
    metrics: dict[str, float] = {}
    if train.single is not None and val.single is not None:
        votes = np.zeros((len(val), num_classes))
        rows = np.repeat(np.arange(len(val)), order.shape[1])
        np.add.at(votes, (rows, train.single[order].ravel()), weights.ravel())
        metrics["accuracy"] = float((votes.argmax(axis=1) == val.single).mean())
    if train.multi is not None and val.multi is not None:
        shares = np.einsum("mk,mkc->mc", weights, train.multi[order]) / weights.sum(
            1, keepdims=True
        )
        metrics["map"] = mean_average_precision(shares, val.multi)
    metrics["precision_at_10"] = precision_at(train, val, 10)
    return metrics


def _standardise(train: FloatArray, val: FloatArray) -> tuple[FloatArray, FloatArray]:
    mean, std = train.mean(axis=0), train.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    return (train - mean) / std, (val - mean) / std


def _logistic(c: float, seed: int, max_iter: int) -> LogisticRegression:
    return LogisticRegression(C=c, max_iter=max_iter, random_state=seed)


def linear_probe(
    train: Features,
    val: Features,
    num_classes: int,
    *,
    c: float = 1.0,
    seed: int = 0,
    max_iter: int = 1000,
) -> dict[str, float]:
    """Logistic regression on frozen, standardised features (see the module doc).

    Args:
        train: Training vectors and labels.
        val: Validation vectors and labels.
        num_classes: ``K``.
        c: Inverse L2 regularisation strength.
        seed: Seed of the solver.
        max_iter: L-BFGS iterations at most.

    Returns:
        ``accuracy`` (single labels) and ``map`` (multi-hot labels).

    Raises:
        ConfigError: The training split holds a single class.
    """
    x_train, x_val = _standardise(
        np.asarray(train.vectors, np.float64), np.asarray(val.vectors, np.float64)
    )
    metrics: dict[str, float] = {}
    with warnings.catch_warnings():
        # a capped L-BFGS is still a deterministic, usable probe
        warnings.simplefilter("ignore", ConvergenceWarning)
        if train.single is not None and val.single is not None:
            if len(np.unique(train.single)) < 2:
                raise ConfigError(
                    "the probe's training split holds a single class.",
                    fix="give the training split windows of at least two classes.",
                )
            model = _logistic(c, seed, max_iter).fit(x_train, train.single)
            metrics["accuracy"] = float((model.predict(x_val) == val.single).mean())
        if train.multi is not None and val.multi is not None:
            scores = np.zeros((len(val), num_classes))
            for label in range(num_classes):
                y = train.multi[:, label] > 0.5
                if y.all() or not y.any():  # one value only: a constant score
                    scores[:, label] = float(y.mean())
                    continue
                fitted = _logistic(c, seed, max_iter).fit(x_train, y)
                scores[:, label] = fitted.predict_proba(x_val)[:, 1]
            metrics["map"] = mean_average_precision(scores, val.multi)
    return metrics


def chance_baseline(train: Features, val: Features) -> dict[str, float]:
    """What a probe scores without looking at the features, for reading its numbers.

    ``accuracy``: always the training split's most frequent class; ``map``:
    every validation window scored by the classes' training frequencies.
    """
    metrics: dict[str, float] = {}
    if train.single is not None and val.single is not None:
        majority = int(np.bincount(train.single).argmax())
        metrics["accuracy"] = float((val.single == majority).mean())
    if train.multi is not None and val.multi is not None:
        prevalence = np.broadcast_to(train.multi.mean(axis=0), val.multi.shape)
        metrics["map"] = mean_average_precision(prevalence, val.multi)
    return metrics
