"""Options and progress of the commands that run the predict engine (``predict``, ``embed``).

Both take ``--workers`` / ``--scheduler`` (run the blocks on Dask) and
``--resume`` (continue from the journal), and show one progress bar per scene
with its rate in megapixels per second. The option types below are used as
the parameters' annotations, so both commands offer the same flags and help.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, TextColumn, TimeRemainingColumn

from eoforge.cli import ui

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rich.progress import TaskID

    from eoforge.predict import RunOptions, SceneResult

Workers = Annotated[int | None, typer.Option(help="Run on a local Dask cluster of N processes.")]
"""``--workers N``: a local Dask cluster of ``N`` processes."""

Scheduler = Annotated[str | None, typer.Option(help="Run on the Dask scheduler at this address.")]
"""``--scheduler ADDRESS``: an existing Dask scheduler."""

Resume = Annotated[
    bool, typer.Option("--resume", help="Continue an interrupted run from its journal.")
]
"""``--resume``: continue from the run's journal."""

SceneProgress = Callable[[str, int, int], None]
"""``report(scene, done, total)``: pixels of ``scene`` done so far out of ``total``."""


def run_options(resume: bool, workers: int | None, scheduler: str | None) -> RunOptions:
    """The engine's run options for ``--resume``, ``--workers`` and ``--scheduler``.

    Args:
        resume: Continue from the journal.
        workers: Processes of a local Dask cluster, or None.
        scheduler: Address of a Dask scheduler, or None.

    Returns:
        Run options with Dask (2 local workers unless given) when either
        ``workers`` or ``scheduler`` is set, else local.
    """
    # the predict engine loads only when a command runs it: `eoforge --version` stays fast
    from eoforge.predict import DaskOptions, RunOptions

    dask = None
    if workers is not None or scheduler is not None:
        dask = DaskOptions(scheduler=scheduler, workers=workers or 2)
    return RunOptions(resume, dask)


@contextmanager
def scene_progress() -> Iterator[SceneProgress]:
    """One progress bar per scene (added on its first report) with its MP/s rate.

    Yields:
        The callback to give the engine as ``progress``; nothing shows under ``--quiet``.
    """
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[rate]}"))
    with ui.progress(*columns, TimeRemainingColumn()) as bar:
        tasks: dict[str, tuple[TaskID, float]] = {}

        def report(scene: str, done: int, total: int) -> None:
            if scene not in tasks:
                tasks[scene] = (bar.add_task(scene, total=total, rate=""), time.perf_counter())
            task, start = tasks[scene]
            rate = done / 1e6 / max(time.perf_counter() - start, 1e-9)
            bar.update(task, total=total, completed=done, rate=f"{rate:.2f} MP/s")

        yield report


def print_results(results: Sequence[SceneResult]) -> None:
    """Each scene's megapixels and seconds, then every file written (the command's last words)."""
    console = ui.console()
    for result in results:
        console.print(f"{result.name}: {result.megapixels:.1f} MP in {result.seconds:.1f} s")
    for result in results:
        for path in result.paths.values():
            ui.result(f"wrote {path}")
