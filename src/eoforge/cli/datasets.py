"""``eoforge datasets``: list, describe, download, verify and prepare public benchmarks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.progress import Progress as RichProgress
from rich.status import Status
from rich.table import Table

from eoforge.cli import ui
from eoforge.datasets import dataset_dir, entries, get
from eoforge.datasets import download as download_files
from eoforge.datasets import verify as verify_files
from eoforge.datasets.download import DATA_ENV, Progress
from eoforge.datasets.entry import DatasetEntry, RemoteFile
from eoforge.datasets.extract import extract_all
from eoforge.errors import ConfigError, DownloadError

HELP = """Public Earth-observation benchmarks: list, describe, download, verify, prepare.

Files go to <root>/<name>/, where the data root is --root, else $EOFORGE_DATA,
else ~/.cache/eoforge/datasets. Downloads resume where they stopped and are
checked against the published checksum before they keep their name; prepare
lays out the official splits as folders an experiment config reads.

Examples:

  eoforge datasets list

  eoforge datasets info eurosat-rgb

  eoforge datasets download eurosat-rgb --root /data

  eoforge datasets prepare eurosat-rgb --root /data

Offline? Download the files elsewhere (eoforge datasets info NAME lists their
URLs), place them under <root>/<name>/, then run eoforge datasets verify NAME.
"""

RootOption = Annotated[
    Path | None,
    typer.Option(
        "--root",
        help=f"Data root (default: ${DATA_ENV}, else ~/.cache/eoforge/datasets).",
        show_default=False,
    ),
]
NameArgument = Annotated[str, typer.Argument(help="Dataset name (see `eoforge datasets list`).")]

LIST_HELP = """List the datasets eoforge can download and whether it trains them today.

Example:

  eoforge datasets list
"""

INFO_HELP = """Describe a dataset: task, bands, licence, citation, files, splits, classes.

Example:

  eoforge datasets info levir-cd
"""

DOWNLOAD_HELP = """Download a dataset's files, verify their checksums and extract the archives.

Examples:

  eoforge datasets download eurosat-rgb

  eoforge datasets download levir-cd --split test --root /data

  eoforge datasets download bigearthnet-s2 --dry-run
"""

VERIFY_HELP = """Check a dataset's files on disk against their published checksums.

Files without a published checksum get their SHA-256 recorded on first
check. Exits with status 2 when a file is missing or does not match.

Example:

  eoforge datasets verify eurosat-rgb --root /data
"""

PREPARE_HELP = """Lay out a downloaded dataset's official splits for eoforge and count the classes.

Extracts archives not extracted yet, writes each split under
<root>/<name>/eoforge/<split>/ and the manifest eoforge_splits.json, and
prints the data section of an experiment config.

Example:

  eoforge datasets prepare landcover-ai --root /data
"""

datasets_app = typer.Typer(name="datasets", help=HELP, no_args_is_help=True, add_completion=False)


def _count(n: int, word: str) -> str:
    """``"1 file"``, ``"3 files"``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def human_size(size: int | None) -> str:
    """Bytes as ``"2.0 GB"`` (decimal units); ``"?"`` for None."""
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"  # pragma: no cover - the loop returns


def _entry_size(entry: DatasetEntry) -> str:
    total, complete = entry.size
    if not total:
        return "?"
    return human_size(total) if complete else f">= {human_size(total)}"


def _file_size(file: RemoteFile) -> str:
    if file.size is not None:
        return human_size(file.size)
    return "?" if file.approx_size is None else f"~{human_size(file.approx_size)}"


@datasets_app.command("list", help=LIST_HELP)
def list_datasets() -> None:
    """`eoforge datasets list` (see its ``--help``)."""
    table = Table(title="eoforge datasets")
    for column in ("name", "task", "trainable today", "download", "title"):
        table.add_column(column)
    found = entries()
    for entry in found:
        table.add_row(
            entry.name,
            entry.task,
            entry.trained_by_short,
            _entry_size(entry),
            escape(entry.title),
        )
    ui.out().print(table)
    ui.result(f"{_count(len(found), 'dataset')}; nothing written")


def _check_split(entry: DatasetEntry, split: str | None) -> None:
    if split is not None and split not in entry.splits:
        raise ConfigError(
            f"{entry.name} has no split {split!r}.", fix=f"use one of {list(entry.splits)}."
        )


@datasets_app.command("info", help=INFO_HELP)
def info(name: NameArgument, root: RootOption = None) -> None:
    """`eoforge datasets info` (see its ``--help``)."""
    entry = get(name)
    folder = dataset_dir(entry, root)
    out = ui.out()
    rows = [
        ("title", entry.title),
        ("task", entry.task),
        ("trainable today", entry.trained_by),
        ("config data.kind", entry.data_kind or "-"),
        ("bands", ", ".join(entry.bands)),
        ("GSD", "not published" if entry.gsd is None else f"{entry.gsd:g} m"),
        ("licence", entry.licence),
        ("citation", entry.citation),
        ("homepage", entry.homepage),
        ("splits", f"{', '.join(entry.splits)} ({entry.split_source})"),
        ("notes", entry.notes),
        ("folder", str(folder)),
    ]
    table = Table(title=entry.name, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for key, value in rows:
        if value:
            table.add_row(key, escape(value))
    out.print(table)
    out.print("[bold]published files[/] (checksums and URLs in full, to fetch them by hand)")
    for file in entry.files:
        checksum = "not published" if file.checksum is None else ":".join(file.checksum)
        there = "on disk" if (folder / file.filename).is_file() else "not downloaded"
        needed = f", split {'/'.join(file.splits)}" if file.splits else ""
        lines = [
            f"  {file.filename} ({_file_size(file)}, {there}{needed})",
            f"    url:      {file.url}",
            f"    checksum: {checksum} ({file.checksum_source or 'no source'})",
        ]
        for line in lines:
            out.print(escape(line), soft_wrap=True, highlight=False)
    if entry.classes:
        classes = Table(title="classes")
        classes.add_column("id", justify="right")
        classes.add_column("name")
        classes.add_column("colour")
        for c in entry.classes:
            classes.add_row(str(c.id), escape(c.name), f"[{c.color}]■[/] {c.color}")
        out.print(classes)
    ui.result(f"{entry.name}: {_count(len(entry.files), 'file')}; nothing written")


class _Bars:
    """One rich download bar per file."""

    def __init__(self, progress: RichProgress) -> None:
        self.progress = progress

    def __call__(self, file: RemoteFile) -> Progress:
        task: TaskID = self.progress.add_task(file.filename, total=file.display_size)

        def update(done: int, total: int | None) -> None:
            self.progress.update(task, completed=done, total=total)

        return update


@datasets_app.command("download", help=DOWNLOAD_HELP)
def download(
    name: NameArgument,
    root: RootOption = None,
    split: Annotated[
        str | None, typer.Option("--split", help="Only the files this split needs.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be downloaded; fetch nothing.")
    ] = False,
) -> None:
    """`eoforge datasets download` (see its ``--help``)."""
    entry = get(name)
    _check_split(entry, split)
    folder = dataset_dir(entry, root)
    files = entry.files_for(split)
    if dry_run:
        table = Table(title=f"{entry.name}: download plan")
        for column in ("file", "size", "on disk", "url"):
            table.add_column(column, overflow="fold")
        for file in files:
            there = "yes" if (folder / file.filename).is_file() else "no"
            table.add_row(file.filename, _file_size(file), there, file.url)
        ui.out().print(table)
        ui.result(f"dry run: {_count(len(files), 'file')} to {folder}; nothing written")
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with ui.progress(*columns) as bars:
        paths = download_files(entry, root, split, progress=_Bars(bars))
    extract = [f for f in files if f.extract]
    if extract:
        with ui.status(f"extracting {len(extract)} archives of {entry.name}"):
            extract_all(_only(entry, extract), root, None)
    for fetched in paths:
        verb = "wrote" if fetched.downloaded else "kept (there already, checksum matches)"
        ui.result(f"{verb} {fetched.path}")
    ui.result(
        f"{entry.name}: {_count(len(paths), 'file')} verified in {folder}"
        + (f", archives extracted under {folder / 'extracted'}" if extract else "")
        + f". Next: eoforge datasets prepare {entry.name}"
    )


def _only(entry: DatasetEntry, files: list[RemoteFile]) -> DatasetEntry:
    """``entry`` restricted to ``files`` (to extract the archives of one split)."""
    return entry.model_copy(update={"files": tuple(files)})


@datasets_app.command("verify", help=VERIFY_HELP)
def verify(name: NameArgument, root: RootOption = None) -> None:
    """`eoforge datasets verify` (see its ``--help``)."""
    entry = get(name)
    folder = dataset_dir(entry, root)
    with ui.status(f"checking {len(entry.files)} files of {entry.name}"):
        checks = verify_files(entry, root)
    table = Table(title=f"{entry.name}: {folder}")
    for column in ("file", "status", "expected", "found"):
        table.add_column(column, overflow="fold")
    for check in checks:
        table.add_row(check.file.filename, check.status, check.expected or "-", check.actual or "-")
    ui.out().print(table)
    bad = [c for c in checks if c.status in ("missing", "mismatch")]
    if bad:
        listed = ", ".join(f"{c.file.filename} ({c.status})" for c in bad)
        raise DownloadError(
            f"{len(bad)} of {len(checks)} files are not right: {listed}.",
            path=folder,
            fix=f"run `eoforge datasets download {entry.name}` (delete mismatching files first).",
        )
    ui.result(f"{entry.name}: {_count(len(checks), 'file')} verified in {folder}; nothing written")


@datasets_app.command("prepare", help=PREPARE_HELP)
def prepare(name: NameArgument, root: RootOption = None) -> None:
    """`eoforge datasets prepare` (see its ``--help``)."""
    # Deferred for the CLI's start-up time: prepare imports rasterio and numpy.
    from eoforge.datasets.prepare import prepare as prepare_splits

    entry = get(name)
    with ui.status(f"preparing {entry.name}") as status:

        def step(text: str) -> None:
            if isinstance(status, Status):
                status.update(f"{entry.name}: {text}")

        done = prepare_splits(entry, root, step)
    table = Table(title=f"{entry.name}: class counts ({done.unit})")
    table.add_column("class")
    for split in done.splits:
        table.add_column(f"{split.name} ({split.count})", justify="right")
    for c in entry.classes:
        table.add_row(escape(c.name), *(f"{s.class_counts.get(c.name, 0):,}" for s in done.splits))
    ui.console().print(table)
    for split in done.splits:
        ui.result(f"{split.name}: {_count(split.count, 'item')} in {split.path}")
    if done.unassigned:
        ui.console().print(f"{_count(done.unassigned, 'item')} in no official split (left out).")
    ui.console().print(
        "Experiment config:\n" + yaml.safe_dump({"data": done.config}, sort_keys=False)
    )
    ui.result(f"wrote {done.manifest}")


def register(app: typer.Typer) -> None:
    """Add ``datasets`` to the ``eoforge`` command."""
    app.add_typer(
        datasets_app,
        name="datasets",
        short_help="Download, verify and prepare public benchmark datasets.",
    )
