"""The HTML run report (eoforge.evaluate.report.write_report)."""

from __future__ import annotations

import base64
import csv
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from PIL import Image

from eoforge.errors import EoforgeError, MissingFileError, UnreadableFileError
from eoforge.evaluate.report import write_report
from eoforge.synth import generate_scene

SECTIONS = [
    "Overview",
    "Imagery",
    "True colour",
    "False colour (NIR–red–green)",
    "Sentinel-1 VV",
    "Maps",
    "Label map",
    "Prediction map",
    "Error map",
    "Accuracy",
    "Confusion matrix",
    "Per-class IoU and F1",
    "Learning curves",
    "Timings",
    "Reproduce on your own data",
]
COMMANDS = [
    {"step": "Index your scenes", "command": "eoforge index scenes/ --out catalog.parquet"},
    {"step": "Train", "command": "eoforge train configs/landcover.yaml --set 'a<b'"},
]
IMAGE = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def _write_prediction(labels: Path, out: Path, legend: list[dict[str, Any]]) -> np.ndarray:
    """A noisy copy of the label raster written like the predict engine writes class maps."""
    with rasterio.open(labels) as ds:
        reference = ds.read(1)
        profile = ds.profile
    rng = np.random.default_rng(0)
    prediction = reference.copy()
    flip = rng.random(reference.shape) < 0.15
    prediction[flip] = rng.integers(1, 12, int(flip.sum()))
    prediction[reference == 0] = 255
    prediction[:10, :10] = 255
    profile.update(nodata=255)
    out.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(prediction[None])
        classes = [c for c in legend if c["value"] != 0]
        dst.write_colormap(1, {c["value"]: (*c["color"], 255) for c in classes})
        dst.update_tags(1, **{f"CLASS_{c['value']}": c["name"] for c in classes})
    return prediction


def _metrics(
    reference: np.ndarray, prediction: np.ndarray, names: dict[int, str]
) -> dict[str, Any]:
    ids = sorted(names)
    scored = (reference != 0) & (prediction != 255)
    index = {v: i for i, v in enumerate(ids)}
    matrix = np.zeros((len(ids), len(ids)), np.int64)
    for r, p in zip(reference[scored], prediction[scored], strict=True):
        matrix[index[int(r)], index[int(p)]] += 1
    tp = np.diag(matrix).astype(float)
    support, predicted = matrix.sum(1), matrix.sum(0)
    iou = tp / np.maximum(support + predicted - tp, 1)
    precision, recall = tp / np.maximum(predicted, 1), tp / np.maximum(support, 1)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    per_class = [
        {
            "id": v,
            "name": names[v],
            "iou": float(iou[i]),
            "f1": float(f1[i]),
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "support": int(support[i]),
        }
        for i, v in enumerate(ids)
    ]
    return {
        "miou": float(iou.mean()),
        "overall_accuracy": float(tp.sum() / matrix.sum()),
        "kappa": 0.8123,
        "mean_f1": float(f1.mean()),
        "pixels": int(matrix.sum()),
        "class_ids": ids,
        "class_names": [names[v] for v in ids],
        "confusion_matrix": matrix.tolist(),
        "per_class": per_class,
    }


def _metrics_csv(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["epoch", "step", "train/loss", "val/loss", "val/miou"])
        for epoch in range(3):
            writer.writerow([epoch, 2 * epoch, 1.5 / (epoch + 1), "", ""])
            writer.writerow([epoch, 2 * epoch + 1, "", 1.7 / (epoch + 1), 0.3 + 0.2 * epoch])


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run as the demo lays it out, with run.json and relative paths."""
    run = tmp_path_factory.mktemp("run")
    scene = run / "scenes" / "unseen"
    generate_scene(scene, size=128, seed=5, sensors="s2,s1", dates=1, clouds=0.0, vectors=False)
    date = next((scene / "s2").iterdir()).name
    labels = scene / "labels" / f"landcover_{date}.tif"
    legend = json.loads((scene / "legend.json").read_text())["landcover"]
    prediction = _write_prediction(labels, run / "predictions" / "unseen_classes.tif", legend)
    with rasterio.open(labels) as ds:
        reference = ds.read(1)
    names = {c["value"]: c["name"] for c in legend if c["value"] != 0}
    (run / "evaluation.json").write_text(json.dumps(_metrics(reference, prediction, names)))
    _metrics_csv(run / "train" / "logs" / "version_0" / "metrics.csv")
    manifest = {
        "title": "eoforge demo",
        "created": "2024-07-01T12:00:00+00:00",
        "seed": 0,
        "scene": {
            "name": "unseen",
            "folder": "scenes/unseen",
            "s2": f"scenes/unseen/s2/{date}",
            "s1": f"scenes/unseen/s1/{date}",
            "labels": f"scenes/unseen/labels/landcover_{date}.tif",
        },
        "prediction": {
            "classes": "predictions/unseen_classes.tif",
            "confidence": None,
            "vectors": None,
            "mpix_per_s": 1.23,
            "seconds": 10.0,
            "megapixels": 12.3,
        },
        "metrics": "evaluation.json",
        "training": {
            "metrics_csv": "train/logs/version_0/metrics.csv",
            "bundle": "train/bundle",
            "seconds": 100.0,
            "epochs": 3,
        },
        "stages": [
            {"name": "generate scenes", "seconds": 3.2},
            {"name": "train", "seconds": 100.0},
            {"name": "predict unseen scene", "seconds": 10.0},
        ],
        "commands": COMMANDS,
    }
    (run / "run.json").write_text(json.dumps(manifest))
    return run


@pytest.fixture(scope="module")
def report_html(run_dir: Path) -> str:
    path = write_report(run_dir)
    assert path == run_dir / "report.html"
    return path.read_text(encoding="utf-8")


def _copy_run(run_dir: Path, target: Path, **changes: Any) -> Path:
    """A second run folder whose run.json points at the first one's files by absolute path."""
    manifest = json.loads((run_dir / "run.json").read_text())
    for section in ("scene", "prediction", "training"):
        for key, value in manifest[section].items():
            if isinstance(value, str) and "/" in value:
                manifest[section][key] = str(run_dir / value)
    manifest["metrics"] = str(run_dir / manifest["metrics"])
    for dotted, value in changes.items():
        section, _, key = dotted.partition("__")
        if key:
            manifest[section][key] = value
        else:
            manifest[section] = value
    target.mkdir(parents=True, exist_ok=True)
    (target / "run.json").write_text(json.dumps(manifest))
    return target


def test_report_has_every_section_heading(report_html: str) -> None:
    headings = re.findall(r"<h[23]>(.*?)</h[23]>", report_html)
    for section in SECTIONS:
        assert section in headings, section
    assert "Absent" not in report_html and "Could not be drawn" not in report_html


def test_report_embeds_every_figure_as_png_data_uri(run_dir: Path, report_html: str) -> None:
    images = IMAGE.findall(report_html)
    assert len(images) == 8
    for encoded in images:
        assert base64.b64decode(encoded).startswith(b"\x89PNG\r\n\x1a\n")
    assert re.findall(r'src="(?!data:)', report_html) == []  # nothing loaded from elsewhere
    pngs = sorted(p.name for p in (run_dir / "report").glob("*.png"))
    assert pngs == sorted(
        f"{n}.png"
        for n in (
            "true_colour",
            "false_colour",
            "s1_vv",
            "labels",
            "prediction",
            "errors",
            "confusion_matrix",
            "learning_curves",
        )
    )
    for png in (run_dir / "report").glob("*.png"):
        with Image.open(png) as image:
            assert image.format == "PNG"
            assert 300 <= image.width <= 1600 and 250 <= image.height <= 1600
    assert not [p for p in run_dir.rglob("*.tmp")]


def test_report_tables_metrics_timings_and_commands(run_dir: Path, report_html: str) -> None:
    metrics = json.loads((run_dir / "evaluation.json").read_text())
    rows = re.findall(r"<tbody>(.*?)</tbody>", report_html, re.S)[0]
    for entry in metrics["per_class"]:
        assert f"{entry['name']}</td>" in rows
        assert f"{entry['iou']:.3f}" in rows and f"{entry['f1']:.3f}" in rows
    assert rows.count("<tr>") == len(metrics["per_class"])
    assert "background:#2673ca" in rows  # water's swatch in the class colour
    assert f"{metrics['miou']:.3f}" in report_html and "0.812" in report_html
    assert "1.23 MP/s" in report_html
    for stage in ("generate scenes", "train", "predict unseen scene"):
        assert f"<td>{stage}</td>" in report_html
    assert "113.2" in report_html  # total seconds
    for item in COMMANDS:
        assert f"<h3>{item['step']}</h3>" in report_html
    assert "<pre><code>eoforge index scenes/ --out catalog.parquet</code></pre>" in report_html
    assert "--set &#x27;a&lt;b&#x27;" in report_html  # commands are escaped, not injected


def test_report_without_sentinel1_says_it_is_absent(run_dir: Path, tmp_path: Path) -> None:
    no_s1 = _copy_run(run_dir, tmp_path / "no_s1", scene__s1=None)
    html = write_report(no_s1).read_text(encoding="utf-8")
    s1 = html.split("<h3>Sentinel-1 VV</h3>")[1].split("</div>")[0]
    assert "Absent" in s1 and "not part of this run" in s1
    assert len(IMAGE.findall(html)) == 7
    assert not (no_s1 / "report" / "s1_vv.png").exists()
    assert (no_s1 / "report" / "true_colour.png").is_file()


def test_report_names_a_listed_but_missing_input(run_dir: Path, tmp_path: Path) -> None:
    gone = _copy_run(run_dir, tmp_path / "gone", training__metrics_csv="train/missing.csv")
    html = write_report(gone).read_text(encoding="utf-8")
    curves = html.split('id="training"')[1]
    assert "train/missing.csv is listed in run.json but missing" in curves


def test_report_of_a_bare_run_json_has_all_sections_absent(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text(json.dumps({"title": "bare run", "stages": "oops"}))
    html = write_report(tmp_path).read_text(encoding="utf-8")
    assert "<h1>bare run</h1>" in html
    for section in ("Overview", "Imagery", "Maps", "Timings", "Reproduce on your own data"):
        assert f"<h2>{section}</h2>" in html
    assert html.count("Absent") >= 9
    assert IMAGE.findall(html) == []


def test_report_reads_partial_metrics_defensively(run_dir: Path, tmp_path: Path) -> None:
    metrics = tmp_path / "partial.json"
    metrics.write_text(json.dumps({"miou": 0.5, "per_class": [{"id": 1, "name": "water"}]}))
    partial = _copy_run(run_dir, tmp_path / "partial", metrics=str(metrics))
    html = write_report(partial).read_text(encoding="utf-8")
    assert "0.500" in html
    assert "the metrics file has no confusion matrix" in html
    assert "water</td>" in html and "–" in html


@pytest.mark.parametrize(
    ("content", "error", "match"),
    [
        (None, MissingFileError, "holds no run.json"),
        ("{not json", UnreadableFileError, "not valid JSON"),
        ("[1, 2]", UnreadableFileError, "not an object"),
    ],
)
def test_bad_run_folder_raises_eoforge_error_with_fix(
    tmp_path: Path, content: str | None, error: type[EoforgeError], match: str
) -> None:
    if content is not None:
        (tmp_path / "run.json").write_text(content)
    with pytest.raises(error, match=match) as caught:
        write_report(tmp_path)
    assert "eoforge demo" in str(caught.value)
    assert not (tmp_path / "report.html").exists()


def test_missing_run_folder_says_to_run_the_demo(tmp_path: Path) -> None:
    with pytest.raises(MissingFileError, match="does not exist") as caught:
        write_report(tmp_path / "nowhere")
    assert caught.value.fix is not None and "eoforge demo" in caught.value.fix


def test_report_tells_how_to_explore_the_run_on_a_map(run_dir: Path, report_html: str) -> None:
    assert f"Explore on a map: <code>eoforge serve {run_dir}</code>" in report_html
    assert '<a href="http://127.0.0.1:8000/">' in report_html
