"""Groups of one sensor before and after an event: the same bands on different listed days."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from tests.experiment.helpers import CLASSES, write_config

from eoforge.errors import ConfigError
from eoforge.experiment import load_config
from eoforge.experiment.config import GeoData

S2 = ["S2.B02", "S2.B03", "S2.B04", "S2.B08"]


def _config(tmp_path: Path, pre: dict[str, Any], post: dict[str, Any]) -> Path:
    config = {
        "data": {
            "kind": "geo",
            "train": {"images": [str(tmp_path)], "label": {"band": "change"}},
            "inputs": {"pre": {"bands": S2, "gsd": 10, **pre}, "post": {"gsd": 10, **post}},
            "classes": copy.deepcopy(CLASSES),
            "patch_size": 32,
        },
        "model": {"arch": "fusion_unet", "backbone": "tu-resnet10t"},
        "task": {"kind": "segmentation"},
        "trainer": {"accelerator": "cpu", "output_dir": str(tmp_path / "run")},
    }
    return write_config(tmp_path / "c.yaml", config)


def _day(day: str) -> dict[str, Any]:
    return {"dates": [day], "composite": "median"}


def test_one_sensor_on_two_listed_days_is_two_groups(tmp_path: Path) -> None:
    path = _config(tmp_path, _day("2024-03-01"), {"bands": S2, **_day("2024-07-01")})
    data = load_config(path).data
    assert isinstance(data, GeoData) and data.inputs is not None
    assert data.inputs["pre"].bands == data.inputs["post"].bands == S2
    assert [str(d) for g in data.inputs.values() for d in g.dates or []] == [
        "2024-03-01",
        "2024-07-01",
    ]


@pytest.mark.parametrize(
    ("pre", "post"),
    [
        ({}, _day("2024-07-01")),  # the pre group reads every date
        (_day("2024-03-01"), {}),
        ({"dates": 2, "composite": "median"}, _day("2024-07-01")),  # a count, not days
        (  # a day in common
            {"dates": ["2024-03-01", "2024-07-01"], "composite": "median"},
            _day("2024-07-01"),
        ),
    ],
)
def test_shared_bands_need_days_apart(
    tmp_path: Path, pre: dict[str, Any], post: dict[str, Any]
) -> None:
    with pytest.raises(ConfigError, match=r"band S2\.B02 is in groups 'pre' and 'post'") as caught:
        load_config(_config(tmp_path, pre, {"bands": S2, **post}))
    assert "its own listed days" in str(caught.value)
