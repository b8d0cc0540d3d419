"""Predict a whole scene, block by block, resumably, locally or on Dask, for any output kind.

The plan grid is cut into overlapping tiles (:mod:`.tiling`) grouped into
blocks (:mod:`.plan`), the unit of work and of resumption. Blocks run the
model over their tiles (:mod:`.blocks`); the output kind (:mod:`.kinds`)
turns the outputs into block results in a Zarr work store beside the outputs
(blended rasters, merged detections, window rows), and each block records
itself in a journal. When every block is final the kind publishes its
products under temporary names and renames them into place. Memory depends
on the tile, batch and block sizes, never on the scene size (GDAL's block cache
is bounded while the scene streams: :func:`~eoforge.io.gdal_env.streaming_block_cache`).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from odc.geo.geobox import GeoBox

from eoforge.errors import ConfigError
from eoforge.io.gdal_env import STREAMING_CACHE_MB, streaming_block_cache, streaming_cache_mb
from eoforge.io.handles import file_stamp
from eoforge.io.reader import SourceLike, as_sources
from eoforge.io.source import RasterSource
from eoforge.predict.blocks import SceneJob
from eoforge.predict.bundle import BundleModel
from eoforge.predict.executors import DaskOptions, Model, run_dask, run_local
from eoforge.predict.groups import GroupRead, check_tiles
from eoforge.predict.kinds import OutputKind
from eoforge.predict.memory import release_free_memory
from eoforge.predict.plan import BlockPlan
from eoforge.predict.types import Progress
from eoforge.predict.work import WorkStore, prepare_work

if TYPE_CHECKING:
    from distributed import Client


@dataclass(frozen=True)
class TilingOptions:
    """How a scene is cut for the model (lengths in input pixels).

    Attributes:
        tile: Largest tile height and width in pixels (tiles are spread evenly and
            may be smaller; large tiles recompute less of the scene in the overlaps).
            For window outputs (embeddings) every tile is one window.
        overlap: Pixels shared by neighbouring tiles (blended, or merged for features).
        batch: Tiles per forward pass.
        block: Side of a block of tiles in pixels: the unit of work, resumption and
            Dask tasks (rounded to whole tiles).
        multiple: Tile sides are multiples of this (the network's stride).
        stride: Window outputs: ``tile``-px windows every ``stride`` px on a regular
            lattice (overlap ``tile - stride``; ``overlap`` and ``multiple`` unused).
            None: tiles spread evenly as above.
    """

    tile: int = 1024
    overlap: int = 64
    batch: int = 2
    block: int = 2048
    multiple: int = 32
    stride: int | None = None


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
    spec: OutputKind[Any],
    options: TilingOptions | None = None,
    run: RunOptions | None = None,
    second: SourceLike | Sequence[SourceLike] | None = None,
    progress: Progress | None = None,
    revisits: Sequence[SourceLike | Sequence[SourceLike]] = (),
    reference: SourceLike | Sequence[SourceLike] | None = None,
    masks: Sequence[str | os.PathLike[str] | None] = (),
    groups: Sequence[GroupRead] = (),
) -> dict[str, Path]:
    """Predict ``grid`` from ``sources`` and publish ``spec``'s products.

    Args:
        model: A predictor (see :data:`~eoforge.predict.types.Predictor`; invalid pixels
            arrive as NaN) or a :class:`~eoforge.predict.bundle.BundleModel` (needed for
            Dask clusters that do not share this process's memory).
        sources: Image sources or paths holding ``bands`` (the first date for
            change models).
        grid: The grid the model reads; rasters are written on it, or on a finer or
            coarser one for a scaled :class:`~eoforge.predict.raster.OutputSpec`.
        bands: Band names the model expects, in channel order.
        out: Output path stem: products go to ``<stem>_<product>.<ext>``.
        spec: What the model's outputs are and which products to write: an
            :class:`~eoforge.predict.raster.OutputSpec` (rasters),
            :class:`~eoforge.predict.detections.DetectionSpec` (boxes) or
            :class:`~eoforge.predict.embeddings.EmbeddingSpec` (a row per window).
        options: Tile, overlap, batch and block sizes.
        run: Resumption and executor.
        second: Second date for change models (put onto the same grid).
        progress: ``(done, total)`` input pixels predicted, for progress bars.
        revisits: Further dates for multi-frame models (after ``sources``, on the
            same grid): the model gets ``[B, T, C, h, w]``, and a pixel is valid
            where any date is (nodata only where no revisit is valid).
        reference: A high-resolution reference for reference-guided models, read
            on each tile's output grid (see :mod:`~eoforge.predict.references`).
        masks: Clear masks (1 = clear) per date, ``sources`` first then
            ``revisits`` (None: none for that date; empty: none at all); pixels
            where a date's mask is 0 are missing for the model
            (:mod:`~eoforge.predict.clear_masks`).
        groups: Input groups of a multi-input bundle (:mod:`~eoforge.predict.groups`),
            each read on its own grid per tile; ``grid`` is then the label grid (the
            output's), ``sources`` those of the label grid's group.

    Returns:
        Product name (e.g. ``classes``, ``confidence``, ``values``, ``detections``,
        ``embeddings``) → the file written.
    """
    opts, run = options or TilingOptions(), run or RunOptions()
    stem = Path(out)
    stem.parent.mkdir(parents=True, exist_ok=True)
    inputs = [tuple(as_sources(sources))]
    if second is not None:
        inputs.append(tuple(as_sources(second)))
    inputs += [tuple(as_sources(date)) for date in revisits]
    scaling = spec.scaling
    plan = BlockPlan(
        scaling.plan_grid(grid),
        scaling.to_plan(opts.tile),
        scaling.to_plan(opts.overlap, round_up=True),
        scaling.to_plan(opts.block),
        scaling.to_plan(opts.multiple, round_up=True),
        None if opts.stride is None else scaling.to_plan(opts.stride),
    )
    work = WorkStore(stem.parent / f".{stem.name}.work")
    job = SceneJob(
        tuple(inputs), tuple(bands), grid, plan, spec, opts.batch, work, any_date=bool(revisits)
    )
    if reference is not None:
        job = _with_reference(job, tuple(as_sources(reference)))
    if groups:
        check_tiles(groups, {"multiple": plan.multiple})
        job = dataclasses.replace(job, groups=tuple(groups))
    mask_paths = tuple(None if m is None else os.fspath(m) for m in masks)
    if any(m is not None for m in mask_paths):
        if len(mask_paths) != len(inputs):
            raise ConfigError(
                f"{len(mask_paths)} clear masks for {len(inputs)} dates.",
                fix="give one mask (or None) per date.",
            )
        job = dataclasses.replace(job, masks=mask_paths)
    fingerprint = {
        "grid": [str(grid.crs), list(grid.affine)[:6], [grid.shape.y, grid.shape.x]],
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
    if job.groups:  # part of the job only when given, as the reference
        fingerprint["groups"] = {
            g.name: {
                "bands": list(g.bands),
                "gsd": g.gsd,
                "files": {a.path: file_stamp(a.path) for s in g.sources for a in s.assets.values()},
            }
            for g in job.groups
        }
    if job.masks:  # part of the job only when given, as the reference
        fingerprint["masks"] = {m: file_stamp(m) for m in job.masks if m is not None}
    if job.reference:  # part of the job only when given: other jobs' fingerprints stay
        fingerprint["reference"] = {
            "sources": [s.to_dict() for s in job.reference],
            "files": {a.path: file_stamp(a.path) for s in job.reference for a in s.assets.values()},
        }
    journal = prepare_work(work, fingerprint, run.resume)
    # tiles are read once, in order: a larger GDAL cache would only grow with the scene
    # (sized to a row of blocks: a block, a spilling tile and its margins; the plan counts
    # output pixels on coarser grids, the reads input pixels)
    rows = (plan.block + plan.tile + 2 * plan.overlap) * scaling.down
    read_bands = len(bands) * len(inputs) + sum(len(g.bands) for g in job.groups)
    cache = streaming_cache_mb(grid.shape.x, rows, read_bands)
    if job.reference or job.masks:  # more rasters, on other grids: the full bound
        cache = STREAMING_CACHE_MB
    with streaming_block_cache(cache):
        if run.dask is not None or run.client is not None:
            run_dask(job, model, journal, progress, run.dask or DaskOptions(), run.client)
        else:
            run_local(job, model, journal, progress)
        release_free_memory()  # the blocks' freed heap, before publishing allocates its own
        paths = spec.publish(work, plan, stem)
    if not run.keep_work:
        shutil.rmtree(work.folder, ignore_errors=True)
    return paths


def _with_reference(job: SceneJob, reference: tuple[RasterSource, ...]) -> SceneJob:
    """``job`` reading ``reference`` on its output grid.

    Raises:
        ConfigError: The output is not finer than the input, or the model reads
            several dates.
    """
    if job.kind.scaling.up < 2 or len(job.inputs) > 1:
        raise ConfigError(
            "a reference goes with single-date models whose output grid is finer than the "
            "input (super-resolution).",
            fix="drop the reference, or predict with a reference-guided super-resolution bundle.",
        )
    return dataclasses.replace(job, reference=reference)


def _model_files(model: Model) -> list[str]:
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
    if isinstance(model, BundleModel):
        return {"bundles": [str(Path(b).resolve()) for b in model.bundles], "tta": model.tta}
    return getattr(model, "__qualname__", type(model).__qualname__)
