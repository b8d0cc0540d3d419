"""``eoforge embed``: one vector per window of whole scenes, with an embedding bundle."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eoforge.cli import ui
from eoforge.cli.run_options import Resume, Scheduler, Workers, run_options, scene_progress

HELP = """Embed whole scenes: one vector per window, with footprint and time, as GeoParquet/Zarr.

The bundle's task must be embedding (an encoder mapping [B, C, H, W] to
[B, D], e.g. spectral_vit). Windows of --window px (default: the bundle's
patch size) start every --stride px (default: the window; a smaller stride
overlaps them) on each scene's grid at the bundle's GSD; the last
(size - window) % stride px of each axis start no window. Each scene writes
<scene>_embeddings.parquet (footprint polygon, window in grid pixels, share
of valid pixels, acquisition time when known, the vector) and, with --zarr, a
Zarr group; both record the bundle's fingerprint, so tables of other models
are never mixed. Blocks are journaled (--resume continues an interrupted
run); --workers/--scheduler run them on Dask. Then search or cluster the
tables with eoforge embeddings.

Examples:

  eoforge embed encoder_bundle scene.tif --out emb

  eoforge embed encoder_bundle scenes/ --out emb --window 64 --stride 32 --zarr

  eoforge embed encoder_bundle big_scene.tif --out emb --workers 4 --resume
"""


def embed(
    bundle: Annotated[Path, typer.Argument(help="Embedding bundle folder.")],
    scenes: Annotated[
        list[Path], typer.Argument(help="Scene files, product folders, folders or STAC JSON.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("embeddings"),
    window: Annotated[
        int | None,
        typer.Option(help="Window side in pixels (default: the bundle's patch size).", min=1),
    ] = None,
    stride: Annotated[
        int | None, typer.Option(help="Pixels between windows (default: the window).", min=1)
    ] = None,
    parquet: Annotated[
        bool, typer.Option("--parquet/--no-parquet", help="Write GeoParquet rows.")
    ] = True,
    zarr: Annotated[
        bool, typer.Option("--zarr/--no-zarr", help="Also write a Zarr group.")
    ] = False,
    batch: Annotated[int, typer.Option(help="Windows per forward pass.", min=1)] = 16,
    block: Annotated[int, typer.Option(help="Block of windows per journal entry, px.")] = 2048,
    tta: Annotated[bool, typer.Option("--tta", help="Average over 8 rotations/flips.")] = False,
    workers: Workers = None,
    scheduler: Scheduler = None,
    resume: Resume = False,
) -> None:
    """Embed scenes (see ``eoforge embed --help``)."""
    # PyTorch and the model stack load only when embedding: `eoforge --version` stays fast
    from eoforge.embeddings import embed as embed_scenes
    from eoforge.predict.memory import bound_process_memory  # (start-up time, as above)

    bound_process_memory()
    console = ui.console()
    with scene_progress() as report:
        results = embed_scenes(
            bundle,
            scenes,
            out,
            window=window,
            stride=stride,
            parquet=parquet,
            zarr=zarr,
            batch=batch,
            block=block,
            tta=tta,
            run_options=run_options(resume, workers, scheduler),
            progress=report,
        )
    for result in results:
        console.print(f"{result.name}: {result.megapixels:.1f} MP in {result.seconds:.1f} s")
    for result in results:
        for path in result.paths.values():
            ui.result(f"wrote {path} ({_rows(path)} windows)")


def _rows(path: Path) -> int:
    """Windows in an embedding file (GeoParquet rows or Zarr ``embedding`` length)."""
    # pyarrow and zarr load only when embedding: `eoforge --version` stays fast
    import pyarrow.parquet as pq
    import zarr  # (start-up time, as above)

    if path.is_dir():
        array = zarr.open_group(str(path), mode="r")["embedding"]
        assert isinstance(array, zarr.Array)
        return int(array.shape[0])
    return int(pq.ParquetFile(path).metadata.num_rows)


def register(app: typer.Typer) -> None:
    """Add ``embed`` to the ``eoforge`` command."""
    app.command("embed", help=HELP)(embed)
