"""A halo output: exact seams need tiles overlapping by twice the halo, else a clear error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from tests.helpers import write_tif

from eoforge.errors import ConfigError
from eoforge.predict import OutputSpec, TilingOptions, run
from eoforge.predict.speckle import despeckle_spec, despeckle_tiling
from eoforge.transforms.speckle import SpeckleFilter

T = Affine(10, 0, 600000, 0, -10, 5700000)


def test_an_overlap_below_twice_the_halo_is_refused(tmp_path: Path) -> None:
    image = np.random.default_rng(0).gamma(4.4, 1 / 4.4, (1, 100, 100)).astype(np.float32)
    scene = write_tif(tmp_path / "s.tif", image, T, "EPSG:32631", descriptions=["S1.VV"])
    speckle = SpeckleFilter("lee", 7, 4.4)
    spec = despeckle_spec(["S1.VV"], speckle)
    assert spec.halo == 3 and despeckle_tiling(speckle, 64).overlap == 6
    tiling = TilingOptions(tile=64, overlap=4, batch=1, block=128, multiple=1)
    with pytest.raises(ConfigError, match="less than twice the 3-px halo"):
        run(speckle, scene, tmp_path / "out", spec=spec, bands=["S1.VV"], tiling=tiling)
    assert not list((tmp_path / "out").glob("*.tif"))
    plain = OutputSpec("values", names=("S1.VV",))
    assert plain.halo == 0 and plain.product == "values"
