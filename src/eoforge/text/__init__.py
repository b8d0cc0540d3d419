"""Text towers: sentence models loaded offline and the protocol every text embedder follows."""

from eoforge.text.embedder import TextEmbedder

__all__ = ["TextEmbedder"]
