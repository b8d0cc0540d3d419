"""Super-resolution pairs from a synthetic scene: the fine raster and its degraded views.

:func:`write_sr_pair` reads the Sentinel-2-like bands of a scene rendered at a
fine GSD (``generate_scene(out, gsd=2.5, sensors=("s2",))``), crops it to a
multiple of the scale, and writes

* ``hr.tif``: the target, float32 reflectance ``[C, H, W]`` on the scene grid;
* ``lr.tif`` (or ``lr_<n>.tif`` for several revisits): the view of
  :func:`~eoforge.synth.degrade.degrade`, float32 reflectance on a grid of
  the same CRS and origin whose pixels are ``scale`` times larger;
* ``lr_clear.tif`` (``lr_<n>_clear.tif``): uint8, 1 where the view is cloud-free;
* ``sensor.json``: the sensor model and each view's shift.

Band descriptions carry the canonical band names, so eoforge reads the bands
by name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rasterio
from affine import Affine

from eoforge.errors import ConfigError, MissingFileError
from eoforge.sensors import get_band
from eoforge.synth.degrade import SensorModel, degrade

DEFAULT_BANDS = ("S2.B02", "S2.B03", "S2.B04", "S2.B08")
"""Blue, green, red and near infrared."""


@dataclass(frozen=True)
class SRPairFiles:
    """The files of one pair.

    Attributes:
        hr: The target GeoTIFF.
        lr: The low-resolution views, one per revisit.
        clear: Their clear masks.
    """

    hr: Path
    lr: tuple[Path, ...]
    clear: tuple[Path, ...]


def read_scene_bands(
    scene: Path, bands: tuple[str, ...] = DEFAULT_BANDS
) -> tuple[npt.NDArray[np.float32], Affine, str]:
    """A synthetic scene's first Sentinel-2 date as reflectance ``[C, H, W]``, transform, CRS.

    Raises:
        MissingFileError: The scene has no Sentinel-2 date or lacks a band.
    """
    dates = sorted(p for p in (scene / "s2").glob("*") if p.is_dir())
    if not dates:
        raise MissingFileError(
            "the folder holds no Sentinel-2 date (s2/<date>/).",
            path=scene,
            fix="generate the scene with sensors s2 (eoforge synth --sensors s2).",
        )
    arrays = []
    transform, crs = Affine.identity(), ""
    for band in bands:
        name = get_band(band).name
        path = dates[0] / f"{name}.tif"
        if not path.is_file():
            raise MissingFileError(
                f"band {name} is missing.", path=path, fix="generate the scene with s2_native off."
            )
        with rasterio.open(path) as src:
            scale = src.scales[0] or 1.0
            arrays.append(src.read(1).astype(np.float32) * np.float32(scale))
            transform, crs = src.transform, str(src.crs)
    return np.stack(arrays), transform, crs


def write_sr_pair(
    scene: Path,
    out: Path,
    model: SensorModel,
    *,
    bands: tuple[str, ...] = DEFAULT_BANDS,
    revisits: int = 1,
    seed: int = 0,
) -> SRPairFiles:
    """Write a scene's fine bands and ``revisits`` degraded views of them (see the module doc).

    Args:
        scene: A synthetic scene folder rendered at the fine GSD.
        out: Folder to write into (created).
        model: The sensor model (its ``scale`` sets the coarse grid).
        bands: Band names to take, in channel order.
        revisits: Number of views (each with its own shift, clouds and noise).
        seed: Seed of the first view; view ``n`` uses ``seed + n``.

    Returns:
        The paths written.

    Raises:
        ConfigError: The scene is smaller than one coarse pixel.
    """
    hr, transform, crs = read_scene_bands(scene, bands)
    s = model.scale
    h, w = (hr.shape[1] // s) * s, (hr.shape[2] // s) * s
    if h == 0 or w == 0:
        raise ConfigError(
            f"a {hr.shape[1]}x{hr.shape[2]} scene is smaller than one x{s} pixel.",
            path=scene,
            fix="render a larger scene.",
        )
    hr = hr[:, :h, :w]
    out.mkdir(parents=True, exist_ok=True)
    names = [get_band(b).name for b in bands]
    hr_path = _write(out / "hr.tif", hr, transform, crs, names)
    lr_transform = transform @ Affine.scale(s)
    lrs, clears, shifts = [], [], []
    for n in range(revisits):
        view = degrade(hr, model, seed + n)
        stem = "lr" if revisits == 1 else f"lr_{n}"
        lrs.append(_write(out / f"{stem}.tif", view.image, lr_transform, crs, names))
        clear = view.clear.astype(np.uint8)[None]
        clears.append(_write(out / f"{stem}_clear.tif", clear, lr_transform, crs, ["clear"]))
        shifts.append(list(view.shift))
    meta = {"sensor": model.describe(), "shifts_hr_px": shifts, "bands": names, "seed": seed}
    (out / "sensor.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return SRPairFiles(hr_path, tuple(lrs), tuple(clears))


def _write(
    path: Path, data: npt.NDArray[np.generic], transform: Affine, crs: str, names: list[str]
) -> Path:
    profile = {
        "driver": "GTiff",
        "height": data.shape[1],
        "width": data.shape[2],
        "count": data.shape[0],
        "dtype": data.dtype.name,
        "crs": crs,
        "transform": transform,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
    }
    if data.shape[1] < 256 or data.shape[2] < 256:
        profile.update(tiled=False)
        del profile["blockxsize"], profile["blockysize"]
    staging = path.with_name(f".{path.name}.tmp")
    with rasterio.open(staging, "w", **profile) as dst:
        dst.write(data)
        for i, name in enumerate(names, start=1):
            dst.set_band_description(i, name)
    staging.replace(path)
    return path
