"""Raster rendering: one streamed walk over base-grid blocks renders every raster.

Per block and date the ground is evaluated once on the base grid; labels,
10 m Sentinel-2, its cloud mask, Sentinel-1 and the DEM use it directly, and
the 20 m / 60 m Sentinel-2 bands and Landsat at 30 m average its sub-pixel
samples (2 x 2, 6 x 6 and 3 x 3 per pixel).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from eoforge.synth import bands as B
from eoforge.synth import classes, render_optical, render_s1
from eoforge.synth.context import SceneContext
from eoforge.synth.manifest import WrittenFile
from eoforge.synth.noise import tiled_draw
from eoforge.synth.outputs import OutputSet, s2_bands
from eoforge.synth.render_optical import Acquisition, halo_for
from eoforge.synth.sampling import Samples, Window, sample
from eoforge.synth.writers import TILE, BlockWriter, as_uint16, windows

U8 = npt.NDArray[np.uint8]


def cloud_codes(block: render_optical.OpticalBlock) -> U8:
    """Cloud mask codes from a rendered block's cloud and shadow fractions."""
    mask = np.full(block.cloud.shape, classes.CLOUD_CLEAR, dtype=np.uint8)
    mask[block.shadow > 0.35] = classes.CLOUD_SHADOW
    mask[block.cloud > 0.5] = classes.CLOUD
    return mask


def change_codes(before: U8, after: U8) -> U8:
    """Change codes between two land-cover blocks."""
    out = np.full(after.shape, classes.CHANGE_NONE, dtype=np.uint8)
    out[(before == classes.WATER) & (after != classes.WATER)] = classes.CHANGE_FLOOD_RECESSION
    out[(before != classes.WATER) & (after == classes.WATER)] = classes.CHANGE_FLOODING
    out[(before == classes.FOREST) & (after == classes.BARE_SOIL)] = classes.CHANGE_DEFORESTATION
    out[(before == classes.BUILDING) & (after != classes.BUILDING)] = classes.CHANGE_DEMOLITION
    out[(before != classes.BUILDING) & (after == classes.BUILDING)] = classes.CHANGE_CONSTRUCTION
    return out


def _write_optical(
    ctx: SceneContext,
    writer: BlockWriter,
    window: Window,
    samples: Samples,
    t: int,
    sensor: str,
    band_specs: tuple[B.BandSpec, ...],
    acq: Acquisition,
) -> render_optical.OpticalBlock:
    centers = np.array([b.center for b in band_specs], dtype=np.float64)
    thermal = sensor == "l8"
    block = render_optical.render(samples, centers, acq, thermal=thermal)
    for i, band in enumerate(band_specs):
        refl = block.reflectance[i]
        noise = tiled_draw(ctx.options.seed, f"{sensor}.noise.{band.name}", t, window.bounds, TILE)
        noisy = refl + (0.002 + 0.01 * refl) * noise
        spec = writer.specs[f"{sensor}/{t}/{band.name}"]
        writer.write(f"{sensor}/{t}/{band.name}", window, as_uint16(noisy, spec.scale, spec.offset))
    if thermal and block.temperature is not None:
        noise = tiled_draw(ctx.options.seed, "l8.noise.B10", t, window.bounds, TILE)
        writer.write(
            f"l8/{t}/{B.L8_THERMAL.name}",
            window,
            as_uint16(block.temperature + 0.3 * noise, B.L8_ST_SCALE, B.L8_ST_OFFSET),
        )
    return block


def _write_s1(
    ctx: SceneContext, writer: BlockWriter, window: Window, samples: Samples, t: int
) -> None:
    linear = render_s1.render(samples, ctx.s2[t].doy, ctx.options.seed, ctx.layout.width)
    for i, band in enumerate(B.S1_BANDS):
        speckle = tiled_draw(
            ctx.options.seed,
            f"s1.speckle.{band.name}",
            t,
            window.bounds,
            TILE,
            "gamma",
            ctx.options.looks,
        )
        writer.write(f"s1/{t}/{band.name}", window, render_s1.to_db(linear[i], speckle))


def _write_dem(writer: BlockWriter, window: Window, samples: Samples) -> None:
    dtm = samples.centre(samples.ground.terrain).astype(np.float32)
    ndsm = samples.centre(samples.ground.height).astype(np.float32)
    writer.write("dem/DEM.dtm", window, dtm)
    writer.write("dem/DEM.ndsm", window, ndsm)
    writer.write("dem/DEM.dsm", window, dtm + ndsm)


def _render_base(
    ctx: SceneContext, writer: BlockWriter, samples: Samples, t: int, before: U8 | None
) -> U8:
    """Render the base-grid outputs of one block and date; return its class map."""
    sensors = ctx.options.sensors
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
        block = _write_optical(ctx, writer, window, samples, t, "s2", s2_bands(ctx, 1), ctx.s2[t])
        writer.write(f"s2cloud/{t}", window, cloud_codes(block))
    if "s1" in sensors:
        _write_s1(ctx, writer, window, samples, t)
    return cls


def _render_coarse(ctx: SceneContext, writer: BlockWriter, samples: Samples, t: int) -> None:
    """Render a coarse grid's outputs (S2 20/60 m or Landsat) for one block and date."""
    window = samples.window
    if samples.factor == 3:
        bands = B.L8_OLI_BANDS
        block = _write_optical(ctx, writer, window, samples, t, "l8", bands, ctx.l8[t])
        writer.write(f"l8cloud/{t}", window, cloud_codes(block))
    else:
        bands = s2_bands(ctx, samples.factor)
        _write_optical(ctx, writer, window, samples, t, "s2", bands, ctx.s2[t])


def _coarse_window(window: Window, factor: int, shape: tuple[int, ...]) -> Window:
    """The block of a coarse grid covering a base block (base blocks are multiples of 6)."""
    row0, col0 = window.row0 // factor, window.col0 // factor
    height = min(-(-window.height // factor), shape[0] - row0)
    width = min(-(-window.width // factor), shape[1] - col0)
    return Window(row0, col0, height, width, window.gsd * factor)


def render_block(
    ctx: SceneContext, writer: BlockWriter, window: Window, factors: list[int]
) -> None:
    """Render every output of one base block, all grids and dates, from one ground per date.

    The ground is sampled once per date on the base grid, over the block grown
    to cover the coarse pixels it starts and by the widest halo; each grid
    then takes its own view of those samples.

    Args:
        ctx: Scene context.
        writer: Open writer of every output.
        window: Base-grid block (row0, col0 multiples of 6 when coarse grids exist).
        factors: Coarse grid factors to render.
    """
    n = len(ctx.dates)
    coarse = [(f, _coarse_window(window, f, tuple(ctx.grid(f).shape))) for f in factors]
    height = max([window.height] + [w.height * f for f, w in coarse])
    width = max([window.width] + [w.width * f for f, w in coarse])
    grown = Window(window.row0, window.col0, height, width, window.gsd)
    halo = max(halo_for(f) for f in [1, *factors])
    before: U8 | None = None
    for t in range(n):
        fine = sample(ctx.layout, grown, 1, halo, t, n)
        before = _render_base(ctx, writer, fine.view(window, 1, halo_for(1)), t, before)
        for f, coarse_window in coarse:
            _render_coarse(ctx, writer, fine.view(coarse_window, f, halo_for(f)), t)


def base_block(ctx: SceneContext, factors: list[int]) -> int:
    """Base block size: the option, floored to a multiple of 768 when coarse grids exist.

    768 base pixels are 384, 256 and 128 pixels at factors 2, 3 and 6, so
    coarse blocks start on whole coarse pixels.
    """
    if not factors:
        return ctx.options.block
    return max(768, ctx.options.block // 768 * 768)


def render_rasters(
    ctx: SceneContext,
    sets: list[OutputSet],
    tick: Callable[[int], None],
    published: Callable[[int, int], None] | None = None,
) -> list[WrittenFile]:
    """Render and publish every raster output, streaming base-grid blocks.

    Args:
        ctx: Scene context.
        sets: Output groups; the first is the base grid.
        tick: Called with the number of base pixels done after each block.
        published: Called with (files done, files in all) while COGs are published.

    Returns:
        The files written.
    """
    specs = {key: spec for s in sets for key, spec in s.specs.items()}
    factors = [s.factor for s in sets if s.factor > 1]
    with BlockWriter(specs, ctx.root / ".synth-work", published) as writer:
        for window in windows(ctx.geobox, base_block(ctx, factors)):
            render_block(ctx, writer, window, factors)
            tick(window.height * window.width)
    return [f for s in sets for f in s.files]
