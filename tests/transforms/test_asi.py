"""The Awesome Spectral Indices catalogue by band name: eoforge's former indices unchanged,
bands found by alias or wavelength on several sensors, SAR ratios, wavelength parameters,
and every catalogue index either computed or refused with a message."""

from __future__ import annotations

import pytest
import torch

from eoforge.errors import ConfigError
from eoforge.transforms.asi import _compiled, catalogue, index_plan, resolve_letter

S2 = ["S2.B01", "S2.B02", "S2.B03", "S2.B04", "S2.B05", "S2.B06", "S2.B07", "S2.B08"]
S2 += ["S2.B8A", "S2.B09", "S2.B11", "S2.B12"]


def _image(bands: list[str], seed: int = 0) -> torch.Tensor:
    torch.manual_seed(seed)
    return 0.02 + 0.5 * torch.rand(len(bands), 3, 4)


def test_the_former_eoforge_indices_keep_their_formulas() -> None:
    x = _image(S2)
    b, g, r, n = x[1], x[2], x[3], x[7]
    s1, s2 = x[10], x[11]
    expected = {
        "NDVI": (n - r) / (n + r),
        "NDWI": (g - n) / (g + n),
        "MNDWI": (g - s1) / (g + s1),
        "NDBI": (s1 - n) / (s1 + n),
        "NBR": (n - s2) / (n + s2),
        "NDMI": (n - s1) / (n + s1),
        "NDSI": (g - s1) / (g + s1),
        "SAVI": 1.5 * (n - r) / (n + r + 0.5),  # Huete 1988's L = 0.5
        "EVI": 2.5 * (n - r) / (n + 6 * r - 7.5 * b + 1),
    }
    for name, value in expected.items():
        torch.testing.assert_close(index_plan(name, S2).compute(x), value, msg=name)


def test_bands_are_found_by_alias_then_wavelength_on_any_sensor() -> None:
    assert S2[resolve_letter("N", S2)] == "S2.B08"  # alias nir, not B8A or B07 in range
    assert S2[resolve_letter("N2", S2)] == "S2.B8A"  # nir08
    assert S2[resolve_letter("RE1", S2)] == "S2.B05"  # 704 nm in 695-715 nm
    assert S2[resolve_letter("RE3", S2)] == "S2.B07"
    landsat = ["L8.B4", "L8.B5", "L8.B6", "L8.B7"]
    x = _image(landsat)
    torch.testing.assert_close(index_plan("nbr", landsat).compute(x), (x[1] - x[3]) / (x[1] + x[3]))
    assert resolve_letter("RE1", landsat) is None
    with pytest.raises(ConfigError, match=r"needs band RE1 \(rededge071, 695-715 nm\)"):
        index_plan("NDREI", landsat)


def test_sar_ratios_by_polarisation() -> None:
    x = _image(["S1.VV", "S1.VH"])
    torch.testing.assert_close(index_plan("VHVVR", ["S1.VV", "S1.VH"]).compute(x), x[1] / x[0])
    with pytest.raises(ConfigError, match="the HH polarisation"):
        index_plan("RFDI", ["S1.VV", "S1.VH"])


def test_zero_denominators_are_zero_and_nan_stays_nan() -> None:
    x = torch.zeros(12, 2, 2)
    x[:, 1, 1] = float("nan")
    out = index_plan("NDVI", S2).compute(x)
    assert out[0, 0] == 0 and torch.isnan(out[1, 1])


def test_wavelength_parameters_take_the_resolved_bands_centres() -> None:
    users = [k for k, i in catalogue().items() if any(b.startswith("lambda") for b in i.bands)]
    assert users
    plan = next(
        p for p in (index_plan(k, S2) for k in users if _plannable(k)) if "lambdaN" in p.constants
    )
    assert plan.constants["lambdaN"] == pytest.approx(832.8)  # S2.B08's centre, nm


def _plannable(name: str) -> bool:
    try:
        index_plan(name, S2)
    except ConfigError:
        return False
    return True


def test_every_catalogue_index_is_computed_or_refused_with_a_message() -> None:
    bands = [*S2, "L8.B10", "S1.VV", "S1.VH"]
    x = _image(bands)
    computed, refused = 0, []
    for name in catalogue():
        try:
            plan = index_plan(name, bands)
        except ConfigError as error:
            refused.append(f"{name}: {error}")
            continue
        out = plan.compute(x)
        assert out.shape == (3, 4) and out.dtype == torch.float32, name
        computed += 1
    assert computed >= 250, refused
    assert all(("kernel" in r) or ("needs" in r) for r in refused), refused


def test_unknown_names_and_non_arithmetic_formulas_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"unknown spectral index 'NDV' \(close: NDVI"):
        index_plan("NDV", S2)
    with pytest.raises(ConfigError, match="not plain arithmetic"):
        _compiled("__import__('os').getcwd()")
