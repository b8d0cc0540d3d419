"""Synthetic Earth: procedural, labelled, georeferenced multi-sensor scenes.

``generate_scene(out, size=..., seed=..., sensors=..., dates=..., clouds=...,
crs=..., gsd=...)`` writes Sentinel-2 L2A-like, Sentinel-1 GRD-like, Landsat
8/9-like, DEM and VHR rasters with land-cover, change and cloud labels, vector
labels, a legend and a STAC catalog, and returns a :class:`SceneManifest`.
Every layer is a pure function of (seed, position), so scenes are generated
block by block with bounded memory and identical bytes for identical seeds.
"""

from eoforge.synth.manifest import SceneManifest, WrittenFile
from eoforge.synth.options import SENSORS, SynthOptions
from eoforge.synth.scene import generate_scene

__all__ = ["SENSORS", "SceneManifest", "SynthOptions", "WrittenFile", "generate_scene"]
