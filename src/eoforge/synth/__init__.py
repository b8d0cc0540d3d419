"""Synthetic Earth: procedural, labelled, georeferenced multi-sensor scenes.

``generate_scene(out, SynthOptions(size=..., seed=..., sensors=..., dates=...,
clouds=..., crs=..., gsd=...))`` writes Sentinel-2 L2A-like, Sentinel-1
GRD-like, Landsat 8/9-like, DEM and VHR rasters with land-cover, change and
cloud labels, vector labels, a legend and a STAC catalog, and returns a
:class:`SceneManifest`. Every layer is a pure function of (seed, position), so
scenes are generated block by block with bounded memory and identical bytes
for identical seeds.

Sub-packages, by stage: :mod:`~eoforge.synth.world` (what the ground is),
:mod:`~eoforge.synth.render` (how the sensors see it) and
:mod:`~eoforge.synth.write` (the files on disk); the modules here set a scene
up and drive the three.
"""

from eoforge.synth.scene import generate_scene
from eoforge.synth.scene_options import (
    SENSORS,
    SynthFields,
    SynthOptions,
    parse_phenology,
    parse_sensors,
)
from eoforge.synth.write.manifest import SceneManifest, WrittenFile

__all__ = [
    "SENSORS",
    "SceneManifest",
    "SynthFields",
    "SynthOptions",
    "WrittenFile",
    "generate_scene",
    "parse_phenology",
    "parse_sensors",
]
