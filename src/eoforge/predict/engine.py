"""Predict a whole scene into COGs, block by block, resumably, locally or on Dask.

The output grid is cut into overlapping tiles (:mod:`.tiling`) blended with
raised-cosine weights (:mod:`.blend`); tiles are grouped into blocks
(:mod:`.plan`), the unit of work and of resumption. Blocks write their
finished pixels into a Zarr work store beside the outputs and record
themselves in a journal; when every block is final the products are
assembled into COGs under temporary names and renamed into place. Memory
depends on the tile, batch and block sizes, never on the scene size.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import rasterio
import rasterio.shutil
from odc.geo.geobox import GeoBox
from rasterio.windows import Window

from eoforge.geo.grid import crs_of
from eoforge.io.handles import file_stamp
from eoforge.io.reader import SourceLike, as_sources
from eoforge.predict.blocks import SceneJob, prepare_work, read_products
from eoforge.predict.executors import DaskOptions, Model, run_dask, run_local
from eoforge.predict.memory import release_free_memory
from eoforge.predict.outputs import (
    PROBABILITY_SCALE,
    OutputSpec,
    class_defs,
    rgba,
)
from eoforge.predict.plan import BlockPlan
from eoforge.predict.types import Progress

if TYPE_CHECKING:
    from distributed import Client

OverviewResampling = Literal["nearest", "average", "mode", "bilinear"]


@dataclass(frozen=True)
class TilingOptions:
    """How a scene is cut for the model.

    Attributes:
        tile: Largest tile height and width in pixels (tiles are spread evenly and
            may be smaller; large tiles recompute less of the scene in the overlaps).
        overlap: Pixels shared by neighbouring tiles (blended).
        batch: Tiles per forward pass.
        block: Side of a block of tiles in pixels: the unit of work, resumption and
            Dask tasks (rounded to whole tiles).
        multiple: Tile sides are multiples of this (the network's stride).
    """

    tile: int = 1024
    overlap: int = 64
    batch: int = 2
    block: int = 2048
    multiple: int = 32


@dataclass(frozen=True)
class RunOptions:
    """Resumption and executor of a prediction.

    Attributes:
        resume: Continue from the journal of an interrupted run with the same job.
        dask: Run blocks on Dask (None: in this process).
        client: An existing Dask client to use (overrides ``dask``' scheduler).
        keep_work: Keep the work folder (Zarr store, journal) after success.
    """

    resume: bool = False
    dask: DaskOptions | None = None
    client: Client | None = field(default=None, compare=False)
    keep_work: bool = False


def predict_scene(
    model: Model,
    sources: SourceLike | Sequence[SourceLike],
    grid: GeoBox,
    bands: Sequence[str],
    out: str | Path,
    *,
    spec: OutputSpec,
    options: TilingOptions | None = None,
    run: RunOptions | None = None,
    second: SourceLike | Sequence[SourceLike] | None = None,
    progress: Progress | None = None,
) -> dict[str, Path]:
    """Predict ``grid`` from ``sources`` and publish ``spec``'s products as COGs.

    Args:
        model: A predictor (see :data:`Predictor`; invalid pixels arrive as NaN) or
            a :class:`~eoforge.predict.bundle.BundleModel` (needed for Dask clusters
            that do not share this process's memory).
        sources: Image sources or paths holding ``bands`` (the first date for
            change models).
        grid: Output grid; tiles are its pixel-aligned sub-windows.
        bands: Band names the model expects, in channel order.
        out: Output path stem: products go to ``<stem>_<product>.tif``.
        spec: Products to write.
        options: Tile, overlap, batch and block sizes.
        run: Resumption and executor.
        second: Second date for change models (put onto the same grid).
        progress: ``(done, total)`` predicted pixels, for progress bars.

    Returns:
        Product name (``classes``, ``confidence``, ``probabilities``, ``values``) →
        the COG written.
    """
    opts, run = options or TilingOptions(), run or RunOptions()
    stem = Path(out)
    stem.parent.mkdir(parents=True, exist_ok=True)
    inputs = [tuple(as_sources(sources))]
    if second is not None:
        inputs.append(tuple(as_sources(second)))
    plan = BlockPlan(grid, opts.tile, opts.overlap, opts.block, opts.multiple)
    work = stem.parent / f".{stem.name}.work"
    job = SceneJob(tuple(inputs), tuple(bands), plan, spec, opts.batch, work)
    fingerprint = {
        "plan": plan.fingerprint(),
        "spec": spec.describe(),
        "bands": list(bands),
        "batch": opts.batch,
        "inputs": [[s.to_dict() for s in date] for date in inputs],
        "model": _describe(model),
        # rewritten inputs or bundles since an interrupted run: start over
        "files": {
            path: file_stamp(path)
            for path in [a.path for date in inputs for s in date for a in s.assets.values()]
            + _model_files(model)
        },
    }
    journal = prepare_work(job, fingerprint, run.resume)
    if run.dask is not None or run.client is not None:
        run_dask(job, model, journal, progress, run.dask or DaskOptions(), run.client)
    else:
        run_local(job, model, journal, progress)
    release_free_memory()  # the blocks' freed heap, before assembly allocates its own
    paths = {p: stem.with_name(f"{stem.name}_{p}.tif") for p in spec.products()}
    for product, path in paths.items():
        assemble(job, product, path)
    if not run.keep_work:
        shutil.rmtree(work, ignore_errors=True)
    return paths


def _model_files(model: Model) -> list[str]:
    from eoforge.predict.bundle import BundleModel

    if not isinstance(model, BundleModel):
        return []
    files = []
    for bundle in model.bundles:
        root = Path(bundle)
        files += (
            [str(p) for p in sorted(root.rglob("*")) if p.is_file()] if root.is_dir() else [bundle]
        )
    return files


def _describe(model: Model) -> object:
    from eoforge.predict.bundle import BundleModel

    if isinstance(model, BundleModel):
        return {"bundles": [str(Path(b).resolve()) for b in model.bundles], "tta": model.tta}
    return getattr(model, "__qualname__", type(model).__qualname__)


def classify_scene(
    model: Model,
    sources: SourceLike | Sequence[SourceLike],
    grid: GeoBox,
    bands: Sequence[str],
    out: str | Path,
    *,
    classes: Sequence[tuple[int, str, str]],
    options: TilingOptions | None = None,
    progress: Progress | None = None,
) -> Path:
    """Predict ``grid`` and write only the class map (argmax of blended scores).

    Args:
        model: Returns per-class scores ``[B, K, h, w]`` (probabilities blend best).
        sources: Image sources or paths holding ``bands``.
        grid: Output grid.
        bands: Band names the model expects.
        out: Final path of the class-map COG.
        classes: ``(id, name, "#rrggbb")`` per output channel, in channel order.
        options: Tile size, overlap and batch size.
        progress: Optional ``(done, total)`` pixel counter for progress bars.

    Returns:
        ``out``. Pixels with invalid input hold :data:`CLASS_NODATA`; the band
        carries a colour table and its class names as tags.
    """
    target = Path(out)
    stem = target.with_name(target.stem)
    spec = OutputSpec("classes", class_defs(classes))
    paths = predict_scene(
        model, sources, grid, bands, stem, spec=spec, options=options, progress=progress
    )
    paths["classes"].replace(target)
    return target


def _profile(grid: GeoBox, count: int, dtype: str, nodata: float) -> dict[str, object]:
    return {
        "driver": "GTiff",
        "height": grid.shape.y,
        "width": grid.shape.x,
        "count": count,
        "dtype": dtype,
        "crs": crs_of(grid).to_wkt(),
        "transform": grid.affine,
        "nodata": nodata,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
        "zlevel": 1,  # an intermediate file: write fast, the COG is compressed properly
        "num_threads": "ALL_CPUS",  # blocks compressed in parallel; same bytes
    }


def assemble(job: SceneJob, product: str, out: Path) -> Path:
    """Write ``product`` of every block into one COG at ``out`` (temporary name first)."""
    spec = job.spec
    profile = _profile(
        job.plan.grid, spec.bands(product), spec.dtype(product), spec.nodata(product)
    )

    def fill(dst: rasterio.io.DatasetWriter) -> None:
        _describe_bands(dst, spec, product)
        for block in job.plan.blocks:
            r0, c0, r1, c1 = block.own
            values = read_products(job, block)[product]
            dst.write(values, window=Window(c0, r0, c1 - c0, r1 - r0))

    resampling: OverviewResampling = "nearest" if product == "classes" else "average"
    return write_cog(out, profile, fill, resampling=resampling, scratch=job.work)


def _describe_bands(dst: rasterio.io.DatasetWriter, spec: OutputSpec, product: str) -> None:
    if product == "classes":
        dst.write_colormap(1, {c.id: rgba(c.color) for c in spec.classes})
        dst.update_tags(1, **{f"CLASS_{c.id}": c.name for c in spec.classes})
        dst.set_band_description(1, "class")
    elif product == "confidence":
        dst.set_band_description(1, "confidence")
        dst.scales = (1 / PROBABILITY_SCALE,)
    elif product == "probabilities":
        for i, c in enumerate(spec.classes, start=1):
            dst.set_band_description(i, f"p({c.name})")
        dst.scales = (1 / PROBABILITY_SCALE,) * len(spec.classes)
    else:
        for i, name in enumerate(spec.names, start=1):
            dst.set_band_description(i, name)


def write_cog(
    out: Path,
    profile: dict[str, object],
    fill: Callable[[rasterio.io.DatasetWriter], None],
    resampling: OverviewResampling = "average",
    scratch: Path | None = None,
) -> Path:
    """Create a GeoTIFF under a temporary name, let ``fill`` write it, then publish a COG.

    Nothing appears under ``out`` unless every step succeeded.

    Args:
        out: Final path.
        profile: rasterio creation profile of the intermediate GeoTIFF.
        fill: Writes the data (and tags, colour table) into the open dataset.
        resampling: Overview resampling.
        scratch: Folder for the intermediate files (default: beside ``out``).
    """
    folder = scratch if scratch is not None else out.parent
    tmp = folder / f".{out.name}.{os.getpid()}.partial.tif"
    staged = out.with_name(f".{out.name}.{os.getpid()}.cog.tif")
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            fill(dst)
        # GDAL's COG driver streams block by block (memory bounded for any size) and
        # keeps the colour table, tags, descriptions, scales and nodata.
        rasterio.shutil.copy(
            str(tmp),
            str(staged),
            driver="COG",
            COMPRESS="DEFLATE",
            PREDICTOR="YES" if profile.get("dtype") == "float32" else "NO",
            BLOCKSIZE=512,
            OVERVIEW_RESAMPLING=resampling.upper(),
            BIGTIFF="IF_SAFER",
            NUM_THREADS="ALL_CPUS",
        )
        staged.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
        staged.unlink(missing_ok=True)
    return out
