"""Scene inference: tile a whole scene, run a model, blend, publish COGs and vectors.

Blocks of blended tiles are the unit of work (:mod:`.plan`, :mod:`.blocks`);
they run in this process with I/O overlapped or on a Dask cluster
(:mod:`.executors`), are journaled for ``--resume``, and are assembled into
COGs (:mod:`.engine`). Bundles become predictors with their own
normalisation, as ensembles and with D4 test-time augmentation
(:mod:`.bundle`).
"""

from eoforge.predict.blend import ramp, tile_weights
from eoforge.predict.bundle import BundleModel, bundle_predictor, d4, ensemble
from eoforge.predict.engine import (
    RunOptions,
    TilingOptions,
    assemble,
    classify_scene,
    predict_scene,
    write_cog,
)
from eoforge.predict.executors import WORKER_ALLOCATOR, DaskOptions, local_cluster
from eoforge.predict.memory import bound_process_memory, release_free_memory, tune_allocator
from eoforge.predict.outputs import CLASS_NODATA, PROBABILITY_SCALE, ClassDef, OutputSpec
from eoforge.predict.plan import Block, BlockPlan
from eoforge.predict.types import Predictor, Progress
from eoforge.predict.vectors import VectorOutputs, polygonize_map

__all__ = [
    "CLASS_NODATA",
    "PROBABILITY_SCALE",
    "WORKER_ALLOCATOR",
    "Block",
    "BlockPlan",
    "BundleModel",
    "ClassDef",
    "DaskOptions",
    "OutputSpec",
    "Predictor",
    "Progress",
    "RunOptions",
    "TilingOptions",
    "VectorOutputs",
    "assemble",
    "bound_process_memory",
    "bundle_predictor",
    "classify_scene",
    "d4",
    "ensemble",
    "local_cluster",
    "polygonize_map",
    "predict_scene",
    "ramp",
    "release_free_memory",
    "tile_weights",
    "tune_allocator",
    "write_cog",
]
