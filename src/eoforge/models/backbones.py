"""Backbone lookup: timm models and segmentation-models-pytorch encoders.

Every lookup validates the name first, so a typo gives a :class:`ConfigError`
with close matches instead of a deep KeyError, and builds without pretrained
weights (nothing is downloaded; pretrained weights come from local files).
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from typing import Any

import segmentation_models_pytorch as smp
import timm
from torch import nn

from eoforge.errors import ConfigError, available_list


@lru_cache(maxsize=1)
def _timm_names() -> frozenset[str]:
    return frozenset(timm.list_models())


@lru_cache(maxsize=1)
def _smp_names() -> frozenset[str]:
    return frozenset(smp.encoders.get_encoder_names())


def _unknown(kind: str, name: str, valid: frozenset[str], fix: str) -> ConfigError:
    close = difflib.get_close_matches(name, sorted(valid), n=8, cutoff=0.5)
    hint = f"Close matches: {available_list(close)}." if close else ""
    return ConfigError(
        f"model.backbone: unknown {kind} {name!r}. {hint} "
        f"Examples: {available_list(sorted(valid)[:12])}.",
        fix=fix,
    )


def require_timm_model(name: str) -> str:
    """Return ``name`` if timm knows the model.

    Raises:
        ConfigError: Unknown name (the message lists close matches).
    """
    if name not in _timm_names():
        raise _unknown("timm model", name, _timm_names(), "use a name from timm.list_models().")
    return name


def require_smp_encoder(name: str) -> str:
    """Return ``name`` if it is an smp encoder or ``tu-<timm model>``.

    Raises:
        ConfigError: Unknown name (the message lists close matches).
    """
    if name.startswith("tu-"):
        if name[3:] not in _timm_names():
            raise _unknown(
                "timm model", name[3:], _timm_names(), "use tu-<name from timm.list_models()>."
            )
        return name
    if name not in _smp_names():
        raise _unknown(
            "smp encoder",
            name,
            _smp_names(),
            "use a segmentation-models-pytorch encoder name, or tu-<timm model>.",
        )
    return name


def timm_model(name: str, in_channels: int, **kwargs: Any) -> nn.Module:
    """A randomly initialised timm model with ``in_channels`` input channels.

    Raises:
        ConfigError: Unknown model name, or keyword arguments it rejects.
    """
    require_timm_model(name)
    try:
        return timm.create_model(name, pretrained=False, in_chans=in_channels, **kwargs)
    except TypeError as error:
        raise ConfigError(
            f"model.options: timm model {name} rejects {sorted(kwargs)}: {error}.",
            fix="remove the options that timm.create_model does not take for this model.",
        ) from None


def smp_encoder(name: str, in_channels: int, depth: int = 5) -> nn.Module:
    """A randomly initialised smp encoder returning ``depth + 1`` feature maps.

    The encoder's ``out_channels`` lists the channels of its outputs, the
    input itself first (strides 1, 2, 4, ... ``2**depth``); a stage a timm
    model lacks has 0 channels.
    """
    encoder: nn.Module = smp.encoders.get_encoder(
        require_smp_encoder(name), in_channels=in_channels, depth=depth, weights=None
    )
    return encoder


def is_channels_last(extractor: nn.Module) -> bool:
    """Whether a timm ``features_only`` model returns ``[B, H, W, C]`` maps (Swin does)."""
    fmt: Any = getattr(extractor, "output_fmt", "NCHW")
    return str(getattr(fmt, "value", fmt)) == "NHWC"


def feature_channels(extractor: nn.Module) -> list[int]:
    """Channels of a feature extractor's outputs, shallow to deep.

    Args:
        extractor: An smp encoder (its input passthrough is left out) or a
            timm ``features_only`` model.
    """
    info: Any = getattr(extractor, "feature_info", None)
    if info is not None:
        return [int(c) for c in info.channels()]
    channels: Any = extractor.out_channels
    return [int(c) for c in channels[1:]]
