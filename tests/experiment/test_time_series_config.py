"""data.inputs time series: dates, clouds, composites and date ranges, with precise messages."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from tests.experiment.helpers import CLASSES, write_config

from eoforge.errors import ConfigError
from eoforge.experiment import load_config
from eoforge.experiment.config import GeoData
from eoforge.experiment.multi_input import series_spec

S2 = {"bands": ["S2.B02", "S2.B03", "S2.B04", "S2.B08"], "gsd": 10}


def series_config(out: Path, **s2: Any) -> dict[str, Any]:
    """Crop types from one S2 time-series group."""
    return {
        "data": {
            "kind": "geo",
            "train": {"images": [str(out)], "label": {"band": "croptype"}},
            "inputs": {"s2": {**copy.deepcopy(S2), **s2}},
            "classes": copy.deepcopy(CLASSES),
            "patch_size": 32,
        },
        "model": {"arch": "fusion_unet", "backbone": "tu-resnet10t"},
        "task": {"kind": "segmentation"},
        "trainer": {"accelerator": "cpu", "output_dir": str(out / "run")},
    }


def _error(tmp_path: Path, config: dict[str, Any]) -> str:
    path = write_config(tmp_path / "c.yaml", config)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    return message


def test_a_series_group_loads_with_its_dates_clouds_and_range(tmp_path: Path) -> None:
    config = series_config(
        tmp_path,
        dates=6,
        clouds={"band": "cloudmask"},
        start="2024-03-01",
        end="2024-11-30",
        composite="median",
    )
    data = load_config(write_config(tmp_path / "c.yaml", config)).data
    assert isinstance(data, GeoData) and data.inputs is not None
    group = data.inputs["s2"]
    assert group.length == 6 and not group.series  # a composite reads one image
    assert group.clouds is not None and group.clouds.values == [1, 2]  # cloud and shadow
    spec = series_spec(group)
    assert spec is not None and spec.start == date(2024, 3, 1) and spec.composite == "median"
    assert spec.cloud_band == "cloudmask" and spec.length == 6 and spec.days is None
    listed = series_config(tmp_path, dates=["2024-03-01", "2024-08-11"])
    listed["model"]["arch"] = "utae"
    group = load_config(write_config(tmp_path / "d.yaml", listed)).data.inputs["s2"]  # type: ignore[union-attr]
    assert group.series and group.length == 2
    assert series_spec(group).days == (date(2024, 3, 1), date(2024, 8, 11))  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("s2", "words"),
    [
        ({"dates": 0}, "dates must be at least 1 (got 0)"),
        ({"dates": ["2024-05-01", "2024-03-01"]}, "not in increasing order: 2024-03-01 comes"),
        ({"dates": []}, "dates lists no day"),
        ({"composite": "median"}, "composite given without dates"),
        ({"clouds": {"band": "cloudmask"}}, "clouds given without dates"),
        ({"dates": 4, "composite": "mean"}, "data.inputs.s2.composite"),
        ({"dates": 4, "start": "2024-09-01", "end": "2024-03-01"}, "end 2024-03-01 is before"),
        ({"dates": ["2024-02-01"], "start": "2024-03-01"}, "['2024-02-01'] lie outside"),
        ({"dates": 4, "clouds": {"values": []}}, "data.inputs.s2.clouds.values"),
        ({"dates": 4, "clouds": {"band": "S2.B04"}}, "is also an input band"),
    ],
)
def test_bad_series_options_name_the_key(tmp_path: Path, s2: dict[str, Any], words: str) -> None:
    message = _error(tmp_path, series_config(tmp_path, **s2))
    assert "data.inputs.s2" in message and words in message


def test_a_series_needs_a_temporal_architecture_and_back(tmp_path: Path) -> None:
    message = _error(tmp_path, series_config(tmp_path, dates=4))
    assert "data.inputs.s2: a time series (dates without a composite), but model.arch" in message
    assert "utae, ltae" in message and "composite: median" in message
    config = series_config(tmp_path, dates=4, composite="median")
    assert load_config(write_config(tmp_path / "m.yaml", config)).model.arch == "fusion_unet"
    single = series_config(tmp_path)
    single["model"]["arch"] = "utae"
    assert "'utae' takes one time-series group" in _error(tmp_path, single)
