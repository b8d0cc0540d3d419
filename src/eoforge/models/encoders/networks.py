"""Task networks on the spectral encoders, registered as ``spectral_vit`` and ``spectral_resnet``.

Built from a :class:`~eoforge.models.spec.ModelSpec`, the encoder is bound to
``spec.in_bands`` (``model(image)`` uses them) and every network also takes
``model(image, bands=[...])`` to run the same weights on other bands.

* ``classification`` / ``multilabel`` / ``regression``: pooled features ->
  dropout -> linear, ``[B, C, H, W] -> [B, K]``.
* ``embedding``: the encoder itself, ``[B, C, H, W] -> [B, D]`` (``D`` is the
  encoder width; ``num_classes`` is not used).
* ``segmentation`` / ``pixel_regression``: ``[B, C, H, W] -> [B, K, H, W]`` for
  any H, W (:mod:`eoforge.models.encoders.dense`: progressive upsampling of
  the ViT's patch tokens; an FPN on the ResNet's stages).

Options (``spec.options``): ``spectral_vit``: ``size`` (``tiny``, ``small``,
``base``; default ``tiny``) and any :class:`~eoforge.models.encoders.vit.SpectralViT`
argument (``patch_size``, ``pool``, ``drop_path_rate``, ``embed_dim``, ``depth``,
``num_heads``, ``band_dim``, ``generator_hidden``); ``spec.backbone`` is not
used. ``spectral_resnet``: ``spec.backbone`` is the timm ResNet, options
``band_dim``, ``generator_hidden`` and timm arguments (``drop_rate``). Both:
``dropout`` before the linear head (default 0); dense tasks:
``decoder_channels`` (default 256 for the ViT, 128 for the ResNet FPN).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import torch
from torch import nn

from eoforge.errors import ConfigError
from eoforge.models.encoders.cnn import SpectralResNet
from eoforge.models.encoders.dense import ResNetFPNSegmenter, ViTSegmenter
from eoforge.models.encoders.vit import SpectralViT, spectral_vit
from eoforge.models.registry import register_model
from eoforge.models.spec import ModelSpec, Task
from eoforge.sensors import Band

SCENE_TASKS: tuple[Task, ...] = ("classification", "multilabel", "regression")
DENSE_TASKS: tuple[Task, ...] = ("segmentation", "pixel_regression")
_Encoder = TypeVar("_Encoder", SpectralViT, SpectralResNet)


class EncoderHead(nn.Module):
    """Pooled encoder features -> dropout -> linear: ``[B, C, H, W] -> [B, K]``.

    Args:
        encoder: A :class:`SpectralViT` or :class:`SpectralResNet`.
        num_outputs: ``K``.
        dropout: Dropout probability before the linear layer.
    """

    stem_bands: tuple[str, ...] = ()
    """No per-band stem weights: importing weights adapts nothing."""

    def __init__(
        self, encoder: SpectralViT | SpectralResNet, num_outputs: int, dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.num_features, num_outputs)

    def forward(
        self, image: torch.Tensor, bands: Sequence[str | Band] | None = None
    ) -> torch.Tensor:
        """Logits (or values) ``[B, K]``; ``bands`` default to the bound ones."""
        features = self.encoder(image, bands)
        logits: torch.Tensor = self.head(self.dropout(features))
        return logits


def _option(options: dict[str, Any], key: str, default: float) -> float:
    value = options.pop(key, default)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"model.options.{key}: expected a number, got {value!r}.",
            fix=f"give {key} as a number.",
        ) from None


def _task_network(
    spec: ModelSpec,
    build: Callable[[dict[str, Any]], _Encoder],
    segmenter: Callable[[_Encoder, int, int], nn.Module],
    decoder_channels: int,
) -> nn.Module:
    """The network of ``spec.task`` on the encoder ``build(options)`` makes.

    Args:
        spec: The model spec; ``dropout`` and ``decoder_channels`` are taken
            from a copy of its options before the rest go to ``build``.
        build: Makes the encoder bound to ``spec.in_bands`` from the options left.
        segmenter: The dense network ``(encoder, outputs, decoder channels)``.
        decoder_channels: Default of ``options.decoder_channels``.

    Returns:
        The encoder (``embedding``), the segmenter (dense tasks) or an
        :class:`EncoderHead` (scene tasks).
    """
    options = dict(spec.options)
    dropout = _option(options, "dropout", 0.0)
    channels = int(_option(options, "decoder_channels", decoder_channels))
    encoder = build(options)
    if spec.task == "embedding":
        return encoder
    if spec.task in DENSE_TASKS:
        return segmenter(encoder, spec.num_classes, channels)
    return EncoderHead(encoder, spec.num_classes, dropout)


@register_model(
    "spectral_vit",
    (*SCENE_TASKS, "embedding", *DENSE_TASKS),
    "channel-flexible ViT: patch kernels generated from each band's wavelength "
    "(SAR/DEM: learned); one set of weights for any bands (options.size: tiny/small/base)",
)
def _spectral_vit(spec: ModelSpec) -> nn.Module:
    def build(options: dict[str, Any]) -> SpectralViT:
        size = str(options.pop("size", "tiny"))
        return spectral_vit(size, bands=spec.in_bands, **options)

    return _task_network(spec, build, ViTSegmenter, 256)


@register_model(
    "spectral_resnet",
    (*SCENE_TASKS, "embedding", *DENSE_TASKS),
    "timm ResNet whose first convolution is generated from each band's wavelength "
    "(SAR/DEM: learned); one set of weights for any bands",
)
def _spectral_resnet(spec: ModelSpec) -> nn.Module:
    def build(options: dict[str, Any]) -> SpectralResNet:
        try:
            return SpectralResNet(spec.backbone, bands=spec.in_bands, **options)
        except TypeError as error:
            raise ConfigError(
                f"model.options: spectral_resnet rejects {sorted(options)}: {error}.",
                fix="use band_dim, generator_hidden, dropout or timm.create_model arguments.",
            ) from None

    return _task_network(spec, build, ResNetFPNSegmenter, 128)
