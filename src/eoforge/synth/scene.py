"""Generate a whole synthetic scene: rasters, labels, vectors, legend and STAC."""

from __future__ import annotations

import dataclasses
import functools
import json
import time
from collections.abc import Callable
from pathlib import Path

import rasterio

from eoforge.errors import ConfigError
from eoforge.synth import classes
from eoforge.synth.context import SceneContext, make_context
from eoforge.synth.extras import write_extras
from eoforge.synth.manifest import SceneManifest, WrittenFile
from eoforge.synth.options import SynthOptions, parse_sensors
from eoforge.synth.outputs import output_sets
from eoforge.synth.passes import render_rasters
from eoforge.synth.stac import write_catalog
from eoforge.synth.writers import write_bytes_atomic

GDAL_CACHE_MB = 256
LEGEND_FILE = WrittenFile(
    "legend.json",
    "json",
    "",
    "labels",
    "legend",
    media_type="application/json",
    roles=("metadata",),
)

#: ``progress(stage, done, total)``: base-grid pixels for "rasters", files for "cogs",
#: steps for "objects" and "stac".
Progress = Callable[[str, int, int], None]


def _noop(stage: str, done: int, total: int) -> None:
    del stage, done, total


def generate_scene(
    out: str | Path,
    *,
    size: int = 2048,
    seed: int = 0,
    sensors: str | tuple[str, ...] | list[str] = "s2,s1,l8,dsm,vhr",
    dates: int = 6,
    clouds: float = 0.2,
    crs: str = "EPSG:32631",
    gsd: float = 10.0,
    progress: Progress | None = None,
    **extra: object,
) -> SceneManifest:
    """Generate a labelled multi-sensor scene into a folder.

    Args:
        out: Output folder (created; files already there with the same names are replaced).
        size: Width and height in base pixels.
        seed: Seed; the same seed and options give byte-identical rasters.
        sensors: Products among ``s2, s1, l8, dsm, vhr`` (comma-separated or a sequence).
        dates: Number of acquisitions in the series.
        clouds: Mean cloud cover of optical acquisitions, 0-0.9.
        crs: Projected CRS in metres.
        gsd: Base pixel size in metres.
        progress: Optional callback ``(stage, done, total)``.
        **extra: Further :class:`~eoforge.synth.options.SynthOptions` fields
            (``center``, ``s2_offset``, ``s2_native``, ``looks``, ``vectors``, ``block``).

    Returns:
        The :class:`~eoforge.synth.manifest.SceneManifest` of every file written.

    Raises:
        ConfigError: When an option is invalid.
    """
    known = {f.name for f in dataclasses.fields(SynthOptions)}
    unknown = sorted(set(extra) - known)
    if unknown:
        raise ConfigError(
            f"unknown option(s) {', '.join(unknown)}.", fix=f"use among {', '.join(sorted(known))}."
        )
    options = SynthOptions(
        size=size,
        seed=seed,
        sensors=parse_sensors(sensors),
        dates=dates,
        clouds=clouds,
        crs=crs,
        gsd=gsd,
        **extra,  # type: ignore[arg-type]
    ).validate()
    return generate(options, Path(out), progress or _noop)


def generate(options: SynthOptions, root: Path, progress: Progress) -> SceneManifest:
    """Generate a scene from validated options (see :func:`generate_scene`)."""
    started = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    ctx = make_context(options, root)
    manifest = SceneManifest(root=root, geobox=ctx.geobox, dates=ctx.dates, options=_plain(options))
    # A bounded GDAL block cache keeps memory independent of the scene size.
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB, GDAL_TIFF_INTERNAL_MASK=True):
        tick = _ticker("rasters", ctx, progress)
        cogs = functools.partial(progress, "cogs")
        manifest.files += render_rasters(ctx, output_sets(ctx), tick, cogs)
        manifest.files += write_extras(ctx, progress)
    write_bytes_atomic(
        root / "legend.json", json.dumps(classes.legend_document(), indent=2).encode()
    )
    manifest.files.append(LEGEND_FILE)
    progress("stac", 0, 1)
    title = f"eoforge synthetic scene (seed {options.seed})"
    manifest.stac = write_catalog(root, manifest.files, ctx.geobox, ctx.dates, title)
    progress("stac", 1, 1)
    manifest.seconds = time.perf_counter() - started
    return manifest


def _ticker(name: str, ctx: SceneContext, progress: Progress) -> Callable[[int], None]:
    """A callback adding base-grid pixels done to a stage's progress."""
    height, width = ctx.geobox.shape
    total = height * width
    done = [0]
    progress(name, 0, total)

    def tick(units: int) -> None:
        done[0] += units
        progress(name, done[0], total)

    return tick


def _plain(options: SynthOptions) -> dict[str, object]:
    return {
        k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(options).items()
    }
