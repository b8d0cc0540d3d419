"""Every raster of a scene in one streamed walk over base-grid blocks.

Per block and date the ground is evaluated once on the base grid; labels,
10 m Sentinel-2, its cloud mask, Sentinel-1 and the DEM use it directly, and
the 20 m / 60 m Sentinel-2 bands and Landsat at 30 m average its sub-pixel
samples (2 x 2, 6 x 6 and 3 x 3 per pixel). Each block is written to every
output as soon as it is rendered, so memory depends on the block size only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from eoforge.synth.render import bands as B
from eoforge.synth.render import optical, sar
from eoforge.synth.render.acquisition import Acquisition
from eoforge.synth.render.optical import cloud_codes, halo_for
from eoforge.synth.render.sensor_noise import tiled_draw
from eoforge.synth.render.vessels import vessel_sigma0
from eoforge.synth.render.wakes import wake_factor
from eoforge.synth.scene_rasters import s2_bands
from eoforge.synth.scene_setup import SceneSetup
from eoforge.synth.world import legend
from eoforge.synth.world.events import change_codes
from eoforge.synth.world.sampling import Samples, Window, sample
from eoforge.synth.write.cogs import TILE, BlockWriter, windows
from eoforge.synth.write.manifest import WrittenFile
from eoforge.synth.write.raster_files import RasterGroup, as_uint16

U8 = npt.NDArray[np.uint8]


def _write_optical(
    setup: SceneSetup,
    writer: BlockWriter,
    window: Window,
    samples: Samples,
    t: int,
    sensor: str,
    band_specs: tuple[B.BandSpec, ...],
    acq: Acquisition,
) -> optical.OpticalBlock:
    centers = np.array([b.center for b in band_specs], dtype=np.float64)
    thermal = sensor == "l8"
    block = optical.render(samples, centers, acq, thermal=thermal)
    for i, band in enumerate(band_specs):
        refl = block.reflectance[i]
        noise = tiled_draw(
            setup.options.seed, f"{sensor}.noise.{band.name}", t, window.bounds, TILE
        )
        noisy = refl + (0.002 + 0.01 * refl) * noise
        spec = writer.specs[f"{sensor}/{t}/{band.name}"]
        writer.write(f"{sensor}/{t}/{band.name}", window, as_uint16(noisy, spec.scale, spec.offset))
    if thermal and block.temperature is not None:
        noise = tiled_draw(setup.options.seed, "l8.noise.B10", t, window.bounds, TILE)
        writer.write(
            f"l8/{t}/{B.L8_THERMAL.name}",
            window,
            as_uint16(block.temperature + 0.3 * noise, B.L8_ST_SCALE, B.L8_ST_OFFSET),
        )
    return block


def _write_s1(
    setup: SceneSetup, writer: BlockWriter, window: Window, samples: Samples, t: int
) -> None:
    linear = sar.render(samples, setup.s2[t].doy, setup.options.seed, setup.layout.width)
    if setup.vessels and setup.vessels[t]:
        fleet = setup.vessels[t]
        sea = linear.astype(np.float64)
        if setup.options.wakes:
            water = np.asarray(samples.centre(samples.ground.cls)) == legend.WATER
            sea = sea * wake_factor(window, fleet, water)[None]
        linear = (sea + vessel_sigma0(window, fleet)).astype(np.float32)
    for i, band in enumerate(B.S1_BANDS):
        speckle = tiled_draw(
            setup.options.seed,
            f"s1.speckle.{band.name}",
            t,
            window.bounds,
            TILE,
            "gamma",
            setup.options.looks,
        )
        writer.write(f"s1/{t}/{band.name}", window, sar.to_db(linear[i], speckle))


def _write_dem(writer: BlockWriter, window: Window, samples: Samples) -> None:
    dtm = samples.centre(samples.ground.terrain).astype(np.float32)
    ndsm = samples.centre(samples.ground.height).astype(np.float32)
    writer.write("dem/DEM.dtm", window, dtm)
    writer.write("dem/DEM.ndsm", window, ndsm)
    writer.write("dem/DEM.dsm", window, dtm + ndsm)


def _render_base(
    setup: SceneSetup, writer: BlockWriter, samples: Samples, t: int, before: U8 | None
) -> U8:
    """Render the base-grid outputs of one block and date; return its class map."""
    sensors = setup.options.sensors
    window = samples.window
    cls = np.asarray(samples.centre(samples.ground.cls), dtype=np.uint8)
    writer.write(f"landcover/{t}", window, cls)
    if t == 0:
        writer.write("croptype", window, samples.centre(samples.ground.crop))
        if "dsm" in sensors:
            _write_dem(writer, window, samples)
    if before is not None:
        writer.write(f"change/{t}", window, change_codes(before, cls))
    if "s2" in sensors:
        block = _write_optical(
            setup, writer, window, samples, t, "s2", s2_bands(setup, 1), setup.s2[t]
        )
        writer.write(f"s2cloud/{t}", window, cloud_codes(block))
    if "s1" in sensors:
        _write_s1(setup, writer, window, samples, t)
    return cls


def _render_coarse(setup: SceneSetup, writer: BlockWriter, samples: Samples, t: int) -> None:
    """Render a coarse grid's outputs (S2 20/60 m or Landsat) for one block and date."""
    window = samples.window
    if samples.factor == 3:
        bands = B.L8_OLI_BANDS
        block = _write_optical(setup, writer, window, samples, t, "l8", bands, setup.l8[t])
        writer.write(f"l8cloud/{t}", window, cloud_codes(block))
    else:
        bands = s2_bands(setup, samples.factor)
        _write_optical(setup, writer, window, samples, t, "s2", bands, setup.s2[t])


def _coarse_window(window: Window, factor: int, shape: tuple[int, ...]) -> Window:
    """The block of a coarse grid covering a base block (base blocks are multiples of 6)."""
    row0, col0 = window.row0 // factor, window.col0 // factor
    height = min(-(-window.height // factor), shape[0] - row0)
    width = min(-(-window.width // factor), shape[1] - col0)
    return Window(row0, col0, height, width, window.gsd * factor)


def render_block(
    setup: SceneSetup, writer: BlockWriter, window: Window, factors: list[int]
) -> None:
    """Render every output of one base block, all grids and dates, from one ground per date.

    The ground is sampled once per date on the base grid, over the block grown
    to cover the coarse pixels it starts and by the widest halo; each grid
    then takes its own view of those samples.

    Args:
        setup: The scene set-up.
        writer: Open writer of every output.
        window: Base-grid block (row0, col0 multiples of 6 when coarse grids exist).
        factors: Coarse grid factors to render.
    """
    n = len(setup.dates)
    coarse = [(f, _coarse_window(window, f, tuple(setup.grid(f).shape))) for f in factors]
    height = max([window.height] + [w.height * f for f, w in coarse])
    width = max([window.width] + [w.width * f for f, w in coarse])
    grown = Window(window.row0, window.col0, height, width, window.gsd)
    halo = max(halo_for(f) for f in [1, *factors])
    before: U8 | None = None
    for t in range(n):
        fine = sample(setup.layout, grown, 1, halo, t, n)
        before = _render_base(setup, writer, fine.view(window, 1, halo_for(1)), t, before)
        for f, coarse_window in coarse:
            _render_coarse(setup, writer, fine.view(coarse_window, f, halo_for(f)), t)


def base_block(setup: SceneSetup, factors: list[int]) -> int:
    """Base block size: the option, floored to a multiple of 768 when coarse grids exist.

    768 base pixels are 384, 256 and 128 pixels at factors 2, 3 and 6, so
    coarse blocks start on whole coarse pixels.
    """
    if not factors:
        return setup.options.block
    return max(768, setup.options.block // 768 * 768)


def render_rasters(
    setup: SceneSetup,
    groups: list[RasterGroup],
    tick: Callable[[int], None],
    published: Callable[[int, int], None] | None = None,
) -> list[WrittenFile]:
    """Render and publish every raster output, streaming base-grid blocks.

    Args:
        setup: The scene set-up.
        groups: Raster groups; the first is the base grid.
        tick: Called with the number of base pixels done after each block.
        published: Called with (files done, files in all) while COGs are published.

    Returns:
        The files written.
    """
    specs = {key: spec for g in groups for key, spec in g.specs.items()}
    factors = [g.factor for g in groups if g.factor > 1]
    with BlockWriter(specs, setup.root / ".synth-work", published) as writer:
        for window in windows(setup.geobox, base_block(setup, factors)):
            render_block(setup, writer, window, factors)
            tick(window.height * window.width)
    return [f for g in groups for f in g.files]
