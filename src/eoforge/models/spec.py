"""The model specification: everything needed to rebuild a network.

A :class:`ModelSpec` is data (it is stored in ``bundle.json``): the task, the
registered architecture, its backbone, the input bands *by name*, the number of
outputs, optional local pretrained weights and architecture options.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from eoforge.errors import EoforgeError
from eoforge.models.location_fusion import LocationInput
from eoforge.sensors import get_band

SupervisedTask = Literal[
    "classification",
    "multilabel",
    "segmentation",
    "change",
    "regression",
    "pixel_regression",
    "detection",
    "oriented_detection",
    "super_resolution",
    "image_to_image",
    "field_boundaries",
]
"""Tasks trained from labels; a model for one predicts what its labels describe."""

Task = Literal[SupervisedTask, "embedding"]
"""Prediction tasks; each fixes the forward contract (see :func:`build_model`)."""

DEFAULT_PRETRAINED_BANDS = ("RGB.red", "RGB.green", "RGB.blue")


def canonical_band_names(names: list[str]) -> list[str]:
    """Canonical registry names of ``names`` (``"S2.red"`` -> ``"S2.B04"``).

    Raises:
        ValueError: When a name is unknown or ambiguous (pydantic reports it
            with the field that holds it).
    """
    try:
        return [get_band(name).name for name in names]
    except EoforgeError as error:
        raise ValueError(str(error)) from None


class ModelSpec(BaseModel):
    """Specification of one network.

    Attributes:
        task: What the network predicts; fixes its input and output shapes.
        arch: Registered architecture name (see :func:`list_models`).
        backbone: timm model name or segmentation-models-pytorch encoder name.
        in_bands: Canonical names of the input bands, in input channel order;
            ``len(in_bands)`` is the number of input channels.
        num_classes: Number of outputs (classes, or targets for regression).
        pretrained: Path of a LOCAL state-dict file (``.safetensors``, or
            ``.pt``/``.pth``/``.ckpt`` read with ``weights_only=True``).
        pretrained_bands: Bands the pretrained input stem was trained on.
        importer: Published-checkpoint importer that converts ``pretrained``
            first (a name from :mod:`eoforge.models.importers`, or ``auto`` to
            recognise the layout); its bands replace ``pretrained_bands``.
            None: ``pretrained`` is a timm / TorchGeo / smp / Lightning layout.
        options: Extra keyword arguments of the architecture.
        location: Take the window centre's location as an extra input
            (:mod:`eoforge.models.location_fusion`); None: images only.
    """

    model_config = ConfigDict(extra="forbid")

    task: Task
    arch: str
    backbone: str = "resnet18"
    in_bands: list[str] = Field(min_length=1)
    num_classes: int = Field(ge=1)
    pretrained: str | None = None
    pretrained_bands: list[str] | None = Field(
        default_factory=lambda: list(DEFAULT_PRETRAINED_BANDS)
    )
    importer: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    location: LocationInput | None = None

    @field_validator("in_bands")
    @classmethod
    def _canonical_in_bands(cls, names: list[str]) -> list[str]:
        return canonical_band_names(names)

    @field_validator("pretrained_bands")
    @classmethod
    def _canonical_pretrained_bands(cls, names: list[str] | None) -> list[str] | None:
        return None if names is None else canonical_band_names(names)

    @property
    def in_channels(self) -> int:
        """Number of input channels per image (``len(in_bands)``)."""
        return len(self.in_bands)
