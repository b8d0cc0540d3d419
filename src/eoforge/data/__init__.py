"""Samplers, datasets and collation that keep every window's grid.

Samplers yield :class:`Window` records (a GeoBox plus the sources to read),
:class:`GeoDataset` turns a window into a sample (the "Sample" contract of
``docs/architecture.md``), and
:func:`collate` batches samples keeping ``crs``/``transform`` as lists::

    regions = regions_from_sources(sources)
    sampler = RandomGeoSampler(regions, size=256, length=10_000, seed=0)
    dataset = GeoDataset(sampler, sources, ["S2.B02", "S2.B03", "S2.B04"], label="labels.tif")
    loader = DataLoader(dataset, sampler=sampler, batch_size=16, num_workers=4, collate_fn=collate)
"""

from eoforge.data.balanced import ClassBalancedSampler
from eoforge.data.bigearthnet import BigEarthNetDataset
from eoforge.data.chips import ChangeTripletDataset, ClassFolderDataset, ImageMaskDataset
from eoforge.data.collate import collate, grid_of, uncollate
from eoforge.data.datasets import GeoDataset
from eoforge.data.detection import (
    DetectionChipDataset,
    DetectionPadCollate,
    balanced_chip_weights,
    detection_collate,
)
from eoforge.data.detection_windows import DetectionWindows, boxes_for_window
from eoforge.data.samplers import GridGeoSampler, RandomGeoSampler, TimeSeriesSampler
from eoforge.data.sharding import GeoSampler, shard_positions
from eoforge.data.windows import Region, Window, regions_from_sources

__all__ = [
    "BigEarthNetDataset",
    "ChangeTripletDataset",
    "ClassBalancedSampler",
    "ClassFolderDataset",
    "DetectionChipDataset",
    "DetectionPadCollate",
    "DetectionWindows",
    "GeoDataset",
    "GeoSampler",
    "GridGeoSampler",
    "ImageMaskDataset",
    "RandomGeoSampler",
    "Region",
    "TimeSeriesSampler",
    "Window",
    "balanced_chip_weights",
    "boxes_for_window",
    "collate",
    "detection_collate",
    "grid_of",
    "regions_from_sources",
    "shard_positions",
    "uncollate",
]
