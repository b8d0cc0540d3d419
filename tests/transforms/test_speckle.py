"""Speckle filters: looks gained on homogeneous speckle, edges kept, NaN-aware windows that
make tiles agree away from their edges, dB refused or converted, bad options refused."""

from __future__ import annotations

import pytest
import torch

from eoforge.errors import ConfigError, RadiometryError
from eoforge.transforms.speckle import FILTERS, SpeckleFilter, edge_width, enl


def speckle(shape: tuple[int, ...], looks: float, seed: int = 0) -> torch.Tensor:
    """Unit-mean gamma intensity speckle of ``looks`` looks."""
    torch.manual_seed(seed)
    rate = torch.full(shape, float(looks))
    return torch.distributions.Gamma(rate, rate).sample()


@pytest.fixture(scope="module")
def flat() -> torch.Tensor:
    return speckle((1, 1, 192, 192), 4.4)


@pytest.fixture(scope="module")
def step() -> torch.Tensor:
    """A 9 dB step (1 -> 8) between columns 31 and 32 under 4.4-look speckle, 384 rows."""
    truth = torch.ones(1, 1, 384, 64)
    truth[..., 32:] = 8.0
    return truth * speckle(tuple(truth.shape), 4.4, seed=1)


# ENL gain on 4.4-look speckle and the 10-90 % width of the 9 dB step (docs/sar.md)
EXPECTED = {
    ("boxcar", 3): (8.0, 10.0, 2.6),
    ("boxcar", 7): (44.0, 55.0, 6.0),
    ("lee", 5): (14.0, 19.0, 3.2),
    ("lee", 7): (26.0, 35.0, 4.3),
    ("refined_lee", 7): (12.0, 18.0, 1.2),
    ("gamma_map", 5): (11.0, 16.0, 1.2),
    ("gamma_map", 7): (23.0, 32.0, 1.2),
}


@pytest.mark.parametrize(("name", "window"), list(EXPECTED))
def test_filters_gain_looks_and_keep_or_blur_the_edge_as_documented(
    flat: torch.Tensor, step: torch.Tensor, name: str, window: int
) -> None:
    low, high, widest = EXPECTED[(name, window)]
    f = SpeckleFilter(name, window, looks=4.4)  # type: ignore[arg-type]
    before = enl(flat)
    assert 4.0 < before < 4.8
    gain = enl(f(flat)[..., 8:-8, 8:-8]) / before
    assert low < gain < high, gain
    assert edge_width(step[0, 0].mean(0)) < 1.0  # the raw step is sharp
    width = edge_width(f(step)[0, 0].mean(0))
    assert width < widest, width
    if name in ("refined_lee", "gamma_map"):
        assert width <= 2.0  # the edge criterion: the adaptive edge-keeping filters


def test_the_mean_level_is_kept(flat: torch.Tensor) -> None:
    for name in FILTERS:
        out = SpeckleFilter(name, 7, looks=4.4)(flat * 0.05)
        assert float(out.mean()) == pytest.approx(float((flat * 0.05).mean()), rel=0.03)


@pytest.mark.parametrize("name", FILTERS)
def test_tiles_agree_with_the_whole_image_beyond_the_halo(flat: torch.Tensor, name: str) -> None:
    f = SpeckleFilter(name, 7, looks=4.4)
    image = flat[..., :96, :96].clone()
    image[..., 40:44, 50:60] = float("nan")  # nodata inside
    whole = f(image)
    h = f.halo
    tile = f(image[..., 20:80, 30:90])
    torch.testing.assert_close(
        tile[..., h:-h, h:-h], whole[..., 20 + h : 80 - h, 30 + h : 90 - h], equal_nan=True
    )
    assert torch.isnan(whole[..., 40:44, 50:60]).all()
    assert torch.isfinite(whole[..., :40, :]).all()  # NaN never leaks into neighbours


def test_every_channel_and_sample_is_filtered_alone() -> None:
    x = torch.cat([speckle((1, 2, 48, 48), 4.4, seed=s) for s in (2, 3)])
    f = SpeckleFilter("refined_lee", 7, looks=4.4)
    whole = f(x)
    torch.testing.assert_close(whole[1:, 1:], f(x[1:, 1:]))


def test_db_is_refused_or_converted() -> None:
    db = 10 * torch.log10(speckle((1, 1, 64, 64), 4.4) * 0.02)
    with pytest.raises(RadiometryError, match="looks like dB"):
        SpeckleFilter("lee")(db)
    out = SpeckleFilter("lee", 7, 4.4, db=True)(db)
    linear = SpeckleFilter("lee", 7, 4.4)(10 ** (db / 10))
    torch.testing.assert_close(out, 10 * torch.log10(linear), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "frost"}, "unknown speckle filter"),
        ({"window": 4}, "not an odd size"),
        ({"name": "refined_lee", "window": 5}, "7 x 7 windows"),
        ({"looks": 0.5}, "below 1"),
    ],
)
def test_bad_options_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SpeckleFilter(**kwargs)  # type: ignore[arg-type]


def test_edge_width_of_hand_made_profiles() -> None:
    assert edge_width(torch.tensor([0.0] * 8 + [1.0] * 8)) == pytest.approx(0.8)
    ramp = torch.tensor([0.0] * 8 + [0.25, 0.5, 0.75] + [1.0] * 8)
    assert edge_width(ramp) == pytest.approx(3.2)
    assert edge_width(torch.tensor([5.0] * 8 + [1.0] * 8)) == pytest.approx(0.8)
