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

from eoforge.classes import ClassInfo, hex_color
from eoforge.errors import ConfigError, UnreadableFileError
from eoforge.experiment.config import ClassRule, Legend

PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39",
    "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363",
)  # fmt: skip
"""Colours of classes that neither the config nor a legend colours, by class id."""


@dataclass(frozen=True)
class ClassSet:
    """The experiment's classes, in output-channel order, and the label values each gathers.

    Attributes:
        classes: The output classes; ``classes[i].id == i`` (the output channel).
        values: Label values gathered by each class (``values[i]`` for class ``i``;
            empty: the label value ``i`` itself). Empty for classes known by name only.
    """

    classes: tuple[ClassInfo, ...] = ()
    values: tuple[tuple[int, ...], ...] = ()

    @property
    def names(self) -> list[str]:
        """Class names, by id."""
        return [c.name for c in self.classes]

    @property
    def colors(self) -> list[str]:
        """``#rrggbb`` colours, by id."""
        return [c.color for c in self.classes]

    def infos(self) -> list[ClassInfo]:
        """The classes as the bundle stores them."""
        return list(self.classes)

    def lookup(self, ignore_index: int) -> npt.NDArray[np.int64] | None:
        """Label value -> class id table (ungathered values -> ``ignore_index``), or None.

        Returns:
            ``table[value]`` for values ``0..max(255, largest value)``; None when no
            class lists values (label values are class ids already).
        """
        if not any(self.values):
            return None
        top = max(v for group in self.values for v in group)
        table = np.full(max(top + 1, 256), ignore_index, np.int64)
        for index, group in enumerate(self.values):
            table[list(group) or [index]] = index
        return table


def class_set(
    names: Sequence[str],
    colors: Sequence[str | Sequence[int] | None],
    values: Sequence[Sequence[int]] = (),
    descriptions: Sequence[str] | None = None,
) -> ClassSet:
    """Classes with ids ``0..n-1``; a None colour takes the palette colour of its id.

    Raises:
        ConfigError: A colour is not a colour.
    """
    about = descriptions if descriptions is not None else [""] * len(names)
    classes = tuple(
        ClassInfo(
            id=i,
            name=name,
            color=PALETTE[i % len(PALETTE)] if color is None else hex_color(color),
            description=text,
        )
        for i, (name, color, text) in enumerate(zip(names, colors, about, strict=True))
    )
    return ClassSet(classes, tuple(tuple(group) for group in values))


def named_classes(names: Sequence[str]) -> ClassSet:
    """Classes known by name only (class folders, BigEarthNet), palette colours."""
    return class_set(names, [None] * len(names))


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
    entries: list[dict[str, Any]], exclude: Sequence[str], rules: Sequence[ClassRule] | None
) -> ClassSet:
    """Classes from legend entries: every entry but ``exclude``, or ``rules`` naming them.

    A rule without a colour takes the colour of the legend entry of its first value.

    Raises:
        ConfigError: A class value names no legend entry, or a rule gives a mask colour.
    """
    by_name = {str(e["name"]): e for e in entries}
    if rules is None:
        kept = [e for e in entries if e["name"] not in exclude]
        return class_set(
            [str(e["name"]) for e in kept],
            [e.get("color") for e in kept],
            [[int(e["value"])] for e in kept],
            [str(e.get("description", "")) for e in kept],
        )
    _no_mask_colours(rules)
    values: list[list[int]] = []
    colors: list[str | Sequence[int] | None] = []
    for index, rule in enumerate(rules):
        wanted = rule.values if rule.values is not None else [rule.name]
        group = [_legend_value(v, by_name, index) for v in wanted]
        values.append(group)
        first = next((e for e in entries if int(e["value"]) == group[0]), None)
        colors.append(rule.color if rule.color is not None or first is None else first.get("color"))
    return class_set([r.name for r in rules], colors, values)


def _legend_value(value: int | str, by_name: dict[str, dict[str, Any]], index: int) -> int:
    if isinstance(value, int):
        return value
    if value not in by_name:
        raise ConfigError(
            f"data.classes[{index}].values: {value!r} is not in the legend ({', '.join(by_name)}).",
            fix="use legend names or label values.",
        )
    return int(by_name[value]["value"])


def config_classes(rules: Sequence[ClassRule]) -> ClassSet:
    """Classes listed in the config without a legend (values must be ints).

    Raises:
        ConfigError: A value is a name (names need a legend), or a rule gives a mask colour.
    """
    _no_mask_colours(rules)
    values: list[list[int]] = []
    for index, rule in enumerate(rules):
        group = rule.values or []
        if any(isinstance(v, str) for v in group):
            raise ConfigError(
                f"data.classes[{index}].values: names need data.legend.",
                fix="give label values as integers, or add data.legend.",
            )
        values.append([int(v) for v in group])
    return class_set([r.name for r in rules], [r.color for r in rules], values)


def _no_mask_colours(rules: Sequence[ClassRule]) -> None:
    for index, rule in enumerate(rules):
        if rule.mask_color is not None:
            raise ConfigError(
                f"data.classes[{index}].mask_color: only image_mask data reads colour-coded masks.",
                fix="give the class's label values (data.classes[].values) instead.",
            )


def uses_mask_colours(rules: Sequence[ClassRule] | None) -> bool:
    """True when any rule gives a mask colour."""
    return rules is not None and any(r.mask_color is not None for r in rules)


def mask_colour_classes(
    rules: Sequence[ClassRule], ignore_colors: Sequence[str], ignore_index: int
) -> tuple[ClassSet, dict[str, int]]:
    """Classes of colour-coded masks and the colour -> class id map.

    Every rule needs ``mask_color`` (one colour or several) and no
    ``values``; a rule without ``color`` is drawn in its first mask colour.
    ``ignore_colors`` map to ``ignore_index``.

    Args:
        rules: ``data.classes``.
        ignore_colors: ``#rrggbb`` colours of pixels that never count.
        ignore_index: The task's ignore index.

    Returns:
        The classes and ``{"#rrggbb": class id or ignore_index}``.

    Raises:
        ConfigError: A rule without mask colour or with values, or a colour
            listed twice.
    """
    table: dict[str, int] = {}
    owner: dict[str, str] = {}

    def claim(colour: str, key: str, value: int) -> None:
        if colour in table:
            raise ConfigError(
                f"{key}: {colour} is listed already, by {owner[colour]}.",
                fix="give each mask colour to one class (or to data.ignore_colors).",
            )
        table[colour], owner[colour] = value, key

    for index, rule in enumerate(rules):
        key = f"data.classes[{index}]"
        if rule.mask_color is None:
            raise ConfigError(
                f"{key}.mask_color: missing; the other classes give mask colours.",
                fix="give every class its mask colour(s), or none of them (masks of class ids).",
            )
        if rule.values is not None:
            raise ConfigError(
                f"{key}.values: a class read from mask colours takes no label values.",
                fix="remove values, or drop mask_color for masks of class ids.",
            )
        for colour in rule.mask_color:
            claim(colour, f"{key}.mask_color", index)
    for colour in ignore_colors:
        claim(hex_color(colour), "data.ignore_colors", ignore_index)
    colors: list[str | Sequence[int] | None] = [
        r.color if r.color is not None else r.mask_color[0] for r in rules if r.mask_color
    ]
    return class_set([r.name for r in rules], colors), table


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
