"""Scene inference: tile a whole scene, run a model, blend, stream to a COG.

Done: raised-cosine blending, row streaming (memory independent of scene
height), float and class-map COG sinks written under a temporary name, bundle
predictors with their own normalisation. Unfinished (see the inference-engine
issue): ensembles and TTA, probability/confidence outputs, vectors, the resume
journal, overlapped I/O, the Dask executor and the CLI.
"""

from eoforge.predict.blend import RowBlender, ramp, tile_weights
from eoforge.predict.bundle import bundle_predictor
from eoforge.predict.engine import (
    CLASS_NODATA,
    Predictor,
    TilingOptions,
    classify_scene,
    predict_scene,
    stream_scene,
    write_cog,
)

__all__ = [
    "CLASS_NODATA",
    "Predictor",
    "RowBlender",
    "TilingOptions",
    "bundle_predictor",
    "classify_scene",
    "predict_scene",
    "ramp",
    "stream_scene",
    "tile_weights",
    "write_cog",
]
