"""Typical surface reflectance spectra, C-band backscatter and temperatures per material.

Reflectances are given at the Sentinel-2 band centres
(:data:`SPECTRAL_CENTERS`, micrometres) and interpolated in wavelength for other
sensors. The values are rounded band-averages of typical spectra from the
sources listed in ``docs/synth.md`` (USGS splib07, ECOSTRESS, Sentinel-2 crop
and urban studies); they are representative, not measurements of one sample.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from eoforge.synth.world import legend

F32 = npt.NDArray[np.float32]

#: Wavelengths (micrometres) of the columns of :data:`REFLECTANCE`: S2 B01..B12 without B10.
SPECTRAL_CENTERS = np.array(
    [0.443, 0.492, 0.560, 0.665, 0.704, 0.740, 0.783, 0.833, 0.865, 0.945, 1.614, 2.202]
)

#: End-member reflectance spectra (unitless, 0-1) at :data:`SPECTRAL_CENTERS`.
REFLECTANCE: dict[str, tuple[float, ...]] = {
    "water": (0.055, 0.050, 0.045, 0.030, 0.020, 0.012, 0.010, 0.008, 0.007, 0.005, 0.004, 0.003),
    "turbid_water": (
        0.070,
        0.075,
        0.090,
        0.080,
        0.060,
        0.035,
        0.030,
        0.025,
        0.022,
        0.015,
        0.010,
        0.008,
    ),
    "forest_leaf_on": (
        0.020,
        0.025,
        0.045,
        0.025,
        0.075,
        0.210,
        0.270,
        0.300,
        0.310,
        0.300,
        0.150,
        0.070,
    ),
    "forest_leaf_off": (
        0.040,
        0.045,
        0.060,
        0.060,
        0.090,
        0.130,
        0.150,
        0.160,
        0.165,
        0.160,
        0.180,
        0.110,
    ),
    "grass_green": (
        0.030,
        0.035,
        0.075,
        0.045,
        0.110,
        0.250,
        0.300,
        0.330,
        0.340,
        0.330,
        0.220,
        0.120,
    ),
    "grass_dry": (
        0.060,
        0.070,
        0.100,
        0.120,
        0.150,
        0.190,
        0.210,
        0.230,
        0.240,
        0.240,
        0.320,
        0.230,
    ),
    "crop_green": (
        0.025,
        0.030,
        0.070,
        0.030,
        0.100,
        0.290,
        0.390,
        0.430,
        0.445,
        0.430,
        0.230,
        0.110,
    ),
    "crop_senescent": (
        0.060,
        0.070,
        0.100,
        0.130,
        0.170,
        0.210,
        0.230,
        0.250,
        0.260,
        0.260,
        0.340,
        0.260,
    ),
    "soil": (0.090, 0.110, 0.150, 0.190, 0.210, 0.230, 0.245, 0.260, 0.270, 0.275, 0.330, 0.280),
    "wetland": (0.030, 0.035, 0.055, 0.040, 0.075, 0.150, 0.180, 0.190, 0.195, 0.180, 0.110, 0.055),
    "urban_mix": (
        0.120,
        0.125,
        0.135,
        0.140,
        0.150,
        0.160,
        0.170,
        0.180,
        0.185,
        0.185,
        0.210,
        0.190,
    ),
    "roof_concrete": (
        0.180,
        0.200,
        0.220,
        0.230,
        0.240,
        0.250,
        0.260,
        0.270,
        0.270,
        0.270,
        0.300,
        0.270,
    ),
    "roof_tile": (
        0.080,
        0.080,
        0.100,
        0.220,
        0.280,
        0.310,
        0.330,
        0.350,
        0.350,
        0.350,
        0.420,
        0.360,
    ),
    "asphalt": (0.065, 0.070, 0.075, 0.080, 0.085, 0.090, 0.095, 0.100, 0.100, 0.100, 0.115, 0.110),
    "concrete": (
        0.200,
        0.220,
        0.240,
        0.250,
        0.260,
        0.270,
        0.280,
        0.290,
        0.290,
        0.290,
        0.320,
        0.290,
    ),
    "quay": (0.160, 0.170, 0.180, 0.190, 0.200, 0.200, 0.210, 0.220, 0.220, 0.220, 0.250, 0.230),
    "cloud": (0.760, 0.800, 0.780, 0.760, 0.750, 0.740, 0.730, 0.720, 0.710, 0.650, 0.450, 0.300),
}

#: Material of each land-cover class (seasons are mixed in by
#: :mod:`eoforge.synth.render.reflectance`).
CLASS_MATERIAL: dict[int, str] = {
    legend.NODATA: "soil",
    legend.WATER: "water",
    legend.FOREST: "forest_leaf_on",
    legend.GRASSLAND: "grass_green",
    legend.CROPLAND: "soil",
    legend.BARE_SOIL: "soil",
    legend.WETLAND: "wetland",
    legend.URBAN: "urban_mix",
    legend.BUILDING: "roof_concrete",
    legend.ROAD: "asphalt",
    legend.AIRFIELD: "concrete",
    legend.HARBOUR: "quay",
}

#: Sentinel-1 C-band sigma0 (dB) per class: (VV, VH) for bare/leaf-off state.
BACKSCATTER_DB: dict[int, tuple[float, float]] = {
    legend.NODATA: (-15.0, -22.0),
    legend.WATER: (-22.0, -28.0),
    legend.FOREST: (-7.5, -13.0),
    legend.GRASSLAND: (-10.5, -17.5),
    legend.CROPLAND: (-11.5, -20.0),
    legend.BARE_SOIL: (-11.0, -19.5),
    legend.WETLAND: (-9.0, -16.0),
    legend.URBAN: (-4.0, -11.5),
    legend.BUILDING: (1.5, -8.0),
    legend.ROAD: (-15.0, -23.0),
    legend.AIRFIELD: (-17.0, -25.0),
    legend.HARBOUR: (-6.0, -14.0),
}

#: Crop backscatter at full green cover (dB): volume scattering raises VH most.
CROP_PEAK_DB = (-8.5, -14.0)

#: Surface temperature offset from air temperature (K) and emissivity, per class.
THERMAL: dict[int, tuple[float, float]] = {
    legend.NODATA: (0.0, 0.96),
    legend.WATER: (-2.0, 0.99),
    legend.FOREST: (-3.0, 0.98),
    legend.GRASSLAND: (1.0, 0.98),
    legend.CROPLAND: (4.0, 0.97),
    legend.BARE_SOIL: (7.0, 0.95),
    legend.WETLAND: (-2.0, 0.985),
    legend.URBAN: (6.0, 0.94),
    legend.BUILDING: (5.0, 0.93),
    legend.ROAD: (8.0, 0.95),
    legend.AIRFIELD: (7.0, 0.94),
    legend.HARBOUR: (5.0, 0.94),
}


def spectrum(material: str, centers: npt.NDArray[np.float64]) -> F32:
    """A material's reflectance interpolated at band centres.

    Args:
        material: Key of :data:`REFLECTANCE`.
        centers: Band centre wavelengths in micrometres, shape (B,).

    Returns:
        float32 reflectances, shape (B,).
    """
    values = np.asarray(REFLECTANCE[material], dtype=np.float64)
    return np.interp(centers, SPECTRAL_CENTERS, values).astype(np.float32)


def class_table(centers: npt.NDArray[np.float64]) -> F32:
    """Reflectance of every land-cover class's base material.

    Args:
        centers: Band centres in micrometres, shape (B,).

    Returns:
        float32 array of shape (256, B), indexed by class value.
    """
    table = np.zeros((256, centers.size), dtype=np.float32)
    for value, material in CLASS_MATERIAL.items():
        table[value] = spectrum(material, centers)
    return table
