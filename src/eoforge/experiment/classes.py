"""Output classes of an experiment: names, colours, and the label values each one gathers.

Classes come from the config's ``data.classes`` list, from a synthetic
scene's ``legend.json``, or from the dataset itself (class folders,
BigEarthNet). Label values that no class gathers become the task's ignore
index through :class:`RemapLabels`, so merged or dropped classes never count.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from eoforge.errors import ConfigError, UnreadableFileError
from eoforge.experiment.config import ClassDef, Legend
from eoforge.models import ClassInfo

PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39",
    "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363",
)  # fmt: skip


@dataclass(frozen=True)
class ClassSet:
    """The experiment's classes, in output-channel order.

    Attributes:
        names: Class names.
        colors: ``#rrggbb`` colours.
        values: Label values gathered by each class (empty: the class id itself).
    """

    names: list[str]
    colors: list[str]
    values: list[list[int]]

    def infos(self) -> list[ClassInfo]:
        """The classes as bundle entries."""
        return [
            ClassInfo(id=i, name=n, color=c)
            for i, (n, c) in enumerate(zip(self.names, self.colors, strict=True))
        ]

    def lookup(self, ignore_index: int) -> npt.NDArray[np.int64] | None:
        """Label value -> class id table (ungathered values -> ``ignore_index``), or None."""
        if not any(self.values):
            return None
        top = max(v for group in self.values for v in group)
        table = np.full(max(top + 1, 256), ignore_index, np.int64)
        for index, group in enumerate(self.values):
            table[group or [index]] = index
        return table


def hex_color(color: str | Sequence[int] | None, index: int) -> str:
    """``#rrggbb`` of a config or legend colour; a palette colour when None."""
    if color is None:
        return PALETTE[index % len(PALETTE)]
    if isinstance(color, str):
        return color if color.startswith("#") else f"#{color}"
    r, g, b = (int(v) for v in color[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def named_classes(names: Sequence[str]) -> ClassSet:
    """Classes known by name only (class folders, BigEarthNet), palette colours."""
    return ClassSet(list(names), [hex_color(None, i) for i in range(len(names))], [])


def read_legend(legend: Legend, scene: Path | None) -> list[dict[str, Any]]:
    """Entries (``value``, ``name``, ``color``) of one layer of a ``legend.json``.

    Args:
        legend: Which file and layer.
        scene: Training scene folder, used when ``legend.path`` is None.

    Raises:
        ConfigError: No file to read, or no such layer.
        UnreadableFileError: The file is not JSON.
    """
    path = legend.path if legend.path is not None else scene
    if path is None:
        raise ConfigError(
            "data.legend.path: missing, and the training images are not one scene folder.",
            fix="give the path of the scene's legend.json.",
        )
    file = path / "legend.json" if path.is_dir() else path
    try:
        layers = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise UnreadableFileError(f"cannot read the legend ({error}).", path=file) from None
    if legend.layer not in layers:
        raise ConfigError(
            f"data.legend.layer: no layer {legend.layer!r}; the legend has {sorted(layers)}.",
            path=file,
            fix="name one of those layers.",
        )
    entries: list[dict[str, Any]] = layers[legend.layer]
    return entries


def legend_classes(
    entries: list[dict[str, Any]], exclude: Sequence[str], defs: Sequence[ClassDef] | None
) -> ClassSet:
    """Classes from legend entries: every entry but ``exclude``, or ``defs`` naming them.

    Raises:
        ConfigError: A class value names no legend entry.
    """
    by_name = {str(e["name"]): e for e in entries}
    if defs is None:
        kept = [e for e in entries if e["name"] not in exclude]
        return ClassSet(
            [str(e["name"]) for e in kept],
            [hex_color(e.get("color"), i) for i, e in enumerate(kept)],
            [[int(e["value"])] for e in kept],
        )
    values: list[list[int]] = []
    colors: list[str] = []
    for index, item in enumerate(defs):
        wanted = item.values if item.values is not None else [item.name]
        group = [_legend_value(v, by_name, index) for v in wanted]
        values.append(group)
        first = next((e for e in entries if int(e["value"]) == group[0]), None)
        colour = item.color if item.color is not None or first is None else first.get("color")
        colors.append(hex_color(colour, index))
    return ClassSet([d.name for d in defs], colors, values)


def _legend_value(value: int | str, by_name: dict[str, dict[str, Any]], index: int) -> int:
    if isinstance(value, int):
        return value
    if value not in by_name:
        raise ConfigError(
            f"data.classes[{index}].values: {value!r} is not in the legend ({', '.join(by_name)}).",
            fix="use legend names or label values.",
        )
    return int(by_name[value]["value"])


def config_classes(defs: Sequence[ClassDef]) -> ClassSet:
    """Classes listed in the config without a legend (values must be ints).

    Raises:
        ConfigError: A value is a name (names need a legend).
    """
    values: list[list[int]] = []
    for index, item in enumerate(defs):
        group = item.values or []
        if any(isinstance(v, str) for v in group):
            raise ConfigError(
                f"data.classes[{index}].values: names need data.legend.",
                fix="give label values as integers, or add data.legend.",
            )
        values.append([int(v) for v in group])
    colors = [hex_color(d.color, i) for i, d in enumerate(defs)]
    return ClassSet([d.name for d in defs], colors, values)


class RemapLabels:
    """Sample transform: ``mask`` label values -> class ids through a lookup table.

    Args:
        table: ``table[value]`` is the class id (or the ignore index).
        ignore_index: Id of values beyond the table.
    """

    def __init__(self, table: npt.NDArray[np.int64], ignore_index: int) -> None:
        self.table = torch.from_numpy(table)
        self.ignore_index = ignore_index

    def __call__(self, sample: dict[str, Any]) -> dict[str, Any]:
        """Return ``sample`` with its ``mask`` remapped."""
        mask = sample["mask"]
        inside = (mask >= 0) & (mask < len(self.table))
        mapped = self.table[mask.clamp(0, len(self.table) - 1)]
        sample["mask"] = torch.where(inside, mapped, torch.tensor(self.ignore_index))
        return sample
