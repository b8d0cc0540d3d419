"""Generate a whole synthetic scene: rasters, labels, vectors, VHR chips, legend and STAC.

The orchestrator: it sets the scene up (:mod:`~eoforge.synth.scene_setup`),
streams every raster (:mod:`~eoforge.synth.raster_stream`), places the
objects and writes the vector labels and VHR chips (and the vessel labels
when vessels are asked for), then the legend and the STAC collection
(:mod:`~eoforge.synth.write`).
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Unpack

import rasterio

from eoforge.io.gdal_env import MIB
from eoforge.synth.raster_stream import render_rasters
from eoforge.synth.scene_options import SynthFields, SynthOptions
from eoforge.synth.scene_rasters import raster_groups
from eoforge.synth.scene_setup import SceneSetup, set_up_scene
from eoforge.synth.world.objects import all_objects
from eoforge.synth.write.legend_json import write_legend
from eoforge.synth.write.manifest import SceneManifest, WrittenFile
from eoforge.synth.write.stac import write_catalog
from eoforge.synth.write.vectors import write_vector_labels
from eoforge.synth.write.vessel_labels import write_vessel_labels
from eoforge.synth.write.vhr_chips import write_vhr_sites

GDAL_CACHE_MB = 256

#: ``progress(stage, done, total)``: base-grid pixels for "rasters", files for "cogs",
#: steps for "objects" and "stac".
Progress = Callable[[str, int, int], None]


def _noop(stage: str, done: int, total: int) -> None:
    del stage, done, total


def generate_scene(
    out: str | Path,
    options: SynthOptions | None = None,
    *,
    progress: Progress | None = None,
    **fields: Unpack[SynthFields],
) -> SceneManifest:
    """Generate a labelled multi-sensor scene into a folder.

    ``generate_scene(out, SynthOptions(size=512))`` and
    ``generate_scene(out, size=512)`` are the same call.

    Args:
        out: Output folder (created; files already there with the same names are replaced).
        options: What to generate; None takes the defaults of :class:`SynthOptions`.
        progress: Optional callback ``(stage, done, total)``.
        **fields: Fields of :class:`SynthOptions` to change on top of ``options``
            (``size``, ``seed``, ``sensors``, ``dates``, ``clouds``, ``crs``, ``gsd``,
            ``center``, ``s2_offset``, ``s2_native``, ``looks``, ``vectors``, ``block``,
            ``vessels``, ``wakes``);
            ``sensors`` may be comma-separated, e.g. ``"s2,s1"``.

    Returns:
        The :class:`~eoforge.synth.write.manifest.SceneManifest` of every file written.

    Raises:
        ConfigError: When an option is invalid or unknown (nothing is written then).
    """
    chosen = (options or SynthOptions()).replace(**fields).validate()
    return generate(chosen, Path(out), progress or _noop)


def generate(options: SynthOptions, root: Path, progress: Progress) -> SceneManifest:
    """Generate a scene from validated options (see :func:`generate_scene`).

    Args:
        options: Validated options.
        root: Output folder.
        progress: Callback ``(stage, done, total)``.

    Returns:
        The manifest of every file written.
    """
    started = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    setup = set_up_scene(options, root)
    manifest = SceneManifest(
        root=root, geobox=setup.geobox, dates=setup.dates, options=_plain(options)
    )
    # A bounded GDAL block cache keeps memory independent of the scene size (an integer
    # given to rasterio.Env counts bytes, so the MB are converted)
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB * MIB, GDAL_TIFF_INTERNAL_MASK=True):
        tick = _ticker("rasters", setup, progress)
        cogs = functools.partial(progress, "cogs")
        manifest.files += render_rasters(setup, raster_groups(setup), tick, cogs)
        manifest.files += _write_objects(setup, progress)
        if options.vessels:
            manifest.files += write_vessel_labels(root, setup.geobox, setup.dates, setup.vessels)
    manifest.files.append(write_legend(root))
    progress("stac", 0, 1)
    title = f"eoforge synthetic scene (seed {options.seed})"
    manifest.stac = write_catalog(root, manifest.files, setup.geobox, setup.dates, title)
    progress("stac", 1, 1)
    manifest.seconds = time.perf_counter() - started
    return manifest


def _write_objects(setup: SceneSetup, progress: Progress) -> list[WrittenFile]:
    """Place the objects; write the vector labels and VHR chips the options ask for."""
    want_vhr = "vhr" in setup.options.sensors
    if not (setup.options.vectors or want_vhr):
        return []
    progress("objects", 0, 1)
    objects = all_objects(setup.layout, len(setup.dates))
    out: list[WrittenFile] = []
    if setup.options.vectors:
        out += write_vector_labels(setup.root, setup.layout, setup.geobox, setup.dates, objects)
    if want_vhr:
        out += write_vhr_sites(
            setup.root, setup.layout, setup.geobox, setup.dates, setup.s2[0], objects
        )
    progress("objects", 1, 1)
    return out


def _ticker(name: str, setup: SceneSetup, progress: Progress) -> Callable[[int], None]:
    """A callback adding base-grid pixels done to a stage's progress."""
    height, width = setup.geobox.shape
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
