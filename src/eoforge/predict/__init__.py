"""Scene inference for every task family: tile a whole scene, run a model, publish its outputs.

One entry point, :func:`run` (bundles or a predictor, and scenes, in; files per
scene out), over one engine, :func:`predict_scene`. An output kind says what
the model's outputs are and become; the engine does the rest (blocks of tiles,
journal and ``--resume``, local or Dask executors, bounded memory, files
published under their final names only when complete):

* :class:`OutputSpec`: rasters blended across tiles on the input grid (class
  maps, confidence, probabilities, values) or on a finer/coarser one
  (``scale=4`` for x4 super-resolution);
* :class:`DetectionSpec`: boxes or oriented boxes merged across tile borders
  by class-aware non-maximum suppression, as GeoParquet;
* :class:`EmbeddingSpec`: one vector per window with its footprint, as
  GeoParquet and/or Zarr;
* polygons of class maps (:func:`polygonize_map`, or ``Products(vectors=True)``).

A new task family adds an output kind (:class:`OutputKind`), never a second tiling loop.
"""

from eoforge.predict.bundle import BundleModel, bundle_predictor
from eoforge.predict.detections import DetectionSpec
from eoforge.predict.embeddings import EmbeddingSpec
from eoforge.predict.engine import RunOptions, TilingOptions, predict_scene
from eoforge.predict.executors import DaskOptions
from eoforge.predict.kinds import OutputKind
from eoforge.predict.raster import CLASS_NODATA, PROBABILITY_SCALE, OutputSpec
from eoforge.predict.runner import Products, SceneProgress, SceneResult, run
from eoforge.predict.scenes import Scene, find_sources, group_scenes
from eoforge.predict.types import Detections, Predictor, Progress
from eoforge.predict.vectors import VectorOutputs, polygonize_map

__all__ = [
    "CLASS_NODATA",
    "PROBABILITY_SCALE",
    "BundleModel",
    "DaskOptions",
    "DetectionSpec",
    "Detections",
    "EmbeddingSpec",
    "OutputKind",
    "OutputSpec",
    "Predictor",
    "Products",
    "Progress",
    "RunOptions",
    "Scene",
    "SceneProgress",
    "SceneResult",
    "TilingOptions",
    "VectorOutputs",
    "bundle_predictor",
    "find_sources",
    "group_scenes",
    "polygonize_map",
    "predict_scene",
    "run",
]
