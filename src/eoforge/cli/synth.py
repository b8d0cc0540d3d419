"""``eoforge synth``: generate a synthetic labelled multi-sensor scene."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from eoforge.cli import ui
from eoforge.synth import (
    SceneManifest,
    SynthOptions,
    generate_scene,
    parse_phenology,
    parse_sensors,
)
from eoforge.synth.fusion_task import generate_fusion_task
from eoforge.synth.hyperspectral import HyperspectralOptions, generate_hyperspectral

HELP = """Generate a realistic, labelled, georeferenced multi-sensor scene.

Writes Sentinel-2 L2A-like, Sentinel-1 GRD-like, Landsat-8-like, DEM and
0.5 m RGB rasters as COGs, land-cover / change / cloud labels, vector
labels (GeoParquet + GeoJSON), DOTA object files, legend.json and a STAC
catalog (stac/collection.json). Same seed, same bytes. Under --quiet
only the "wrote ..." line is printed.

Examples:

  eoforge synth --out demo

  eoforge synth --out small --size 512 --dates 4 --sensors s2,s1

  eoforge synth --out utm32 --crs EPSG:32632 --seed 3 --clouds 0

  eoforge synth --out ships --size 512 --sensors s1 --vessels 20

  eoforge synth --out ambiguous --fusion-task --size 256 --seed 0

  eoforge synth --out granule --hyperspectral --size 256 --plumes 6

--fusion-task writes instead a small scene whose classes each input alone
confuses (Sentinel-2, Sentinel-1, aerial RGB and a 2.5 m nDSM; see
docs/synth.md): only --size (at most 1024) and --seed apply.

--hyperspectral writes instead an imaging-spectrometer radiance granule
(--spectrometer EMIT, ENMAP, PRISMA or a channel count over 400-2500 nm, 30 m
pixels) with --plumes methane plumes of known enhancement and their truth
(docs/methane.md): only --size, --seed, --plumes and --spectrometer apply.
"""


def synth(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    size: Annotated[int, typer.Option(help="Scene width and height in base pixels.")] = 2048,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 0,
    sensors: Annotated[
        str, typer.Option(help="Comma-separated products among s2,s1,l8,dsm,vhr.")
    ] = "s2,s1,l8,dsm,vhr",
    dates: Annotated[int, typer.Option(help="Number of acquisitions in the time series.")] = 6,
    clouds: Annotated[float, typer.Option(help="Mean cloud cover of optical images, 0-0.9.")] = 0.2,
    crs: Annotated[str, typer.Option(help="Projected CRS in metres.")] = "EPSG:32631",
    gsd: Annotated[float, typer.Option(help="Base pixel size in metres.")] = 10.0,
    s2_offset: Annotated[
        int, typer.Option("--s2-offset", help="S2 L2A DN offset: 0 or -1000.")
    ] = 0,
    s2_native: Annotated[
        bool,
        typer.Option(
            "--s2-native/--s2-10m", help="S2 20/60 m bands at native GSD, or all at --gsd."
        ),
    ] = True,
    looks: Annotated[
        float, typer.Option(help="Equivalent number of looks of the S1 speckle.")
    ] = 4.4,
    vectors: Annotated[bool, typer.Option(help="Write vector labels.")] = True,
    vessels: Annotated[
        int,
        typer.Option(
            help="Vessels on open water per S1 image (0: none); labels in vectors/vessels.*."
        ),
    ] = 0,
    phenology: Annotated[
        str,
        typer.Option(
            help="Fields of a crop: uniform (one season curve per crop) or varied "
            "(per-field sowing, season length, vigour, soil)."
        ),
    ] = "uniform",
    fusion_task: Annotated[
        bool,
        typer.Option(
            "--fusion-task",
            help="Write the fusion task scene instead (inputs alone ambiguous; --size, --seed).",
        ),
    ] = False,
    hyperspectral: Annotated[
        bool,
        typer.Option(
            "--hyperspectral",
            help="Write a radiance granule with CH4 plumes instead (--size, --seed, --plumes).",
        ),
    ] = False,
    plumes: Annotated[int, typer.Option(help="--hyperspectral: methane plumes.")] = 6,
    spectrometer: Annotated[
        str,
        typer.Option(help="--hyperspectral: EMIT, ENMAP, PRISMA, or a channel count."),
    ] = "EMIT",
) -> None:
    """Generate a synthetic scene (see ``eoforge synth --help``)."""
    if fusion_task:
        collection = generate_fusion_task(out, size, seed)
        ui.result(f"wrote the fusion task scene to {out} (STAC: {collection})")
        return
    if hyperspectral:
        channels = int(spectrometer) if spectrometer.isdigit() else None
        written = generate_hyperspectral(
            out,
            HyperspectralOptions(
                height=size,
                width=size,
                seed=seed,
                sensor="EMIT" if channels else spectrometer,
                bands=channels,
                plumes=plumes,
            ),
        )
        for path in written.values():
            ui.result(f"wrote {path}")
        return
    with ui.progress(
        TextColumn("{task.description:<8}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(),
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=max(total, 1))
            bar.update(tasks[stage], completed=done)

        options = SynthOptions(
            size=size,
            seed=seed,
            sensors=parse_sensors(sensors),
            dates=dates,
            clouds=clouds,
            crs=crs,
            gsd=gsd,
            s2_offset=s2_offset,
            s2_native=s2_native,
            looks=looks,
            vectors=vectors,
            vessels=vessels,
            phenology=parse_phenology(phenology),
        )
        manifest = generate_scene(out, options, progress=report)
    ui.console().print(summary_table(manifest))
    stac = "" if manifest.stac is None else f" (STAC: {manifest.stac})"
    ui.result(f"wrote {len(manifest.files)} files to {manifest.root}{stac}")


def summary_table(manifest: SceneManifest) -> Table:
    """A table of what was written, per sensor, with an example path each."""
    table = Table(title=f"Scene written to {manifest.root} in {manifest.seconds:.1f} s")
    table.add_column("product")
    table.add_column("files", justify="right")
    table.add_column("example")
    examples: dict[str, str] = {}
    for f in manifest.files:
        examples.setdefault(f.sensor, f.path)
    for sensor, count in manifest.summary().items():
        table.add_row(sensor, str(count), examples[sensor])
    table.add_row("stac", "", str(manifest.stac))
    return table


def register(app: typer.Typer) -> None:
    """Add the ``synth`` command to the ``eoforge`` application."""
    app.command("synth", help=HELP)(synth)
