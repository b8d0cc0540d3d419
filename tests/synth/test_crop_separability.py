"""Varied phenology: fields of different crops overlap on one date, not over the season."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import typer
from typer.testing import CliRunner

from eoforge.cli.synth import register
from eoforge.errors import ConfigError
from eoforge.synth import SynthOptions, generate_scene
from eoforge.synth.crop_separability import CROPS, separability
from eoforge.synth.render.acquisition import acquisition_dates, day_of_year
from eoforge.synth.world import legend
from eoforge.synth.world.phenology import (
    PEAK_VIGOUR,
    SEASON_STRETCH,
    SOIL_BRIGHTNESS,
    SOWING_SHIFT_DAYS,
    crop_cover,
    field_season,
)

#: The 8 dates of the crop-type recipe (1 March - 31 October 2024).
DOYS = [float(day_of_year(d)) for d in acquisition_dates(8)]


def test_uniform_crops_are_told_apart_on_one_mid_season_date() -> None:
    scores = separability(0, "uniform", DOYS)
    # 18 July (day 200): every crop in its own state; the overlap is under 5 %
    assert max(scores.single) >= 0.95
    assert scores.single[4] == max(scores.single)
    assert min(scores.overlap()) < 0.1


def test_varied_crops_overlap_on_every_date_but_not_over_the_series() -> None:
    scores = separability(0, "varied", DOYS)
    assert scores.fields.min() >= 100
    # on each date alone, at least a third of some crop's fields is taken for another crop
    assert min(scores.overlap()) >= 0.3
    # one date still carries information (chance is 0.25, the best date ~0.63) ...
    assert 0.5 <= max(scores.single) <= 0.7
    # ... and the series separates them (~0.98)
    assert scores.series >= 0.95
    assert scores.series - max(scores.single) >= 0.25


def test_field_seasons_cover_their_ranges_and_are_independent_draws() -> None:
    patch = np.random.default_rng(0).random(20000)
    season = field_season(patch, "varied")
    for values, (low, high) in [
        (season.shift, (-SOWING_SHIFT_DAYS, SOWING_SHIFT_DAYS)),
        (season.stretch, SEASON_STRETCH),
        (season.vigour, PEAK_VIGOUR),
        (season.soil, SOIL_BRIGHTNESS),
    ]:
        span = high - low
        assert values.min() >= low and values.max() <= high
        assert values.min() < low + 0.01 * span and values.max() > high - 0.01 * span
        assert abs(np.corrcoef(values, patch)[0, 1]) < 0.03
    draws = np.stack([season.shift, season.stretch, season.vigour, season.soil])
    off_diagonal = np.corrcoef(draws)[~np.eye(4, dtype=bool)]
    assert np.abs(off_diagonal).max() < 0.03
    again = field_season(patch, "varied")
    assert np.array_equal(again.shift, season.shift) and np.array_equal(again.soil, season.soil)
    uniform = field_season(patch, "uniform")
    assert np.abs(uniform.shift).max() <= 5.0 and np.all(uniform.vigour == 0.95)


@pytest.mark.parametrize(("phenology", "spread"), [("uniform", (0, 11)), ("varied", (30, 50))])
def test_each_crop_peaks_in_its_season_and_fields_spread_around_it(
    phenology: str, spread: tuple[int, int]
) -> None:
    patch = np.random.default_rng(1).random(400)
    days = np.arange(1.0, 366.0)
    peaks = {}
    for code in CROPS:
        crop = np.full(patch.shape, code, dtype=np.uint8)
        green = np.stack([crop_cover(crop, patch, d, phenology)[0] for d in days])  # type: ignore[arg-type]
        peak_day = days[green.argmax(axis=0)]
        peaks[code] = np.median(peak_day)
        assert spread[0] <= peak_day.max() - peak_day.min() <= spread[1]
    order = [legend.RAPESEED, legend.WHEAT, legend.SUNFLOWER, legend.MAIZE]
    assert [peaks[c] for c in order] == sorted(peaks.values())


def test_varied_phenology_changes_the_crops_and_nothing_else(tmp_path: Path) -> None:
    common = SynthOptions(size=128, seed=3, sensors=("s2",), dates=1, clouds=0.0, vectors=False)
    generate_scene(tmp_path / "uniform", common)
    generate_scene(tmp_path / "varied", common, phenology="varied")
    day = acquisition_dates(1)[0].strftime("%Y%m%d")

    def read(root: Path, rel: str) -> np.ndarray:
        with rasterio.open(root / rel) as ds:
            return ds.read(1)

    crops = read(tmp_path / "uniform", "labels/croptype.tif")
    assert np.array_equal(crops, read(tmp_path / "varied", "labels/croptype.tif"))
    assert (crops > 0).mean() > 0.1
    red = [
        read(tmp_path / p, f"s2/{day}/S2.B04.tif").astype(np.int64) for p in ("uniform", "varied")
    ]
    changed = red[0] != red[1]
    # the optical blur reaches 2 pixels around a field at most (fields beyond the edge too)
    near = np.ones_like(changed)
    near[2:-2, 2:-2] = False
    rows, cols = np.nonzero(crops > 0)
    for dr in range(-2, 3):
        for dc in range(-2, 3):
            near[np.clip(rows + dr, 0, 127), np.clip(cols + dc, 0, 127)] = True
    assert changed[crops > 0].mean() > 0.5
    assert not changed[~near].any()


def test_an_unknown_phenology_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="phenology='wild'") as caught:
        SynthOptions(phenology="wild").validate()  # type: ignore[arg-type]
    assert "uniform, varied" in str(caught.value)


def test_the_synth_command_takes_the_phenology(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    app.callback()(lambda: None)
    args = ["synth", "--out", str(tmp_path / "s"), "--size", "64", "--dates", "1"]
    args += ["--sensors", "s2", "--no-vectors", "--phenology"]
    result = CliRunner().invoke(app, [*args, "varied"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "s/s2/20240701/S2.B04.tif").is_file()
    result = CliRunner().invoke(app, [*args, "wild"])
    assert result.exit_code != 0
    assert "uniform, varied" in str(result.exception)
