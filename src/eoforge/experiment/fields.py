"""``task.kind: field_boundaries`` on geo data: samples whose mask numbers the fields.

The split's vector label layer (e.g. a synthetic scene's ``vectors/fields.parquet``)
is numbered one integer per field (``label.attribute`` names the field column, e.g.
``field_id``; without it every polygon is a field), and each window's ``mask`` holds
those numbers (0: no field). The task turns them into extent, boundary and distance
targets after augmentation (:mod:`eoforge.tasks.field_boundaries`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from eoforge.data import GeoDataset
from eoforge.errors import ConfigError
from eoforge.experiment.config import LabelLayer, TargetLayer
from eoforge.experiment.geo_data import Compose, Transform
from eoforge.experiment.scenes import SceneSources
from eoforge.io.vector.fields import FIELD_NUMBER, number_fields
from eoforge.transforms.field_targets import TARGET_NAMES

FIELD_TASK = "field_boundaries"
OUTPUTS = len(TARGET_NAMES)
"""Maps the network predicts: extent, boundary, distance."""


def field_dataset(
    sources: SceneSources,
    bands: list[str],
    layer: LabelLayer | None,
    target: TargetLayer | None,
    steps: Sequence[Transform],
    ignore_index: int,
    target_bands: list[str] | None = None,
) -> GeoDataset:
    """A :class:`GeoDataset` over a split's images with field numbers as ``mask``.

    Takes :func:`~eoforge.experiment.geo_data.geo_dataset`'s arguments; ``target``,
    ``ignore_index`` and ``target_bands`` do not apply (fields are numbered, never
    ignored) and must be None where they can be.

    Raises:
        ConfigError: The split has no vector label layer.
    """
    if layer is None or layer.kind != "vector" or not isinstance(sources.label, Path):
        raise ConfigError(
            "field_boundaries reads field polygons from a vector label layer.",
            fix="set data.<split>.label: {kind: vector, path: fields.parquet, attribute: "
            "field_id}.",
        )
    return GeoDataset(
        None,
        sources.images,
        bands,
        label=number_fields(sources.label, layer.attribute),
        label_kind="vector",
        label_attribute=FIELD_NUMBER,
        label_fill=0,
        transforms=Compose(list(steps)) if steps else None,
    )
