"""CLIP-style image-text dual encoder on eoforge image encoders.

* :class:`ImageTower` (registered arch ``image_text_tower``, task
  ``embedding``): an eoforge encoder (``spectral_vit``, ``spectral_resnet``,
  ``timm_encoder``: any bands, optical or SAR) + a linear projection into the
  joint space, unit vectors ``[B, C, H, W] -> [B, D]``. Exported alone it is an
  ordinary embedding bundle, so ``eoforge embed`` writes joint-space vectors
  that text queries can search.
* :class:`ImageTextModel`: the image tower, a text tower (any module mapping
  sentences to ``[N, E]``, e.g. :class:`~eoforge.text.SentenceTower`) with its
  projection, and CLIP's learnable temperature (``logit_scale``, started at
  ``log(1 / 0.07)`` and clamped to at most ``log(100)``).
* :func:`clip_loss`: symmetric InfoNCE over the batch. Pairs that say the same
  thing (the same window, or the same caption) can be marked positive, so they
  are not pushed apart as negatives: the target of each row is then spread
  evenly over its positives.

Spec of the tower: ``backbone`` goes to the encoder, ``options`` holds
``encoder`` (an arch, default ``spectral_vit``), ``encoder_options`` (that
arch's options) and ``dim`` (joint width, default 256).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from eoforge.errors import ConfigError
from eoforge.models.registry import get_factory, register_model
from eoforge.models.spec import ModelSpec
from eoforge.sensors import Band

ENCODERS = ("spectral_vit", "spectral_resnet", "timm_encoder")
"""Encoders an image tower can be built on (each serves the embedding task)."""
MAX_LOGIT_SCALE = math.log(100.0)
"""CLIP's clamp: logits are never scaled by more than 100."""


def encoder_spec(spec: ModelSpec) -> ModelSpec:
    """The spec of the tower's encoder (task ``embedding``) from the tower's spec.

    Raises:
        ConfigError: Unknown encoder, or options of the wrong type.
    """
    options = dict(spec.options)
    arch = str(options.get("encoder", "spectral_vit"))
    if arch not in ENCODERS:
        raise ConfigError(
            f"model.options.encoder {arch!r} cannot be an image tower.",
            fix=f"use one of {', '.join(ENCODERS)}.",
        )
    inner = options.get("encoder_options", {})
    if not isinstance(inner, dict):
        raise ConfigError(
            f"model.options.encoder_options must be a mapping, got {inner!r}.",
            fix="give the encoder's options as key: value pairs.",
        )
    return ModelSpec(
        task="embedding",
        arch=arch,
        backbone=spec.backbone,
        in_bands=spec.in_bands,
        num_classes=1,
        options=dict(inner),
    )


def joint_dim(spec: ModelSpec) -> int:
    """Width of the joint space of a tower spec (``options.dim``, default 256)."""
    value = spec.options.get("dim", 256)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(
            f"model.options.dim must be a positive integer, got {value!r}.", fix="e.g. dim: 256."
        )
    return value


class ImageTower(nn.Module):
    """Encoder + linear projection: images ``[B, C, H, W]`` -> unit vectors ``[B, D]``.

    Args:
        encoder: An ``embedding`` network with ``num_features``.
        dim: Joint-space width ``D``.
    """

    stem_bands: tuple[str, ...] = ()
    """No per-band stem weights of its own (the encoder generates or adapts them)."""

    def __init__(self, encoder: nn.Module, dim: int) -> None:
        super().__init__()
        width = int(getattr(encoder, "num_features", 0))
        if width < 1:
            raise ConfigError(
                f"{type(encoder).__name__} has no num_features: cannot size the projection.",
                fix=f"use an encoder among {', '.join(ENCODERS)}.",
            )
        self.encoder = encoder
        self.projection = nn.Linear(width, dim)
        self.num_features = dim
        self.spec: ModelSpec | None = None

    def forward(self, image: Tensor, bands: Sequence[str | Band] | None = None) -> Tensor:
        """Unit joint vectors ``[B, D]``; ``bands`` names other input bands (spectral encoders)."""
        features: Tensor = self.encoder(image) if bands is None else self.encoder(image, bands)
        return nn.functional.normalize(self.projection(features), dim=-1)


@register_model(
    "image_text_tower",
    ("embedding",),
    "image side of an image-text model: an eoforge encoder (options.encoder) + projection "
    "into the joint space (options.dim); unit vectors a text query can search",
)
def _image_tower(spec: ModelSpec) -> nn.Module:
    inner = encoder_spec(spec)
    tower = ImageTower(get_factory(inner)(inner), joint_dim(spec))
    tower.spec = spec  # what rebuilds it (CLOSP exports each modality's tower from it)
    return tower


class ImageTextModel(nn.Module):
    """Image tower, text tower + projection, and a learnable temperature.

    Args:
        image_tower: Images -> unit joint vectors ``[B, D]``.
        text_tower: Sentences -> vectors ``[N, E]`` (attribute ``dim`` = ``E``).
        temperature: Initial temperature (CLIP: 0.07).
        learn_temperature: Learn it (``logit_scale``), or keep it fixed.
    """

    def __init__(
        self,
        image_tower: ImageTower,
        text_tower: nn.Module,
        *,
        temperature: float = 0.07,
        learn_temperature: bool = True,
    ) -> None:
        super().__init__()
        if temperature <= 0:
            raise ConfigError(f"temperature {temperature} must be > 0.", fix="e.g. 0.07.")
        self.image_tower = image_tower
        self.text_tower = text_tower
        text_dim: Any = text_tower.dim  # a plain int attribute (nn.Module types it as a Tensor)
        self.text_projection = nn.Linear(int(text_dim), image_tower.num_features)
        scale = torch.tensor(math.log(1.0 / temperature))
        self.logit_scale = nn.Parameter(scale, requires_grad=learn_temperature)

    @property
    def dim(self) -> int:
        """Joint-space width."""
        return int(self.image_tower.num_features)

    def scale(self) -> Tensor:
        """``exp(logit_scale)``, at most 100."""
        return self.logit_scale.clamp(max=MAX_LOGIT_SCALE).exp()

    def encode_image(self, image: Tensor) -> Tensor:
        """Unit joint vectors ``[B, D]`` of normalised images ``[B, C, H, W]``."""
        out: Tensor = self.image_tower(image)
        return out

    def encode_text(self, texts: Sequence[str]) -> Tensor:
        """Unit joint vectors ``[N, D]`` of sentences."""
        features: Tensor = self.text_tower(texts)
        return nn.functional.normalize(self.text_projection(features), dim=-1)

    def forward(self, image: Tensor, texts: Sequence[str]) -> tuple[Tensor, Tensor]:
        """``(image vectors [B, D], text vectors [B, D])`` of paired images and sentences."""
        return self.encode_image(image), self.encode_text(texts)


def clip_loss(
    image: Tensor, text: Tensor, scale: Tensor | float, positives: Tensor | None = None
) -> Tensor:
    """Symmetric InfoNCE of paired unit vectors.

    Args:
        image: ``[B, D]`` unit image vectors.
        text: ``[B, D]`` unit text vectors; row ``i`` pairs with image ``i``.
        scale: Logit scale (inverse temperature).
        positives: ``[B, B]`` bool, True where image ``i`` and text ``j`` match
            (the diagonal is always positive); None: the diagonal only.

    Returns:
        Mean of the image->text and text->image cross-entropies (scalar).
    """
    logits = scale * image @ text.T
    size = logits.shape[0]
    eye = torch.eye(size, dtype=torch.bool, device=logits.device)
    match = eye if positives is None else positives.to(logits.device) | eye
    target = match.float() / match.sum(dim=1, keepdim=True)
    target_t = match.T.float() / match.T.sum(dim=1, keepdim=True)
    loss_i = -(target * logits.log_softmax(dim=1)).sum(dim=1).mean()
    loss_t = -(target_t * logits.T.log_softmax(dim=1)).sum(dim=1).mean()
    return (loss_i + loss_t) / 2


def same_pairs(keys: Sequence[Any]) -> Tensor:
    """``[B, B]`` bool: True where items ``i`` and ``j`` have equal keys."""
    index: dict[Any, int] = {}
    codes = torch.tensor([index.setdefault(k, len(index)) for k in keys])
    return codes[:, None] == codes[None, :]


class ClospModel(nn.Module):
    """CLOSP-style: one image tower per modality, one shared text tower, projection and temperature.

    Optical-text and SAR-text pairs (never optical-SAR pairs) train each tower
    against the same text space, so optical and SAR vectors become comparable
    through the text: optical <-> SAR retrieval without co-registered pairs.

    Args:
        towers: Image tower per modality name (``{"optical": ..., "sar": ...}``), one joint width.
        text_tower: Sentences -> vectors ``[N, E]`` (attribute ``dim`` = ``E``).
        temperature: Initial temperature (CLIP: 0.07), learned and clamped at 1/100.

    Raises:
        ConfigError: No tower, or towers of different widths.
    """

    def __init__(
        self, towers: dict[str, ImageTower], text_tower: nn.Module, *, temperature: float = 0.07
    ) -> None:
        super().__init__()
        widths = {t.num_features for t in towers.values()}
        if len(widths) != 1 or temperature <= 0:
            raise ConfigError(
                f"towers of widths {sorted(widths)} and temperature {temperature}.",
                fix="give at least one tower, all of one joint width, and a temperature > 0.",
            )
        self.towers = nn.ModuleDict(towers)
        self.text_tower = text_tower
        text_dim: Any = text_tower.dim  # a plain int attribute (nn.Module types it as a Tensor)
        self.text_projection = nn.Linear(int(text_dim), widths.pop())
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / temperature)))

    @property
    def dim(self) -> int:
        """Joint-space width."""
        return int(self.text_projection.out_features)

    def scale(self) -> Tensor:
        """``exp(logit_scale)``, at most 100."""
        return self.logit_scale.clamp(max=MAX_LOGIT_SCALE).exp()

    def encode_image(self, modality: str, image: Tensor) -> Tensor:
        """Unit joint vectors ``[B, D]`` of normalised images of one modality.

        Raises:
            ConfigError: No tower for ``modality``.
        """
        if modality not in self.towers:
            raise ConfigError(
                f"no image tower for {modality!r}.", fix=f"use one of {', '.join(self.towers)}."
            )
        out: Tensor = self.towers[modality](image)
        return out

    def encode_text(self, texts: Sequence[str]) -> Tensor:
        """Unit joint vectors ``[N, D]`` of sentences (the one text space of every tower)."""
        features: Tensor = self.text_tower(texts)
        return nn.functional.normalize(self.text_projection(features), dim=-1)
