"""A self-contained HTML report of a run: imagery, maps, accuracy, training and timings.

:func:`write_report` reads ``RUN_DIR/run.json`` (written by ``eoforge demo``),
draws the figures of :mod:`eoforge.evaluate` into ``RUN_DIR/report/``
and writes ``RUN_DIR/report.html`` with every PNG embedded as a data URI, so
the one HTML file can be mailed or archived on its own. Inputs the run lacks
(no Sentinel-1, no training log, ...) give a section that says so; only an
unusable run folder is an error.

``run.json`` holds, with paths relative to the run folder (absolute ones work too)::

    {"title": "eoforge demo", "created": "2024-07-01T12:00:00", "seed": 0,
     "scene": {"name": "unseen", "folder": "...", "s2": "...", "s1": "...", "labels": "..."},
     "prediction": {"classes": "...", "confidence": null, "vectors": null,
                    "mpix_per_s": 1.2, "seconds": 10.0, "megapixels": 12.0},
     "metrics": "evaluation.json",
     "training": {"metrics_csv": "...", "bundle": "...", "seconds": 100.0, "epochs": 5},
     "stages": [{"name": "generate scenes", "seconds": 3.2}],
     "commands": [{"step": "Index your scenes", "command": "eoforge index ..."}]}

When the metrics file is a detection bundle's evaluation (it has a ``detection``
section, see :mod:`eoforge.evaluate.detection_outputs`), the overview shows mAP
and a Detection section replaces the pixel accuracy one: the per-class AP
table, the precision-recall curves (drawn again from the curves file beside the
metrics) and the example detections figure.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from eoforge.classes import ClassInfo
from eoforge.errors import EoforgeError, MissingFileError, UnreadableFileError
from eoforge.evaluate.curves import learning_curves
from eoforge.evaluate.detection_curves import read_curves
from eoforge.evaluate.detection_figures import pr_curves_figure
from eoforge.evaluate.figures import save_png
from eoforge.evaluate.maps import class_map, error_map, quicklook
from eoforge.evaluate.matrices import confusion_matrix
from eoforge.evaluate.readers import read_classes

TRUE_COLOUR = ("S2.B04", "S2.B03", "S2.B02")
FALSE_COLOUR = ("S2.B08", "S2.B04", "S2.B03")
SAR_BAND = "S1.VV"
REPORT_NAME = "report.html"
FIGURE_FOLDER = "report"

_FIX = (
    "run `eoforge demo` first (it writes RUN_DIR/run.json), e.g. `eoforge demo --out runs/demo` "
    "then `eoforge report runs/demo`."
)


class _AbsentInputError(Exception):
    """An optional input the run does not have; its section says so."""


@dataclass(frozen=True)
class _Run:
    """A parsed ``run.json`` and the folder its relative paths start from."""

    folder: Path
    data: Mapping[str, Any]

    def section(self, key: str) -> Mapping[str, Any]:
        value = self.data.get(key)
        return value if isinstance(value, Mapping) else {}

    def path(self, value: Any, what: str) -> Path:
        """Resolve a path field, raising :class:`_AbsentInputError` when it is unset or missing."""
        if not isinstance(value, str) or not value.strip():
            raise _AbsentInputError(f"{what}: not part of this run.")
        path = Path(value)
        path = path if path.is_absolute() else self.folder / path
        if not path.exists():
            raise _AbsentInputError(
                f"{what}: {_rel(path, self.folder)} is listed in run.json but missing."
            )
        return path


def _rel(path: Path, folder: Path) -> str:
    try:
        return str(path.relative_to(folder))
    except ValueError:
        return str(path)


def load_run(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check ``RUN_DIR/run.json``.

    Args:
        run_dir: Run folder written by ``eoforge demo``.

    Returns:
        The parsed JSON object.

    Raises:
        MissingFileError: The folder or its ``run.json`` does not exist.
        UnreadableFileError: ``run.json`` is not a JSON object.
    """
    folder = Path(run_dir)
    if not folder.is_dir():
        what = "is a file, not a run folder." if folder.exists() else "run folder does not exist."
        raise MissingFileError(what, path=folder, fix=_FIX)
    manifest = folder / "run.json"
    if not manifest.is_file():
        raise MissingFileError(
            "holds no run.json, so it is not a finished run folder.", path=folder, fix=_FIX
        )
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UnreadableFileError(
            f"is not valid JSON ({exc}).",
            path=manifest,
            fix="re-run `eoforge demo` to rewrite it, or repair the file.",
        ) from exc
    if not isinstance(data, dict):
        raise UnreadableFileError(
            f"holds a JSON {type(data).__name__}, not an object.",
            path=manifest,
            fix="re-run `eoforge demo` to rewrite it.",
        )
    return data


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _fmt(value: Any, digits: int = 3, suffix: str = "") -> str:
    number = _number(value)
    return "–" if number is None else f"{number:.{digits}f}{suffix}"


def _load_metrics(run: _Run) -> Mapping[str, Any]:
    path = run.path(run.data.get("metrics"), "metrics")
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise _AbsentInputError(
            f"metrics: {_rel(path, run.folder)} is not valid JSON ({exc})."
        ) from exc
    if not isinstance(metrics, Mapping):
        raise _AbsentInputError(f"metrics: {_rel(path, run.folder)} is not a JSON object.")
    return metrics


# --------------------------------------------------------------------------- figures


@dataclass
class _Figures:
    """Draws figures into the PNG folder and returns their HTML blocks."""

    run: _Run
    folder: Path
    written: list[Path]

    def block(self, name: str, heading: str, draw: Callable[[], Figure], caption: str) -> str:
        """``<figure>`` with the embedded PNG, or a note saying why there is none."""
        title = f"<h3>{html.escape(heading)}</h3>"
        try:
            fig = draw()
        except _AbsentInputError as exc:
            return f'<div class="panel">{title}{_absent(str(exc))}</div>'
        except EoforgeError as exc:
            return (
                f'<div class="panel">{title}<p class="absent">Could not be drawn: '
                f"{html.escape(str(exc))}</p></div>"
            )
        path = save_png(fig, self.folder / f"{name}.png")
        self.written.append(path)
        return _embedded(path, name, title, heading, caption)

    def copy(self, name: str, heading: str, source: Callable[[], Path], caption: str) -> str:
        """Like :meth:`block` for a PNG that already exists: copied, then embedded."""
        title = f"<h3>{html.escape(heading)}</h3>"
        try:
            found = source()
        except _AbsentInputError as exc:
            return f'<div class="panel">{title}{_absent(str(exc))}</div>'
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{name}.png"
        staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            shutil.copyfile(found, staging)
            os.replace(staging, path)
        finally:
            staging.unlink(missing_ok=True)
        self.written.append(path)
        return _embedded(path, name, title, heading, caption)


def _embedded(path: Path, name: str, title: str, heading: str, caption: str) -> str:
    """A panel with the PNG at ``path`` embedded as a data URI."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<div class="panel">{title}<figure><img alt="{html.escape(heading)}" '
        f'src="data:image/png;base64,{data}"><figcaption>{html.escape(caption)} '
        f'<span class="file">({FIGURE_FOLDER}/{name}.png)</span></figcaption></figure></div>'
    )


def _prediction_classes(run: _Run) -> list[ClassInfo]:
    try:
        path = run.path(run.section("prediction").get("classes"), "prediction")
        return read_classes(path)
    except (_AbsentInputError, EoforgeError):
        return []


def _label_classes(path: Path, fallback: Sequence[ClassInfo]) -> list[ClassInfo] | None:
    """The label raster's own classes when it names them, else the prediction's."""
    own = read_classes(path)
    named = [c for c in own if not c.name.startswith("class ")]
    if named:
        return own
    return list(fallback) or None


def _imagery(figs: _Figures) -> str:
    scene = figs.run.section("scene")

    def optical(bands: Sequence[str], title: str) -> Callable[[], Figure]:
        return lambda: quicklook(
            figs.run.path(scene.get("s2"), "Sentinel-2 scene"), bands, title=title
        )

    def sar() -> Figure:
        folder = figs.run.path(scene.get("s1"), "Sentinel-1 scene")
        return quicklook(folder, [SAR_BAND], title="Sentinel-1 VV backscatter", unit="dB")

    blocks = [
        figs.block(
            "true_colour",
            "True colour",
            optical(TRUE_COLOUR, "Sentinel-2 true colour (B04, B03, B02)"),
            "Red, green, blue; each band stretched between its 2nd and 98th percentile.",
        ),
        figs.block(
            "false_colour",
            "False colour (NIR–red–green)",
            optical(FALSE_COLOUR, "Sentinel-2 false colour (B08, B04, B03)"),
            "Near infrared as red: vegetation shows red, water dark, built-up grey-cyan.",
        ),
        figs.block(
            "s1_vv",
            "Sentinel-1 VV",
            sar,
            "VV backscatter in dB: water dark, buildings and corner reflectors bright.",
        ),
    ]
    return _section("imagery", "Imagery", "".join(blocks), grid=True)


def _maps(figs: _Figures, classes: Sequence[ClassInfo]) -> str:
    scene = figs.run.section("scene")
    prediction = figs.run.section("prediction")

    def labels() -> Figure:
        path = figs.run.path(scene.get("labels"), "label raster")
        return class_map(path, _label_classes(path, classes), title="Reference labels")

    def predicted() -> Figure:
        path = figs.run.path(prediction.get("classes"), "prediction")
        return class_map(path, classes or None, title="Prediction")

    def errors() -> Figure:
        pred = figs.run.path(prediction.get("classes"), "prediction")
        ref = figs.run.path(scene.get("labels"), "label raster")
        return error_map(pred, ref, title="Prediction vs reference")

    blocks = [
        figs.block("labels", "Label map", labels, "Reference land cover in its class colours."),
        figs.block("prediction", "Prediction map", predicted, "Predicted classes, same colours."),
        figs.block(
            "errors",
            "Error map",
            errors,
            "Green: prediction agrees with the reference; red: it does not; "
            "grey: no reference or no prediction.",
        ),
    ]
    return _section("maps", "Maps", "".join(blocks), grid=True)


# --------------------------------------------------------------------------- sections


def _section(anchor: str, heading: str, body: str, *, grid: bool = False) -> str:
    inner = f'<div class="grid">{body}</div>' if grid else body
    return f'<section id="{anchor}"><h2>{html.escape(heading)}</h2>{inner}</section>'


def _absent(text: str) -> str:
    return f'<p class="absent">Absent — {html.escape(text)}</p>'


def _overview(run: _Run, metrics: Mapping[str, Any] | None, why: str) -> str:
    prediction = run.section("prediction")
    training = run.section("training")
    scene = run.section("scene")
    m = metrics or {}
    detection = _detection_of(metrics)
    scores = [
        ("mIoU", _fmt(m.get("miou"))),
        ("overall accuracy", _fmt(m.get("overall_accuracy"))),
        ("kappa", _fmt(m.get("kappa"))),
        ("mean F1", _fmt(m.get("mean_f1"))),
    ]
    if detection is not None:
        scores = [
            (f"mAP ({detection.get('style', '?')})", _fmt(detection.get("map"))),
            ("images scored", _fmt(detection.get("images"), 0)),
            ("objects", _fmt(detection.get("objects"), 0)),
        ]
    cards = [
        *scores,
        ("prediction speed", _fmt(_throughput(prediction), 2, " MP/s")),
        ("training", _fmt(training.get("seconds"), 0, " s")),
    ]
    tiles = "".join(
        f'<div class="card"><div class="value">{html.escape(v)}</div>'
        f'<div class="label">{html.escape(k)}</div></div>'
        for k, v in cards
    )
    facts = [
        ("scene", scene.get("name")),
        ("scene folder", scene.get("folder")),
        ("pixels scored", f"{int(n):,}" if (n := _number(m.get("pixels"))) is not None else None),
        ("epochs", training.get("epochs")),
        ("model bundle", training.get("bundle")),
        ("seed", run.data.get("seed")),
        ("created", run.data.get("created")),
    ]
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in facts
        if v is not None
    )
    note = "" if metrics is not None else _absent(why)
    return _section("overview", "Overview", f'<div class="cards">{tiles}</div>{note}'
                    f'<table class="facts">{rows}</table>{_map_link(run)}')  # fmt: skip


def _map_link(run: _Run) -> str:
    """The line that tells how to explore the run on a map (``eoforge serve``)."""
    url = "http://127.0.0.1:8000/"
    command = html.escape(f"eoforge serve {run.folder}")
    return (
        f'<p class="map-link">Explore on a map: <code>{command}</code>, then '
        f'<a href="{url}">{url}</a></p>'
    )


def _throughput(prediction: Mapping[str, Any]) -> float | None:
    rate = _number(prediction.get("mpix_per_s"))
    if rate is not None:
        return rate
    mpix, seconds = _number(prediction.get("megapixels")), _number(prediction.get("seconds"))
    return mpix / seconds if mpix is not None and seconds else None


def _accuracy(
    figs: _Figures, metrics: Mapping[str, Any] | None, classes: Sequence[ClassInfo], why: str
) -> str:
    def matrix() -> Figure:
        if metrics is None:
            raise _AbsentInputError(why)
        counts, names = metrics.get("confusion_matrix"), metrics.get("class_names")
        if not isinstance(counts, list) or not counts:
            raise _AbsentInputError("the metrics file has no confusion matrix.")
        if not isinstance(names, list) or len(names) != len(counts):
            names = [f"class {i}" for i in range(len(counts))]
        return confusion_matrix(counts, [str(n) for n in names], title="Confusion matrix")

    block = figs.block(
        "confusion_matrix",
        "Confusion matrix",
        matrix,
        "Rows: reference class; columns: predicted class; colour: share of the reference "
        "class (the diagonal is each class's recall); second line: pixel count.",
    )
    table = _per_class_table(metrics, classes, why)
    return _section("accuracy", "Accuracy", f"{block}<h3>Per-class IoU and F1</h3>{table}")


def _per_class_table(
    metrics: Mapping[str, Any] | None, classes: Sequence[ClassInfo], why: str
) -> str:
    if metrics is None:
        return _absent(why)
    entries = metrics.get("per_class")
    if not isinstance(entries, list) or not entries:
        return _absent("the metrics file has no per-class scores.")
    colours = {c.id: c.color for c in classes}
    rows = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        support = _number(entry.get("support"))
        rows.append(
            "<tr>"
            f"{_class_cells(entry, colours, _number(entry.get('iou')))}"
            f"<td class=num>{_fmt(entry.get('f1'))}</td>"
            f"<td class=num>{_fmt(entry.get('precision'))}</td>"
            f"<td class=num>{_fmt(entry.get('recall'))}</td>"
            f"<td class=num>{'–' if support is None else f'{int(support):,}'}</td>"
            "</tr>"
        )
    head = (
        "<tr><th>class</th><th>id</th><th>IoU</th><th>F1</th><th>precision</th>"
        "<th>recall</th><th>support (px)</th></tr>"
    )
    return _scores_table(head, rows)


def _class_cells(entry: Mapping[str, Any], colours: Mapping[int, str], score: float | None) -> str:
    """A per-class row's first cells: swatch and name, id, and ``score`` (0-1) with its bar."""
    ident = entry.get("id")
    colour = colours.get(ident) if isinstance(ident, int) else None
    swatch = f'<span class="swatch" style="background:{colour}"></span>' if colour else ""
    bar = (
        f'<span class="bar" style="width:{max(0.0, min(score, 1.0)) * 100:.0f}%"></span>'
        if score is not None
        else ""
    )
    return (
        f"<td>{swatch}{html.escape(str(entry.get('name', ident)))}</td>"
        f"<td class=num>{html.escape(str(ident))}</td>"
        f'<td class="num iou">{bar}<span>{_fmt(score)}</span></td>'
    )


def _scores_table(head: str, rows: Sequence[str]) -> str:
    """A ``scores`` table of one header row and the body ``rows``."""
    return f'<table class="scores"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _detection_of(metrics: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The ``detection`` section of a detection bundle's evaluation, else None."""
    section = (metrics or {}).get("detection")
    return section if isinstance(section, Mapping) else None


def _detection(figs: _Figures, detection: Mapping[str, Any], classes: Sequence[ClassInfo]) -> str:
    files = detection.get("files")
    files = files if isinstance(files, Mapping) else {}
    metrics_path = figs.run.path(figs.run.data.get("metrics"), "metrics")

    def beside(key: str, what: str) -> Path:
        name = files.get(key)
        if not isinstance(name, str):
            raise _AbsentInputError(f"{what}: the evaluation wrote none.")
        path = metrics_path.parent / name
        if not path.is_file():
            raise _AbsentInputError(f"{what}: {_rel(path, figs.run.folder)} is missing.")
        return path

    def curves() -> Figure:
        path = beside("pr_curves_json", "precision-recall curves")
        return pr_curves_figure(read_curves(path), _detection_classes(detection, classes))

    threshold = _fmt(detection.get("score_threshold"), 2)
    blocks = [
        figs.block(
            "pr_curves",
            "Precision–recall per class",
            curves,
            "Each class's monotone precision envelope over recall (what AP integrates); "
            f"the data is in {files.get('pr_curves_csv', 'the curves CSV')}.",
        ),
        figs.copy(
            "detection_examples",
            "Example detections",
            lambda: beside("examples_png", "example detections"),
            f"The validation images with the most objects: ground truth dashed, predictions "
            f"scoring at least {threshold} solid when they match an object, dotted (FP) "
            "when they do not.",
        ),
    ]
    table = _ap_table(detection, classes)
    iou = _fmt(detection.get("iou_threshold"), 2)
    intro = (
        f'<p class="speed">AP style <strong>{html.escape(str(detection.get("style", "?")))}'
        f"</strong>, a match needs IoU above {iou}; precision and recall at score "
        f"{threshold}.</p>"
    )
    body = f'{intro}<h3>Per-class AP</h3>{table}<div class="grid">{"".join(blocks)}</div>'
    return _section("detection", "Detection", body)


def _detection_classes(
    detection: Mapping[str, Any], fallback: Sequence[ClassInfo]
) -> list[ClassInfo]:
    """Class colours saved with the detection section, else the run's classes."""
    found = []
    entries = detection.get("per_class")
    for entry in entries if isinstance(entries, list) else []:
        try:
            found.append(ClassInfo(id=entry["id"], name=entry["name"], color=entry["color"]))
        except (KeyError, TypeError, ValueError):
            continue
    return found or list(fallback)


def _ap_table(detection: Mapping[str, Any], classes: Sequence[ClassInfo]) -> str:
    entries = detection.get("per_class")
    if not isinstance(entries, list) or not entries:
        return _absent("the evaluation has no per-class AP.")
    colours = {c.id: c.color for c in _detection_classes(detection, classes)}
    rows = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        ap = _number(entry.get("ap"))
        ap = None if ap is not None and math.isnan(ap) else ap
        rows.append(
            "<tr>"
            f"{_class_cells(entry, colours, ap)}"
            f"<td class=num>{_fmt(entry.get('objects'), 0)}</td>"
            f"<td class=num>{_fmt(entry.get('predictions'), 0)}</td>"
            f"<td class=num>{_fmt(entry.get('recall_reached'))}</td>"
            f"<td class=num>{_fmt(entry.get('precision_at_threshold'))}</td>"
            f"<td class=num>{_fmt(entry.get('recall_at_threshold'))}</td>"
            "</tr>"
        )
    head = (
        "<tr><th>class</th><th>id</th><th>AP</th><th>objects</th><th>predictions</th>"
        "<th>recall reached</th><th>precision at score</th><th>recall at score</th></tr>"
    )
    return _scores_table(head, rows)


def _training(figs: _Figures) -> str:
    def curves() -> Figure:
        csv_path = figs.run.path(figs.run.section("training").get("metrics_csv"), "training log")
        return learning_curves(csv_path, title="Learning curves")

    block = figs.block(
        "learning_curves",
        "Loss and validation metrics per epoch",
        curves,
        "From the Lightning CSV log; training dashed, validation solid.",
    )
    return _section("training", "Learning curves", block)


def _timings(run: _Run) -> str:
    stages = run.data.get("stages")
    rows: list[tuple[str, float]] = []
    for stage in stages if isinstance(stages, list) else []:
        seconds = _number(stage.get("seconds")) if isinstance(stage, Mapping) else None
        if seconds is not None:
            rows.append((str(stage.get("name", "?")), seconds))
    total = sum(s for _, s in rows)
    if rows:
        body = "".join(
            f"<tr><td>{html.escape(name)}</td><td class=num>{seconds:,.1f}</td>"
            f"<td class=num>{100 * seconds / total if total else 0:.0f} %</td></tr>"
            for name, seconds in rows
        )
        table = (
            '<table class="scores"><thead><tr><th>stage</th><th>seconds</th><th>share</th>'
            f"</tr></thead><tbody>{body}<tr class=total><td>total</td>"
            f"<td class=num>{total:,.1f}</td><td class=num>100 %</td></tr></tbody></table>"
        )
    else:
        table = _absent("run.json lists no stage timings.")
    prediction = run.section("prediction")
    rate = _throughput(prediction)
    if rate is None:
        speed = _absent("no prediction timing in this run.")
    else:
        speed = (
            f'<p class="speed">Prediction throughput: <strong>{rate:.2f} MP/s</strong> '
            f"({_fmt(prediction.get('megapixels'), 2)} megapixels in "
            f"{_fmt(prediction.get('seconds'), 1)} s).</p>"
        )
    return _section("timings", "Timings", f"{table}{speed}")


def _commands(run: _Run) -> str:
    commands = run.data.get("commands")
    blocks = []
    for item in commands if isinstance(commands, list) else []:
        if isinstance(item, Mapping) and isinstance(item.get("command"), str):
            step = html.escape(str(item.get("step", "")))
            blocks.append(f"<h3>{step}</h3><pre><code>{html.escape(item['command'])}</code></pre>")
    intro = (
        "<p>The same steps on your own imagery: point the commands at your product folders "
        "and label rasters instead of the synthetic scenes.</p>"
    )
    body = "".join(blocks) if blocks else _absent("run.json lists no commands.")
    return _section("reproduce", "Reproduce on your own data", intro + body)


# --------------------------------------------------------------------------- page

_CSS = """
:root{--ink:#1f2933;--muted:#62707d;--line:#e3e8ee;--accent:#1d6fa5;--bg:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 -apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
 color:var(--ink);background:var(--bg)}
header{background:#17324d;color:#fff;padding:28px 40px 18px}
header h1{margin:0 0 4px;font-size:26px}header p{margin:0;color:#c9d6e2}
nav{background:#fff;border-bottom:1px solid var(--line);padding:8px 40px;position:sticky;top:0}
nav a{color:var(--accent);margin-right:18px;text-decoration:none;font-size:14px}
main{max-width:1200px;margin:0 auto;padding:10px 40px 60px}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:18px 24px;
 margin:22px 0}
h2{margin:0 0 12px;font-size:20px}h3{margin:14px 0 8px;font-size:16px;color:#334}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:18px}
.panel h3{margin-top:4px}
figure{margin:0}img{max-width:100%;height:auto;border:1px solid var(--line);border-radius:4px}
figcaption{color:var(--muted);font-size:13px;margin-top:4px}.file{color:#98a2ad}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:14px}
.card{flex:1 1 150px;background:var(--bg);border:1px solid var(--line);border-radius:6px;
 padding:12px 14px}
.card .value{font-size:24px;font-weight:600;color:var(--accent)}
.card .label{color:var(--muted);font-size:13px}
table{border-collapse:collapse;margin:8px 0}
th,td{padding:5px 12px;border-bottom:1px solid var(--line);text-align:left}
.facts th{color:var(--muted);font-weight:normal}
.scores thead th{background:var(--bg)}.num{text-align:right;font-variant-numeric:tabular-nums}
.iou{position:relative;min-width:110px}.iou span{position:relative}
.bar{position:absolute;left:0;top:4px;bottom:4px;background:#cfe3f3;border-radius:2px}
.total td{font-weight:600}
.swatch{display:inline-block;width:12px;height:12px;border:1px solid #555;margin-right:8px;
 vertical-align:-1px}
.absent{color:#8a5a00;background:#fff7e6;border:1px solid #f3dca6;border-radius:4px;
 padding:8px 12px}
pre{background:#0f1b26;color:#e6edf3;padding:12px 14px;border-radius:6px;overflow-x:auto;
 font-size:13px}
.speed strong{color:var(--accent)}
"""

_NAV = [
    ("overview", "Overview"),
    ("imagery", "Imagery"),
    ("maps", "Maps"),
    ("accuracy", "Accuracy"),
    ("training", "Learning curves"),
    ("timings", "Timings"),
    ("reproduce", "Reproduce"),
]


def _page(
    run: _Run, sections: Sequence[str], nav_items: Sequence[tuple[str, str]] = tuple(_NAV)
) -> str:
    title = html.escape(str(run.data.get("title") or "eoforge run"))
    created = run.data.get("created")
    scene = run.section("scene").get("name")
    sub = " · ".join(str(v) for v in (f"scene {scene}" if scene else None, created) if v)
    nav = "".join(f'<a href="#{a}">{html.escape(t)}</a>' for a, t in nav_items)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{title}</h1><p>{html.escape(sub)}</p></header><nav>{nav}</nav>"
        f"<main>{''.join(sections)}</main></body></html>\n"
    )


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_report(run_dir: str | os.PathLike[str]) -> Path:
    """Write ``RUN_DIR/report.html`` and its figures ``RUN_DIR/report/*.png``.

    Args:
        run_dir: Run folder holding ``run.json`` (as ``eoforge demo`` writes it).

    Returns:
        The path of ``report.html`` (self-contained: figures embedded as data URIs).

    Raises:
        MissingFileError: ``run_dir`` or its ``run.json`` does not exist.
        UnreadableFileError: ``run.json`` is not a JSON object.
    """
    folder = Path(run_dir)
    run = _Run(folder, load_run(folder))
    figs = _Figures(run, folder / FIGURE_FOLDER, [])
    try:
        metrics: Mapping[str, Any] | None = _load_metrics(run)
        why = ""
    except _AbsentInputError as exc:
        metrics, why = None, str(exc)
    classes = _prediction_classes(run)
    detection = _detection_of(metrics)
    nav = list(_NAV)
    if detection is None:
        scores = _accuracy(figs, metrics, classes, why)
    else:  # a detector's evaluation: AP and its figures instead of pixel accuracy
        scores = _detection(figs, detection, classes)
        nav[nav.index(("accuracy", "Accuracy"))] = ("detection", "Detection")
    sections = [
        _overview(run, metrics, why),
        _imagery(figs),
        _maps(figs, classes),
        scores,
        _training(figs),
        _timings(run),
        _commands(run),
    ]
    target = folder / REPORT_NAME
    _write_atomic(target, _page(run, sections, nav))
    return target


__all__ = ["FALSE_COLOUR", "TRUE_COLOUR", "load_run", "write_report"]
