"""Entry point of the ``eoforge`` command.

Each sub-command lives in its own module with a ``register(app)`` function;
this module only wires them, holds the one-line summaries of the command
listing, and turns errors into one line on stderr and a non-zero exit status:

* 0 (:data:`EXIT_OK`): success;
* 2 (:data:`EXIT_INPUT`): :class:`eoforge.errors.EoforgeError`, a problem with
  the input that eoforge recognised (its message as is: what, which file, the
  fix), and command-line usage errors (missing argument, unknown option,
  invalid value: the usage message);
* 1 (:data:`EXIT_ERROR`): every other exception (a missing file, unreadable
  raster, malformed YAML or JSON, invalid values, an unknown key, a bug...):
  one line naming the problem and pointing at ``--debug``;
* 130 (:data:`EXIT_INTERRUPTED`): interrupted with Ctrl-C (typer's handling of
  ``KeyboardInterrupt``, the status a shell gives a process stopped by SIGINT).

No error prints a traceback unless ``--debug`` is given, which prints it before
that line; errors while the sub-commands are being set up take the same path.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from typing import Annotated

import pydantic
import typer
import yaml
from rich.markup import escape

from eoforge import __version__
from eoforge.cli import ui
from eoforge.errors import EoforgeError

app = typer.Typer(
    name="eoforge",
    help="Deep learning on Earth-observation imagery.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

COMMANDS = (
    "info",
    "index",
    "synth",
    "train",
    "evaluate",
    "predict",
    "embed",
    "indices",
    "despeckle",
    "calibrate",
    "methane",
    "search",
    "ask",
    "captions",
    "report",
    "serve",
    "demo",
    "models",
    "datasets",
    "embeddings",
    "knowledge",
    "location",
)
"""Sub-commands in the order ``eoforge --help`` lists them (the order of the work; command
groups such as ``datasets`` come after the plain commands)."""

SHORT_HELP = {
    "info": "Describe a raster, product, vector file, metadata or catalog.",
    "index": "Index scenes and label layers into a GeoParquet catalog.",
    "synth": "Generate a labelled synthetic multi-sensor scene.",
    "train": "Train a model from a YAML config and export its bundle.",
    "evaluate": "Score a model bundle on a dataset and save the metrics.",
    "predict": "Map whole scenes with a model bundle into COGs.",
    "embed": "Embed whole scenes into one vector per window with a bundle.",
    "indices": "Map spectral indices of whole scenes by name, e.g. NDVI or EVI.",
    "despeckle": "Filter the speckle of SAR scenes (Lee, refined Lee, Gamma-MAP).",
    "methane": "Map CH4 enhancement (ppm·m) of radiance cubes: matched filter.",
    "search": "Find windows of an image-text bundle's index that match words.",
    "ask": "Answer a question from a knowledge base, citing the evidence.",
    "captions": "Caption the windows of land-cover labels with true statements.",
    "report": "Write an HTML report of a finished run.",
    "serve": "Open a map of scenes, predictions and vectors in the browser.",
    "demo": "Run the whole job on built-in synthetic data.",
    "models": "List the model architectures and their tasks.",
    "datasets": "Download, verify and prepare public benchmark datasets.",
    "embeddings": "Index, search and cluster window embeddings.",
    "knowledge": "Build a knowledge base of windows, captions and documents.",
    "location": "Embed places with a location bundle.",
}
"""One line per command in ``eoforge --help``, used when a module sets no ``short_help``."""

DEBUG_HINT = "(run again with --debug for the full traceback)"

EXIT_OK = 0
"""Exit status of a command that succeeded."""

EXIT_ERROR = 1
"""Exit status of an unexpected error: any exception that is not an ``EoforgeError``."""

EXIT_INPUT = 2
"""Exit status of an ``EoforgeError`` (bad input, named with its fix) or a usage error."""

EXIT_INTERRUPTED = 130
"""Exit status after Ctrl-C (128 + SIGINT), set by typer; nothing is printed."""


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"eoforge {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version_callback,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            help="Hide progress bars, tables and notes; keep errors and results.",
        ),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback of an error.")
    ] = False,
) -> None:
    """Deep learning on Earth-observation imagery."""
    ui.configure(quiet=quiet, debug=debug)


def _first_sentence(text: str) -> str:
    paragraph = text.strip().split("\n\n")[0]
    return " ".join(paragraph.split()).split(". ")[0].rstrip(".") + "."


def _register_all() -> None:
    """Add every sub-command once, each with a one-line summary for the listing."""
    if app.registered_commands:
        return
    for name in COMMANDS:
        importlib.import_module(f"eoforge.cli.{name}").register(app)
    for command in app.registered_commands:
        if command.short_help:
            continue
        name = command.name or ""
        doc = command.help or (command.callback.__doc__ if command.callback else "") or ""
        command.short_help = SHORT_HELP.get(name) or _first_sentence(doc)


def _problem(exc: BaseException) -> tuple[str, str]:
    """What went wrong and what to do, for exceptions that bad input causes."""
    if isinstance(exc, yaml.YAMLError):
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or type(exc).__name__
        if mark is not None:
            name = "" if str(mark.name).startswith("<") else f"{mark.name}: "
            where = f"{name}line {mark.line + 1}, column {mark.column + 1}"
            return f"{where}: invalid YAML ({problem})", "fix the YAML syntax there."
        return f"invalid YAML ({problem})", "fix the YAML syntax."
    if isinstance(exc, pydantic.ValidationError):
        first = exc.errors(include_url=False)[0]
        key = ".".join(str(p) for p in first["loc"]) or "<top level>"
        more = f" ({exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
        return f"invalid {exc.title}: {key}: {first['msg']}{more}", "correct the value."
    if isinstance(exc, FileNotFoundError):
        where = exc.filename or str(exc)
        return f"{where}: no such file or directory", "check the path and spelling."
    if isinstance(exc, OSError) and exc.filename:
        return _os_problem(exc)
    if isinstance(exc, OSError):  # rasterio's RasterioIOError among others
        return f"cannot read input: {exc}", "check that the path exists and GDAL can open it."
    if isinstance(exc, KeyError):
        key = exc.args[0] if exc.args else ""
        return (
            f"unknown name {key!r}",
            "check the spelling of band, class and key names "
            "(`eoforge info FILE` lists a file's bands).",
        )
    if type(exc).__name__ == "CRSError":  # pyproj's and rasterio's
        return f"invalid CRS: {exc}", "give a CRS such as EPSG:32631."
    if isinstance(exc, ValueError):
        return f"invalid value: {exc}", "check the arguments and the input files."
    return f"unexpected {type(exc).__name__}: {exc}", "please report this with the traceback."


def _os_problem(exc: OSError) -> tuple[str, str]:
    where = exc.filename
    if isinstance(exc, FileExistsError):
        return f"{where}: already exists and is not a folder", "choose another output path."
    if isinstance(exc, NotADirectoryError):
        return f"{where}: part of this path is a file, not a folder", "check the path."
    if isinstance(exc, IsADirectoryError):
        return f"{where}: is a folder, not a file", "give a file path."
    if isinstance(exc, PermissionError):
        return f"{where}: permission denied", "choose a path you can read or write."
    return f"{where}: {exc.strerror or exc}", "check the path and its permissions."


def _fail(exc: BaseException, code: int) -> None:
    if ui.is_debug():
        traceback.print_exception(exc, file=sys.stderr)
    if isinstance(exc, EoforgeError):
        line = f"[bold red]error:[/] {escape(str(exc))}"
    else:
        problem, fix = _problem(exc)
        line = f"[bold red]error:[/] {escape(problem)}. Fix: {escape(fix)} {DEBUG_HINT}"
    ui.err_console().print(" ".join(line.split()), soft_wrap=True, highlight=False)
    sys.exit(code)


def main() -> None:
    """Run the ``eoforge`` command line and exit with a documented status.

    Exit status: :data:`EXIT_OK` (0) on success, :data:`EXIT_INPUT` (2) for an
    ``EoforgeError`` or a usage error, :data:`EXIT_ERROR` (1) for any other
    exception, :data:`EXIT_INTERRUPTED` (130) after Ctrl-C. Errors are one line
    on stderr, with the traceback only under ``--debug``.
    """
    try:
        _register_all()
        ui.configure()
        # Standalone mode: usage errors print the usage message and exit 2, Ctrl-C exits 130.
        # Every other exception reaches the handlers below.
        app(prog_name="eoforge")
    except SystemExit as exc:
        if exc.code not in (EXIT_OK, None):
            raise
    except EoforgeError as exc:
        _fail(exc, EXIT_INPUT)
    except Exception as exc:
        _fail(exc, EXIT_ERROR)


if __name__ == "__main__":
    main()
