"""Zero-shot classification: prompt averaging, predictions and scores by hand."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest

from eoforge.errors import ConfigError
from eoforge.evaluate.zeroshot import (
    class_vectors,
    predict_classes,
    prompt_name,
    score_zero_shot,
    zero_shot,
)


class WordAxes:
    """A deterministic text embedder: one axis per known word, counted."""

    words = ("water", "forest", "bare", "soil", "image", "of")

    @property
    def dim(self) -> int:
        return len(self.words)

    @property
    def name(self) -> str:
        return "word-axes"

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().replace(".", "").split():
                if word in self.words:
                    out[i, self.words.index(word)] += 1
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_class_vectors_average_the_templates() -> None:
    vectors = class_vectors(WordAxes(), ["water", "bare_soil"], ["image of {}", "{}"])
    assert prompt_name("bare_soil") == "bare soil"
    # water: mean of (image + of + water)/sqrt3 and water, renormalised
    a = np.array([1, 0, 0, 0, 1, 1]) / np.sqrt(3) + np.array([1, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(vectors[0], a / np.linalg.norm(a), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    with pytest.raises(ConfigError, match="templates"):
        class_vectors(WordAxes(), ["water"], ["no placeholder"])


def test_predictions_and_scores_by_hand() -> None:
    classes = np.eye(3)
    images = [[0.9, 0.1, 0], [0, 0.2, 0.1], [0, 0.1, 0.3], [0.5, 0.6, 0]]
    predicted = predict_classes(images, classes)
    assert predicted.tolist() == [0, 1, 2, 1]
    result = score_zero_shot(predicted, [0, 1, 2, 0], ["a", "b", "c"])
    assert result.accuracy == 0.75
    assert result.balanced_accuracy == pytest.approx((0.5 + 1 + 1) / 3)
    assert result.confusion.tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    with pytest.raises(ConfigError, match="class ids"):
        score_zero_shot([3], [0], ["a", "b", "c"])


def test_zero_shot_end_to_end_with_a_word_embedder() -> None:
    embedder = WordAxes()
    images = embedder.encode(["water", "forest", "bare soil", "water"])
    result = zero_shot(embedder, images, [0, 1, 2, 0], ["water", "forest", "bare_soil"])
    assert result.accuracy == 1.0 and result.predicted.tolist() == [0, 1, 2, 0]
