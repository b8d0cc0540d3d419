"""Plume segmentation granules: matched-filter enhancement plus radiance features, and a truth mask.

One synthetic granule (:func:`~eoforge.synth.hyperspectral.generate_hyperspectral`)
becomes what the ordinary segmentation stack reads (``data.kind: geo`` with a label
raster):

* ``features.tif``: COG, float32, the bands of :data:`FEATURE_BANDS` named by their
  registry names (sensor ``CH4``): the matched-filter enhancement (ppm·m, through
  :func:`~eoforge.methane.scene.map_methane`, adaptive per column by default) and three
  per-pixel radiance means (µW cm⁻² sr⁻¹ nm⁻¹) over fixed wavelength ranges, so any
  spectrometer's grid gives the same inputs.
* ``plume_mask.tif``: COG, uint8, 1 where the true enhancement is at least
  ``mask_ppm_m``, else 0 (band ``plume``).
* ``enhancement.tif`` (true ppm·m), ``plumes.parquet``, ``hyperspectral.json`` as
  synth writes them; the radiance cube is deleted unless ``keep_radiance`` (it is
  ~20x the size of the rest).
* ``plume_granule.json``: the options, the mask threshold and the matched filter's
  summary.

A folder whose ``plume_granule.json`` records the same options is reused as it is.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rasterio
from rasterio.shutil import copy as rio_copy

from eoforge.errors import ConfigError
from eoforge.methane.cube import open_cube
from eoforge.methane.filter import FilterOptions
from eoforge.methane.scene import map_methane
from eoforge.synth.hyperspectral import HyperspectralOptions, generate_hyperspectral

F32 = npt.NDArray[np.float32]

FEATURE_BANDS = ("CH4.mf", "CH4.swir_2150", "CH4.swir_2335", "CH4.nir_860")
"""Bands of ``features.tif`` in file order (registry sensor ``CH4``)."""

RADIANCE_RANGES_NM: dict[str, tuple[float, float]] = {
    "CH4.swir_2150": (2100.0, 2200.0),
    "CH4.swir_2335": (2290.0, 2380.0),
    "CH4.nir_860": (840.0, 880.0),
}
"""Wavelength range (nm, inclusive) whose channels each radiance feature averages."""

MASK_PPM_M = 500.0
"""Default truth mask threshold: true enhancement at least this, ppm·m."""

MANIFEST = "plume_granule.json"


@dataclass(frozen=True)
class PlumeGranule:
    """The files of one plume segmentation granule.

    Attributes:
        folder: The granule folder.
        features: ``features.tif`` (:data:`FEATURE_BANDS`).
        mask: ``plume_mask.tif`` (uint8 0/1).
        truth: ``enhancement.tif`` (true ppm·m).
        manifest: ``hyperspectral.json`` (the plumes drawn).
        mask_ppm_m: The mask's threshold, ppm·m.
    """

    folder: Path
    features: Path
    mask: Path
    truth: Path
    manifest: Path
    mask_ppm_m: float


def build_plume_granule(
    out: str | Path,
    options: HyperspectralOptions,
    *,
    mask_ppm_m: float = MASK_PPM_M,
    filter_options: FilterOptions | None = None,
    keep_radiance: bool = False,
) -> PlumeGranule:
    """Render a granule and write its plume segmentation inputs and truth mask.

    Args:
        out: Granule folder (created; reused when it holds the same granule).
        options: The synthetic granule (size, seed, plumes, spectrometer).
        mask_ppm_m: Truth mask threshold, ppm·m.
        filter_options: The matched filter's background options (default adaptive).
        keep_radiance: Keep ``radiance.tif`` and the filter's own output folder.

    Returns:
        The granule's files.

    Raises:
        EoforgeError: The spectrometer lacks the CH4 window (see
            :func:`~eoforge.methane.scene.map_methane`).
    """
    folder = Path(out)
    fopts = filter_options or FilterOptions()
    record = {
        "options": asdict(options),
        "mask_ppm_m": mask_ppm_m,
        "filter": asdict(fopts),
        "feature_bands": list(FEATURE_BANDS),
    }
    granule = PlumeGranule(
        folder,
        folder / "features.tif",
        folder / "plume_mask.tif",
        folder / "enhancement.tif",
        folder / "hyperspectral.json",
        mask_ppm_m,
    )
    if _same(folder / MANIFEST, record) and granule.features.is_file() and granule.mask.is_file():
        return granule
    written = generate_hyperspectral(folder, options)
    result = map_methane(written["radiance"], folder / "ch4", filter_options=fopts)
    write_features(written["radiance"], result.enhancement, granule.features)
    with rasterio.open(written["enhancement"]) as src:
        truth = src.read(1)
        profile = src.profile
    mask = (truth >= mask_ppm_m).astype(np.uint8)[None]
    _write_cog(granule.mask, mask, profile, ("plume",))
    record["filter_summary"] = json.loads(result.summary.read_text())
    if not keep_radiance:
        written["radiance"].unlink()
        shutil.rmtree(folder / "ch4")
    (folder / MANIFEST).write_text(json.dumps(record, indent=2))
    return granule


def write_features(cube_path: str | Path, enhancement: str | Path, out: str | Path) -> Path:
    """Write the :data:`FEATURE_BANDS` stack of a cube as a COG (what plume bundles read).

    The whole granule is held in memory (one band per feature plus the channels of one
    radiance range at a time), not streamed through the engine.

    Args:
        cube_path: The radiance cube (wavelength tags, see :mod:`eoforge.methane.cube`).
        enhancement: Its matched-filter enhancement COG (``eoforge methane``), ppm·m.
        out: The stack to write (float32, bands named by :data:`FEATURE_BANDS`).

    Returns:
        ``out``.

    Raises:
        ConfigError: The enhancement is not on the cube's grid, or the cube lacks a range.
    """
    with rasterio.open(enhancement) as src:
        mf = src.read(1).astype(np.float32)
        profile = src.profile
    means = radiance_means(cube_path)
    shape = next(iter(means.values())).shape
    if mf.shape != shape:
        raise ConfigError(
            f"the enhancement is {mf.shape} px but the cube {shape} px.",
            path=Path(enhancement),
            fix="give the enhancement eoforge methane wrote for this cube.",
        )
    path = Path(out)
    _write_cog(path, np.stack([mf, *means.values()]), profile, FEATURE_BANDS)
    return path


def radiance_means(cube_path: str | Path) -> dict[str, F32]:
    """Per-pixel mean radiance over each range of :data:`RADIANCE_RANGES_NM`.

    Args:
        cube_path: A radiance cube with wavelength tags (see :mod:`eoforge.methane.cube`).

    Returns:
        Band name → ``[H, W]`` float32 mean of the channels centred in its range.

    Raises:
        ConfigError: No channel is centred in a range.
    """
    cube = open_cube(cube_path)
    out: dict[str, F32] = {}
    with rasterio.open(cube.path) as src:
        for name, (low, high) in RADIANCE_RANGES_NM.items():
            inside = [i + 1 for i, c in enumerate(cube.centers_nm) if low <= c <= high]
            if not inside:
                raise ConfigError(
                    f"no channel of the cube is centred in {low:g}-{high:g} nm ({name}).",
                    path=cube.path,
                    fix="use a spectrometer covering 840-2,380 nm.",
                )
            out[name] = src.read(inside).astype(np.float32).mean(axis=0)
    return out


def _same(path: Path, record: dict[str, object]) -> bool:
    if not path.is_file():
        return False
    stored = json.loads(path.read_text())
    stored.pop("filter_summary", None)
    return bool(stored == json.loads(json.dumps(record)))


def _write_cog(
    path: Path, values: npt.NDArray[np.generic], profile: dict[str, object], names: tuple[str, ...]
) -> None:
    """``values`` ``[C, H, W]`` as a COG at ``path`` with band descriptions ``names``."""
    tmp = path.with_name(f".{path.name}.tmp.tif")
    partial = path.with_name(f".{path.name}.partial")
    float_data = values.dtype.kind == "f"
    try:
        with rasterio.open(
            tmp,
            "w",
            driver="GTiff",
            dtype=values.dtype.name,
            count=values.shape[0],
            height=values.shape[1],
            width=values.shape[2],
            crs=profile["crs"],
            transform=profile["transform"],
            nodata=float("nan") if float_data else None,
            tiled=True,
            blockxsize=256,
            blockysize=256,
        ) as dst:
            dst.write(values)
            for i, name in enumerate(names, start=1):
                dst.set_band_description(i, name)
        rio_copy(
            str(tmp),
            str(partial),
            driver="COG",
            COMPRESS="DEFLATE",
            PREDICTOR="YES" if float_data else "NO",
            BLOCKSIZE=256,
            NUM_THREADS="1",
        )
        partial.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
        partial.unlink(missing_ok=True)
