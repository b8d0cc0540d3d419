"""Zero-shot classification: class names and prompt templates in, image classes out.

Each class is described by its name in every prompt template
(``"a satellite image of {}."``); the text vectors of one class are averaged
and scaled back to unit length (CLIP's prompt ensembling). An image belongs to
the class whose vector is most similar to its own. Names are read as words:
``bare_soil`` becomes ``bare soil``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from eoforge.errors import ConfigError
from eoforge.text import TextEmbedder

TEMPLATES = (
    "a satellite image of {}.",
    "an aerial view of {}.",
    "a remote sensing image mostly covered by {}.",
    "a patch of land showing {}.",
)
"""Default prompt templates; ``{}`` is replaced by the class name."""


def prompt_name(name: str) -> str:
    """A class name as words (``bare_soil`` -> ``bare soil``)."""
    return " ".join(name.replace("_", " ").split())


def class_vectors(
    embedder: TextEmbedder, names: Sequence[str], templates: Sequence[str] = TEMPLATES
) -> npt.NDArray[np.float32]:
    """One unit vector per class: the mean of its prompts' vectors.

    Args:
        embedder: Text embedder of the joint space (a trained image-text bundle's text side).
        names: Class names, class id order.
        templates: Prompts with one ``{}`` each.

    Returns:
        float32 ``[K, D]``.

    Raises:
        ConfigError: No class, no template, or a template without ``{}``.
    """
    if not names or not templates or any("{}" not in t for t in templates):
        raise ConfigError(
            f"zero-shot needs class names and templates with '{{}}' (got {len(names)} names, "
            f"templates {list(templates)}).",
            fix="give e.g. templates ['a satellite image of {}.'].",
        )
    prompts = [t.format(prompt_name(n)) for n in names for t in templates]
    vectors = embedder.encode(prompts).reshape(len(names), len(templates), -1).mean(axis=1)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: npt.NDArray[np.float32] = (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    return unit


@dataclass(frozen=True)
class ZeroShotResult:
    """Zero-shot predictions scored against the truth.

    Attributes:
        predicted: ``[N]`` class ids.
        accuracy: Share of images whose class is right.
        balanced_accuracy: Mean over classes present of the per-class recall.
        confusion: ``[K, K]`` counts, rows = true class, columns = predicted.
        names: Class names, id order.
    """

    predicted: npt.NDArray[np.int64]
    accuracy: float
    balanced_accuracy: float
    confusion: npt.NDArray[np.int64]
    names: list[str]

    def as_dict(self, prefix: str = "zeroshot/") -> dict[str, float]:
        """``{"zeroshot/accuracy": ..., "zeroshot/balanced_accuracy": ...}``."""
        return {
            f"{prefix}accuracy": self.accuracy,
            f"{prefix}balanced_accuracy": self.balanced_accuracy,
        }


def predict_classes(
    image_vectors: npt.ArrayLike, vectors_of_classes: npt.ArrayLike
) -> npt.NDArray[np.int64]:
    """The most similar class (cosine) of each image, ``[N]``.

    Raises:
        ConfigError: The vectors have different widths.
    """
    images = np.array(image_vectors, dtype=np.float64, ndmin=2)
    classes = np.array(vectors_of_classes, dtype=np.float64, ndmin=2)
    if images.shape[1] != classes.shape[1]:
        raise ConfigError(
            f"image vectors have {images.shape[1]} values, class vectors {classes.shape[1]}.",
            fix="embed images and class prompts with the same image-text bundle.",
        )
    images /= np.maximum(np.linalg.norm(images, axis=1, keepdims=True), 1e-12)
    return np.asarray((images @ classes.T).argmax(axis=1), dtype=np.int64)


def score_zero_shot(
    predicted: npt.ArrayLike, truth: npt.ArrayLike, names: Sequence[str]
) -> ZeroShotResult:
    """Accuracy, balanced accuracy and confusion of predicted class ids.

    Raises:
        ConfigError: Lengths differ, no image, or ids outside ``0..K-1``.
    """
    pred = np.asarray(predicted, dtype=np.int64).reshape(-1)
    true = np.asarray(truth, dtype=np.int64).reshape(-1)
    k = len(names)
    if pred.shape != true.shape or pred.size == 0:
        raise ConfigError(
            f"{pred.size} predictions for {true.size} true classes.",
            fix="score one prediction per image.",
        )
    if min(pred.min(), true.min()) < 0 or max(pred.max(), true.max()) >= k:
        raise ConfigError(
            f"class ids must lie in 0..{k - 1} ({k} classes).", fix="check the class list."
        )
    confusion = np.zeros((k, k), np.int64)
    np.add.at(confusion, (true, pred), 1)
    present = confusion.sum(axis=1) > 0
    recall = np.diag(confusion)[present] / confusion.sum(axis=1)[present]
    return ZeroShotResult(
        predicted=pred,
        accuracy=float(np.mean(pred == true)),
        balanced_accuracy=float(recall.mean()),
        confusion=confusion,
        names=list(names),
    )


def zero_shot(
    embedder: TextEmbedder,
    image_vectors: npt.ArrayLike,
    truth: npt.ArrayLike,
    names: Sequence[str],
    templates: Sequence[str] = TEMPLATES,
) -> ZeroShotResult:
    """Classify images from class names alone and score the result.

    Args:
        embedder: Text side of the joint space.
        image_vectors: ``[N, D]`` image vectors of the same joint space.
        truth: ``[N]`` true class ids.
        names: Class names, id order.
        templates: Prompt templates.
    """
    predicted = predict_classes(image_vectors, class_vectors(embedder, names, templates))
    return score_zero_shot(predicted, truth, names)
