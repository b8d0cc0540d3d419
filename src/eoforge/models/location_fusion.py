"""Location as an extra input of any scene or dense network: one fusion module for every task.

A model spec with ``location`` set (:class:`LocationInput`) is built as the
architecture's network without its last layer, wrapped in
:class:`LocationFused`: the window centre's ``(lon, lat)`` goes through a
frozen location encoder (:class:`~eoforge.location.encoder.LocationEncoder`,
unit-normalised output), a small trainable projection, and is concatenated to
the network's features right before a new head:

* scene tasks (classification, multilabel, regression): the pooled features
  ``[B, F]`` (the input of the architecture's final ``Linear``) -> ``[B, F + P]``;
* dense tasks (segmentation, pixel_regression): the decoder's last feature map
  ``[B, F, H, W]`` (the input of its final ``Conv2d``) with the projection
  broadcast to every pixel -> ``[B, F + P, H, W]``, then 1x1 convolutions.

With ``fuse: film`` the projection also modulates the features first
(feature-wise linear modulation: ``f * (1 + gamma(p)) + beta(p)``, one
``Linear(P, 2F)`` started at zero, so training starts from the plain
concatenation): the place can then flip or silence a feature for the whole
window, which is what a label that depends on place and appearance together
needs (``concat`` has to build that interaction in the hidden layer).

The head is ``Linear(F + P, hidden) -> ReLU -> Linear(hidden, K)`` per sample
or per pixel (``hidden = 0``: one ``Linear(F + P, K)``; with ``concat``
location then only shifts the scores, it cannot change what an appearance means). The encoder's
weights are part of the network's state dict, so a model bundle carries them
and needs no location bundle to load.

Forward contract: ``model(x, lonlat)`` with ``x`` as the architecture takes it
and ``lonlat`` ``[B, 2]`` (longitude, latitude in degrees, WGS84).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor, nn

from eoforge.errors import ConfigError
from eoforge.location.bundle import load_location_bundle
from eoforge.location.encoder import LocationEncoder, LocationSpec

SCENE_TASKS = ("classification", "multilabel", "regression")
DENSE_TASKS = ("segmentation", "pixel_regression")


class LocationInput(BaseModel):
    """How a network takes the window centre's location (``ModelSpec.location``).

    Attributes:
        encoder: Sizes of the frozen location encoder.
        dim: Length ``P`` of the trainable projection of its embedding.
        hidden: Width of the fused head's hidden layer (0: a linear head).
        fuse: How the projection meets the image features: ``concat``, or
            ``film`` (modulates them, then is concatenated too).
        bundle: Location bundle whose encoder weights initialise the encoder
            when the network is built (training); None once the weights are
            part of a model bundle.
        source: The location bundle the encoder came from (a record only).
    """

    model_config = ConfigDict(extra="forbid")

    encoder: LocationSpec
    dim: int = Field(default=16, ge=1)
    hidden: int = Field(default=64, ge=0)
    fuse: Literal["concat", "film"] = "concat"
    bundle: str | None = None
    source: str | None = None


class LocationFused(nn.Module):
    """A network without its head, a frozen location encoder, and the fused head.

    Args:
        net: The network minus its last layer: ``x -> [B, F]`` or ``[B, F, H, W]``.
        features: ``F``.
        outputs: ``K``.
        spec: The location input.
    """

    takes_location = True
    """The forward is ``model(x, lonlat)`` (tasks and predictors look for this flag)."""

    def __init__(self, net: nn.Module, features: int, outputs: int, spec: LocationInput) -> None:
        super().__init__()
        self.net = net
        self.location = LocationEncoder.from_spec(spec.encoder)
        for parameter in self.location.parameters():
            parameter.requires_grad_(False)
        self.project = nn.Sequential(nn.Linear(spec.encoder.dim, spec.dim), nn.ReLU())
        self.film: nn.Linear | None = None
        if spec.fuse == "film":  # [B, P] -> gamma, beta [B, F] each; zero: plain concat at first
            self.film = nn.Linear(spec.dim, 2 * features)
            nn.init.zeros_(self.film.weight)
            nn.init.zeros_(self.film.bias)
        width = features + spec.dim
        layers: list[nn.Module] = []
        if spec.hidden > 0:
            layers += [nn.Linear(width, spec.hidden), nn.ReLU()]
            width = spec.hidden
        layers.append(nn.Linear(width, outputs))  # last Linear of the module: the output layer
        self.head = nn.Sequential(*layers)

    def train(self, mode: bool = True) -> LocationFused:
        """Set the mode of everything but the frozen encoder (always eval)."""
        super().train(mode)
        self.location.eval()
        return self

    def places(self, lonlat: Tensor) -> Tensor:
        """Projected location embeddings ``[B, P]`` of places ``[B, 2]`` (degrees)."""
        with torch.no_grad():
            embedded = nn.functional.normalize(self.location(lonlat), dim=-1)
        projected: Tensor = self.project(embedded)
        return projected

    def forward(self, x: Tensor, lonlat: Tensor) -> Tensor:
        """Outputs ``[B, K]`` or ``[B, K, H, W]`` of images ``x`` at places ``lonlat [B, 2]``."""
        features: Tensor = self.net(x)
        place = self.places(lonlat.to(device=features.device)).to(features.dtype)
        if self.film is not None:
            gamma, beta = self.film(place).chunk(2, dim=-1)  # [B, F] each
            if features.ndim == 4:
                gamma, beta = gamma[:, :, None, None], beta[:, :, None, None]
            features = features * (1 + gamma) + beta
        if features.ndim == 2:
            out: Tensor = self.head(torch.cat([features, place], dim=1))
            return out
        pixels = features.movedim(1, -1)  # [B, H, W, F]: a Linear per pixel is a 1x1 conv
        broadcast = place[:, None, None, :].expand(*pixels.shape[:-1], place.shape[-1])
        dense: Tensor = self.head(torch.cat([pixels, broadcast], dim=-1))
        return dense.movedim(-1, 1)


def takes_location(model: nn.Module) -> bool:
    """Whether ``model``'s forward wants ``(x, lonlat)``."""
    return bool(getattr(model, "takes_location", False))


def _last_layer(model: nn.Module, kind: type[nn.Module], outputs: int) -> tuple[str, nn.Module]:
    """Name and module of the last ``kind`` layer with ``outputs`` outputs."""
    found: tuple[str, nn.Module] | None = None
    for name, module in model.named_modules():
        size = getattr(module, "out_features", getattr(module, "out_channels", None))
        if isinstance(module, kind) and size == outputs:
            found = (name, module)
    if found is None:
        raise ConfigError(
            f"model.location: found no final {kind.__name__} with {outputs} outputs to put the "
            "location before.",
            fix="use an architecture whose head ends in a Linear (scene tasks) or Conv2d "
            "(dense tasks), e.g. timm_classifier or unet.",
        )
    return found


def _replace(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, new)


def fuse_location(model: nn.Module, task: str, outputs: int, spec: LocationInput) -> LocationFused:
    """``model`` with its last layer replaced by the location-fused head.

    Args:
        model: A network built for ``task`` with ``outputs`` outputs.
        task: Its task (scene or dense; see the module doc).
        outputs: ``K``.
        spec: The location input; with ``spec.bundle`` set, the encoder's
            weights are read from that location bundle.

    Raises:
        ConfigError: A task that takes no location, or a network without the
            expected final layer.
        MissingFileError: ``spec.bundle`` does not exist.
    """
    if task not in SCENE_TASKS + DENSE_TASKS:
        raise ConfigError(
            f"model.location: task {task!r} cannot take a location input.",
            fix=f"use it with one of {', '.join(SCENE_TASKS + DENSE_TASKS)}, or remove it.",
        )
    kind: type[nn.Module] = nn.Linear if task in SCENE_TASKS else nn.Conv2d
    name, layer = _last_layer(model, kind, outputs)
    features = int(getattr(layer, "in_features", getattr(layer, "in_channels", 0)))
    _replace(model, name, nn.Identity())
    fused = LocationFused(model, features, outputs, spec)
    if spec.bundle is not None:
        load_location_encoder(fused, spec)
    return fused


def load_location_encoder(fused: LocationFused, spec: LocationInput) -> None:
    """Copy the encoder weights of the location bundle ``spec.bundle`` into ``fused``.

    Raises:
        ConfigError: Its encoder's sizes differ from ``spec.encoder``.
    """
    path = Path(str(spec.bundle))
    loaded = load_location_bundle(path)
    if loaded.bundle.encoder != spec.encoder:
        raise ConfigError(
            f"the location bundle's encoder {loaded.bundle.encoder.model_dump()} differs from "
            f"model.location's {spec.encoder.model_dump()}.",
            path=path,
            fix="leave model.location.encoder out: it is read from the bundle.",
        )
    fused.location.load_state_dict(loaded.model.encoder.state_dict(), strict=True)
