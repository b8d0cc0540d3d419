"""The one class type: an output class's id, name and display colour.

Bundles, prediction, evaluation, plots and the synthetic legend all describe a
class with :class:`ClassInfo`. How a dataset's label values or mask colours
become classes is an input-side rule of the experiment config
(:class:`eoforge.experiment.config.ClassRule`), not a second class type.

Example:
    >>> from eoforge.classes import ClassInfo
    >>> water = ClassInfo(id=1, name="water", color=[38, 115, 202])
    >>> water.color, water.rgba
    ('#2673ca', (38, 115, 202, 255))
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

from eoforge.errors import ConfigError


class ClassInfo(BaseModel):
    """One class: the id written in label and class maps, its name and ``#rrggbb`` colour.

    Frozen and hashable; stored in ``bundle.json`` and in class-map tags as is.

    Attributes:
        id: Value in class maps (the model's output channel for bundles), 0..254.
        name: Class name.
        color: ``#rrggbb`` display colour (``[r, g, b]`` and ``#RGB`` are accepted).
        description: One line for humans (optional).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int = Field(ge=0)
    name: str = Field(min_length=1)
    color: str = Field(pattern=r"^#[0-9a-f]{6}$")
    description: str = ""

    @field_validator("color", mode="before")
    @classmethod
    def _normalise_color(cls, value: object) -> object:
        try:
            return hex_color(value)
        except ConfigError as exc:  # pydantic reports ValueErrors with the field's location
            raise ValueError(exc.reason) from None

    @property
    def rgb(self) -> tuple[int, int, int]:
        """The colour as ``(r, g, b)``, 0-255 each."""
        v = self.color
        return int(v[1:3], 16), int(v[3:5], 16), int(v[5:7], 16)

    @property
    def rgba(self) -> tuple[int, int, int, int]:
        """The colour as an opaque ``(r, g, b, 255)`` (GDAL colour-table entries)."""
        return (*self.rgb, 255)


def hex_color(value: str | Sequence[int] | object) -> str:
    """``"#rrggbb"``, ``"#rgb"``, ``"rrggbb"`` or ``[r, g, b]`` → lower-case ``"#rrggbb"``.

    Raises:
        ConfigError: Not a colour.
    """
    if isinstance(value, str):
        text = value.strip().lstrip("#").lower()
        if len(text) == 3:
            text = "".join(ch * 2 for ch in text)
        if len(text) == 6 and all(ch in "0123456789abcdef" for ch in text):
            return f"#{text}"
    elif (
        isinstance(value, (list, tuple))
        and len(value) == 3
        and all(isinstance(v, int) and 0 <= v <= 255 for v in value)
    ):
        return "#{:02x}{:02x}{:02x}".format(*value)
    raise ConfigError(
        f"{value!r} is not a colour.",
        fix='write "#rrggbb" (e.g. "#3c1098") or [r, g, b] with values 0-255.',
    )


def class_table(classes: Iterable[ClassInfo]) -> dict[int, ClassInfo]:
    """Classes by id.

    Raises:
        ConfigError: Two classes share an id.
    """
    out: dict[int, ClassInfo] = {}
    for item in classes:
        if item.id in out:
            raise ConfigError(
                f"classes {out[item.id].name!r} and {item.name!r} share id {item.id}.",
                fix="give every class its own id.",
            )
        out[item.id] = item
    return out
