"""Text towers: sentence models loaded offline and the protocol every text embedder follows."""

from eoforge.text.embedder import TextEmbedder
from eoforge.text.sentence import (
    TEXT_PACKAGE,
    SentenceTower,
    check_texts,
    load_sentence_model,
)

__all__ = ["TEXT_PACKAGE", "SentenceTower", "TextEmbedder", "check_texts", "load_sentence_model"]
