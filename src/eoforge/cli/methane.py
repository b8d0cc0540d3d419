"""``eoforge methane``: map the CH4 enhancement of an imaging-spectrometer radiance cube."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eoforge.cli import ui

HELP = """Map methane (CH4) enhancement in ppm·m with a matched filter.

CUBE is a radiance cube (L1B, one band per channel) whose bands carry their
centre wavelength and FWHM (band tags 'wavelength' and 'fwhm', or an ENVI
wavelength list). The background (mean, covariance) is estimated per detector
column (--column-group N: N adjacent columns; 0: the whole scene) in streaming
passes; the adaptive filter (--iterations > 1) re-estimates it without the
pixels found enhanced. The enhancement is written through the prediction
engine as <OUT>/<cube>_ch4.tif (float32 COG, ppm·m) with <cube>_ch4.json.
See docs/methane.md for the unit absorption spectrum (an approximation) and
the checks.

Examples:

  eoforge synth --out granule --hyperspectral --size 256

  eoforge methane granule/radiance.tif --out ch4

  eoforge methane emit_l1b.tif --out ch4 --classic --column-group 1

  eoforge methane l2a_reflectance.tif --out ch4 --quantity reflectance

  eoforge methane granule/radiance.tif --out ch4 --features

--features also writes <OUT>/<cube>_features.tif, what plume segmentation
bundles read: eoforge predict BUNDLE ch4/radiance_features.tif --out plumes
"""


def methane(
    cube: Annotated[Path, typer.Argument(help="Radiance cube (GeoTIFF with wavelengths).")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    iterations: Annotated[
        int, typer.Option(help="Background passes (1: classic; more: adaptive).")
    ] = 4,
    classic: Annotated[
        bool, typer.Option("--classic", help="Classic filter: one pass, no albedo correction.")
    ] = False,
    albedo: Annotated[
        bool, typer.Option("--albedo/--no-albedo", help="Scale the target by pixel albedo.")
    ] = True,
    column_group: Annotated[
        int, typer.Option(help="Columns per background (1: per column; 0: whole scene).")
    ] = 1,
    shrinkage: Annotated[
        float, typer.Option(help="Covariance shrinkage toward its diagonal, 0-1.")
    ] = 1e-5,
    window: Annotated[
        tuple[float, float], typer.Option(help="Spectral window of the filter, nm.")
    ] = (2100.0, 2450.0),
    quantity: Annotated[
        str | None,
        typer.Option(help="radiance or reflectance, when the cube's tags do not say."),
    ] = None,
    air_mass: Annotated[
        float | None,
        typer.Option(help="Two-way air-mass factor (default: from the cube's angle tags, else 2)."),
    ] = None,
    tile: Annotated[int, typer.Option(help="Tile side of the enhancement pass, px.")] = 256,
    features: Annotated[
        bool,
        typer.Option(
            "--features",
            help="Also write <stem>_features.tif: the enhancement and radiance means "
            "(CH4.* bands) that plume segmentation bundles read.",
        ),
    ] = False,
) -> None:
    """Map the CH4 enhancement of a cube (see ``eoforge methane --help``)."""
    # NumPy/PyTorch and the engine load only when mapping: `eoforge --version` stays fast
    from eoforge.errors import ConfigError
    from eoforge.methane.filter import FilterOptions  # (start-up time, as above)
    from eoforge.methane.scene import MethaneOptions, map_methane  # (start-up time, as above)

    if quantity not in (None, "radiance", "reflectance"):
        raise ConfigError(f"--quantity {quantity}.", fix="use radiance or reflectance.")
    filter_options = FilterOptions(
        iterations=1 if classic else iterations,
        albedo=False if classic else albedo,
        shrinkage=shrinkage,
        column_group=column_group,
    )
    options = MethaneOptions(
        window_nm=window,
        quantity=quantity,  # type: ignore[arg-type]  # checked above
        air_mass=air_mass,
        tile=tile,
    )
    with ui.status(f"matched filter on {cube.name}"):
        result = map_methane(cube, out, filter_options=filter_options, options=options)
    ui.console().print(
        f"background {result.seconds_background:.1f} s, enhancement {result.seconds_filter:.1f} s"
    )
    ui.result(f"wrote {result.enhancement}")
    ui.result(f"wrote {result.summary}")
    if features:
        # the feature stack is only imported when asked for: `eoforge --version` stays fast
        from eoforge.methane.plume_data import write_features

        stack = out / f"{cube.stem}_features.tif"
        ui.result(f"wrote {write_features(cube, result.enhancement, stack)}")


def register(app: typer.Typer) -> None:
    """Add ``methane`` to the ``eoforge`` command."""
    app.command("methane", help=HELP)(methane)
