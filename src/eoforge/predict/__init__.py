"""Scene inference: tile a whole scene, run a model, blend, stream to a COG.

Unfinished (see the inference-engine issue): bundle loading with ensembles and
TTA, class maps with colour tables, vectors, resume journal, Dask executor.
"""

from eoforge.predict.blend import RowBlender, ramp, tile_weights
from eoforge.predict.engine import Predictor, TilingOptions, predict_scene

__all__ = ["Predictor", "RowBlender", "TilingOptions", "predict_scene", "ramp", "tile_weights"]
