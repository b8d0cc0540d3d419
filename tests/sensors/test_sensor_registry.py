"""Band registry: canonical names, aliases, wavelengths and default radiometry."""

from __future__ import annotations

import numpy as np
import pytest

from eoforge.errors import BandNotFoundError, ConfigError
from eoforge.sensors import (
    band_for_wavelength,
    default_radiometry,
    get_band,
    get_sensor,
    list_sensors,
    resolve_bands,
)


def test_every_required_sensor_is_registered() -> None:
    required = {"S2", "L8", "L9", "L7", "L5", "L4", "S1", "NAIP", "PS4", "PS8", "WV2", "WV3"}
    required |= {"RGB", "DEM", "ENMAP", "EMIT", "PRISMA"}
    assert required <= set(list_sensors())


@pytest.mark.parametrize(
    ("sensor", "expected"),
    [("S2", "S2.B04"), ("L8", "L8.B4"), ("L9", "L9.B4"), ("L7", "L7.B3"), ("L5", "L5.B3")],
)
def test_red_alias_resolves_per_sensor(sensor: str, expected: str) -> None:
    assert get_band("red", sensor=sensor).name == expected
    assert get_band(f"{sensor}.red").name == expected
    assert get_band(f"{sensor.lower()}.RED").name == expected


def test_lookup_forms_agree() -> None:
    band = get_band("S2.B04")
    assert get_band("B04", sensor="S2") is band
    assert get_band("b04", sensor="s2") is band
    assert get_band("S2.red") is band
    assert band.center_wavelength_nm == pytest.approx(664.6)
    assert band.bandwidth_nm == pytest.approx(31)
    assert band.gsd_m == 10
    assert get_band("B8A").name == "S2.B8A"  # unique across sensors
    assert get_band("swir16", sensor="L8").name == "L8.B6"
    assert get_band("nir", sensor="S2").name == "S2.B08"
    assert get_band("L7.B6").name == "L7.B6_VCID_1"


def test_resolve_bands_keeps_order() -> None:
    bands = resolve_bands(["nir", "red", "S2.green", "B02"], sensor="S2")
    assert [b.name for b in bands] == ["S2.B08", "S2.B04", "S2.B03", "S2.B02"]


def test_unknown_band_lists_alternatives() -> None:
    with pytest.raises(BandNotFoundError) as info:
        get_band("B13", sensor="S2")
    message = str(info.value)
    assert "B13" in message and "S2.B8A" in message and "S2.B12" in message
    assert "rededge1" in message


def test_ambiguous_bare_alias_lists_candidates() -> None:
    with pytest.raises(BandNotFoundError) as info:
        get_band("red")
    message = str(info.value)
    assert "S2.B04" in message and "L8.B4" in message and "L5.B3" in message


def test_prefix_and_sensor_must_agree() -> None:
    with pytest.raises(BandNotFoundError, match="belongs to sensor L8"):
        get_band("L8.B4", sensor="S2")


def test_unknown_sensor_lists_sensors() -> None:
    with pytest.raises(BandNotFoundError, match=r"unknown sensor .MODIS.*S2, .*WV3"):
        get_sensor("MODIS")


def test_sentinel2_levels() -> None:
    s2 = get_sensor("S2")
    l1c = [b.id for b in s2.bands_at("L1C")]
    l2a = [b.id for b in s2.bands_at("L2A")]
    assert len(l1c) == 13 and l1c[8] == "B8A"
    assert len(l2a) == 12 and "B10" not in l2a
    assert s2.level("l2a").dtype == "uint16"


def test_band_tables_match_published_values() -> None:
    assert get_band("L8.B10").gsd_m == 30
    assert get_band("L8.B8").gsd_m == 15
    assert get_band("L8.B5").wavelength_range_nm == (850.0, 880.0)
    assert get_band("S2.B11").center_wavelength_nm == pytest.approx(1613.7)
    assert [b.id for b in get_sensor("PS8").bands] == [
        "coastal_blue", "blue", "green_i", "green", "yellow", "red", "rededge", "nir",
    ]  # fmt: skip
    wv3 = get_sensor("WV3")
    assert len(wv3.bands) == 17 and wv3.band("swir8").center_wavelength_nm == 2330
    assert len(get_sensor("WV2").bands) == 9
    assert [b.id for b in get_sensor("DEM").bands] == ["dsm", "dtm", "ndsm"]


def test_hyperspectral_grids_are_monotonic_and_span_the_range() -> None:
    for name, count, first, last in [
        ("ENMAP", 224, 418.2, 2445.5),
        ("EMIT", 285, 381.0, 2493.0),
        ("PRISMA", 239, 402.0, 2505.0),
    ]:
        bands = get_sensor(name).bands
        centres = np.array([b.center_wavelength_nm for b in bands], dtype=float)
        assert len(bands) == count
        assert centres[0] == pytest.approx(first) and centres[-1] == pytest.approx(last)
        assert bands[0].name == f"{name}.B001"
    emit = np.array([b.center_wavelength_nm for b in get_sensor("EMIT").bands], dtype=float)
    assert np.all(np.diff(emit) > 0)


def test_band_for_wavelength() -> None:
    assert band_for_wavelength("S2", 665).name == "S2.B04"
    assert band_for_wavelength("S2", 860).name == "S2.B8A"  # inside B08 and B8A, B8A closer
    assert band_for_wavelength("L8", 11000).name == "L8.B10"
    assert band_for_wavelength("EMIT", 381.0).name == "EMIT.B001"
    with pytest.raises(BandNotFoundError, match="no S2 band covers 1000 nm"):
        band_for_wavelength("S2", 1000)
    assert band_for_wavelength("S2", 1000, nearest=True).name == "S2.B09"


def test_default_radiometry_by_level() -> None:
    sr = default_radiometry("L8.B4", "L2SR")
    assert (sr.scale, sr.offset, sr.unit) == (2.75e-5, -0.2, "reflectance")
    st = default_radiometry("L8.B10", "L2ST")
    assert (st.scale, st.offset, st.unit) == (0.00341802, 149.0, "K")
    assert default_radiometry("L7.B6", "L2ST").offset == 149.0
    assert float(st.apply(np.array([44000], dtype=np.uint16))[0]) == pytest.approx(299.39, abs=0.01)
    old = default_radiometry("S2.B04", "L2A")
    new = default_radiometry("S2.B04", "L2A_N0400")
    dn = np.array([1000, 3000], dtype=np.uint16)
    np.testing.assert_allclose(old.apply(dn), [0.1, 0.3], atol=1e-7)
    np.testing.assert_allclose(new.apply(dn), [0.0, 0.2], atol=1e-7)
    vv = default_radiometry("S1.VV", "DB")
    assert vv.unit == "dB" and get_sensor("S1").radiometry("VV", "LINEAR").unit == "linear"
    assert default_radiometry("DEM.ndsm", "ELEVATION").unit == "m"
    toa = default_radiometry("L8.B10", "L1")
    assert (toa.k1, toa.k2) == (774.8853, 1321.0789)


def test_default_radiometry_errors() -> None:
    with pytest.raises(BandNotFoundError, match="not part of S2 level L2A"):
        default_radiometry("S2.B10", "L2A")
    with pytest.raises(ConfigError, match="L1C, L1C_N0400, L2A, L2A_N0400"):
        default_radiometry("S2.B04", "L3")


def test_sar_inputs_beyond_sentinel1_backscatter_are_known() -> None:
    # InSAR coherence (M3LEO) and L-band PALSAR-2 backscatter, by name and alias
    assert get_band("S1COH.coherence_vv").name == "S1COH.coh_vv"
    assert default_radiometry("S1COH.coh_vh", "COHERENCE").unit == "coherence"
    hh, hv = get_band("ALOS2.HH"), get_band("ALOS2.HV")
    assert hh.center_wavelength_nm == pytest.approx(299792458e9 / 1.2575e9, rel=1e-6)  # L band
    assert "crosspol_h" in hv.aliases
    assert default_radiometry("ALOS2.HV", "DB").unit == "dB"
