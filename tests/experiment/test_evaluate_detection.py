"""Evaluating a detection bundle end to end: a small detector trained from a prepared split,
``evaluate`` (and ``eoforge evaluate``) on its validation images writes the metrics with a
``detection`` section, the per-class PR curves (JSON, CSV, PNG) whose AP is the metric's AP,
an example-detections figure of the images with the most objects, and the HTML report shows
them in a Detection section."""

from __future__ import annotations

import csv
import json
import math
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml
from tests.evaluate.figure_checks import pixels_of, png_rgb, png_size
from tests.experiment.helpers import detection_config
from tests.helpers import run_cli

from eoforge.evaluate.detection_curves import curve_ap, read_curves, read_curves_csv
from eoforge.evaluate.report import write_report
from eoforge.experiment import load_config, train
from eoforge.experiment.evaluate import evaluate
from eoforge.models import read_bundle_json

SIZE = 64
CLASSES = ["ship", "tank"]
IMAGE = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def _ships_and_a_tank(rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[str, list[float]]]]:
    """A dark image with 1 to 3 bright 16 x 6 'ships' (one per row band) and a grey 'tank'."""
    image = rng.integers(0, 30, (3, SIZE, SIZE), dtype=np.uint8)
    objects = []
    for row in range(int(rng.integers(1, 4))):
        x, y = int(rng.integers(2, 44)), 3 + 12 * row + int(rng.integers(0, 3))
        image[:, y : y + 6, x : x + 16] = 250
        objects.append(("ship", [x, y, x + 16, y, x + 16, y + 6, x, y + 6]))
    tx, ty = int(rng.integers(4, 50)), int(rng.integers(42, 52))
    image[:, ty : ty + 10, tx : tx + 10] = 140
    objects.append(("tank", [tx, ty, tx + 10, ty, tx + 10, ty + 10, tx, ty + 10]))
    return image, [(name, [float(v) for v in corners]) for name, corners in objects]


def _rotated(rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[str, list[float]]]]:
    """A dark image with one bright 24 x 8 'ship' turned by a random angle."""
    image = rng.integers(0, 30, (3, SIZE, SIZE), dtype=np.uint8)
    cx, cy, angle = (
        float(rng.uniform(18, 46)),
        float(rng.uniform(18, 46)),
        float(rng.uniform(-1, 1)),
    )
    ys, xs = np.mgrid[0:SIZE, 0:SIZE] + 0.5
    along_w = (xs - cx) * math.cos(angle) - (ys - cy) * math.sin(angle)
    along_h = (xs - cx) * math.sin(angle) + (ys - cy) * math.cos(angle)
    image[:, (np.abs(along_w) < 12) & (np.abs(along_h) < 4)] = 250
    ux, uy, vx, vy = (
        math.cos(angle) * 12,
        -math.sin(angle) * 12,
        math.sin(angle) * 4,
        math.cos(angle) * 4,
    )
    corners = [v for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1))
               for v in (cx + su * ux + sv * vx, cy + su * uy + sv * vy)]  # fmt: skip
    return image, [("ship", corners)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(bundle, config)`` of an FCOS trained for 2 epochs on 12 images (seconds)."""
    folder = tmp_path_factory.mktemp("detector")
    config = detection_config(folder, _ships_and_a_tank, CLASSES, "fcos", "detection")
    result = train(load_config(config), progress=False)
    return result.bundle, config


def _objects_per_image(split: Path) -> Counter[str]:
    with open(split / "objects.csv", newline="") as f:
        return Counter(row["image"] for row in csv.DictReader(f))


def test_evaluation_writes_curves_that_give_back_the_metric_ap(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    bundle, config = trained
    out = tmp_path / "eval" / "metrics.json"
    metrics = evaluate(bundle, config, out, score_threshold=0.05)
    report = json.loads(out.read_text())
    section = report["detection"]
    assert section["style"] == "voc12" and section["iou_threshold"] == 0.5
    assert section["map"] == pytest.approx(metrics["map"], abs=1e-12)
    truth = _objects_per_image(config.parent / "val")
    assert section["images"] == 4 and section["objects"] == sum(truth.values())
    names = {key: out.parent / name for key, name in section["files"].items()}
    assert sorted(p.name for p in out.parent.iterdir()) == sorted(
        ["metrics.json", "metrics_pr_curves.json", "metrics_pr_curves.csv",
         "metrics_pr_curves.png", "metrics_examples.png"]
    )  # fmt: skip
    assert set(names) == {"pr_curves_json", "pr_curves_csv", "pr_curves_png", "examples_png"}
    curves = read_curves(names["pr_curves_json"])
    columns = read_curves_csv(names["pr_curves_csv"])
    colours = {c.name: c.color for c in read_bundle_json(bundle).classes}
    total_predictions = 0
    for curve, row in zip(curves.classes, section["per_class"], strict=True):
        assert row["name"] == curve.name and row["color"] == colours[curve.name]
        assert (
            curve.positives
            == row["objects"]
            == Counter(name for name, _ in _all_objects(config.parent / "val"))[curve.name]
        )
        # the AP recomputed from the saved curve is the metric's AP
        assert curve_ap(curve, "voc12") == pytest.approx(metrics[f"ap_{curve.name}"], abs=1e-6)
        assert row["ap"] == pytest.approx(metrics[f"ap_{curve.name}"], abs=1e-12)
        assert np.all(np.diff(curve.recall) >= 0) and np.all(np.diff(curve.scores) <= 0)
        assert int((columns["class_id"] == curve.class_id).sum()) == len(curve.recall)
        total_predictions += row["predictions"]
    # every prediction of a class without difficult objects is a curve point
    assert total_predictions == sum(len(c.recall) for c in curves.classes)
    assert total_predictions == pytest.approx(metrics["detections_per_image"] * 4)
    # the examples: the 4 images, those with the most objects first
    order = sorted(truth, key=lambda name: (-truth[name], name))
    assert section["examples"] == order
    assert png_size(names["examples_png"]) == (1100, 1012)  # 2 x 2 panels at 110 dpi
    rgb = png_rgb(names["examples_png"])
    for name in CLASSES:  # every ground-truth box is drawn in its class colour
        assert pixels_of(rgb, colours[name], tolerance=8) > 100
    assert png_size(names["pr_curves_png"]) == (770, 550)


def _all_objects(split: Path) -> list[tuple[str, str]]:
    with open(split / "objects.csv", newline="") as f:
        return [(row["class"], row["image"]) for row in csv.DictReader(f)]


def test_the_report_of_a_detection_run_shows_ap_curves_and_examples(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    bundle, config = trained
    run = tmp_path / "run"
    evaluate(bundle, config, run / "evaluation.json")
    manifest = {"title": "ships", "metrics": "evaluation.json", "training": {"bundle": str(bundle)}}
    (run / "run.json").write_text(json.dumps(manifest))
    page = write_report(run).read_text()
    assert '<a href="#detection">Detection</a>' in page and 'href="#accuracy"' not in page
    assert "<h2>Detection</h2>" in page and "<h3>Per-class AP</h3>" in page
    assert "Confusion matrix" not in page
    section = page[page.index('<section id="detection">') :].split("</section>")[0]
    metrics = json.loads((run / "evaluation.json").read_text())["detection"]
    for row in metrics["per_class"]:
        assert f"{row['name']}</td><td class=num>{row['id']}</td>" in section
        assert f"<span>{row['ap']:.3f}</span>" in section
    assert len(IMAGE.findall(section)) == 2
    assert (run / "report" / "pr_curves.png").is_file()
    assert (run / "report" / "detection_examples.png").read_bytes() == (
        run / "evaluation_examples.png"
    ).read_bytes()
    card = f'<div class="value">{metrics["map"]:.3f}</div><div class="label">mAP (voc12)</div>'
    assert card in page
    # a missing examples figure leaves a note, not an error
    (run / "evaluation_examples.png").unlink()
    page = write_report(run).read_text()
    assert "Absent — example detections: evaluation_examples.png is missing." in page
    assert (
        len(IMAGE.findall(page[page.index('<section id="detection">') :].split("</section>")[0]))
        == 1
    )


def test_eoforge_evaluate_takes_the_examples_and_the_score_threshold(
    trained: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bundle, config = trained
    out = tmp_path / "m.json"
    args = ["evaluate", str(bundle), str(config), "--out", str(out)]
    assert run_cli([*args, "--examples", "2", "--score-threshold", "0.2"], monkeypatch) == 0
    printed = capsys.readouterr().out
    assert f"wrote {tmp_path / 'm_examples.png'}" in printed
    section = json.loads(out.read_text())["detection"]
    assert section["score_threshold"] == 0.2 and len(section["examples"]) == 2
    assert png_size(tmp_path / "m_examples.png") == (1100, 539)  # one row of 2 panels
    # a bare folder is scored whole, as the other chip kinds; --examples 0 draws none
    folder = ["evaluate", str(bundle), str(config.parent / "val"), "--out", str(out)]
    assert run_cli([*folder, "--examples", "0"], monkeypatch) == 0
    section = json.loads(out.read_text())["detection"]
    assert (
        section["images"] == 4
        and section["objects"]
        == 4 + Counter(c for c, _ in _all_objects(config.parent / "val"))["ship"]
    )
    assert section["examples"] == [] and "examples_png" not in section["files"]
    capsys.readouterr()
    code = run_cli(["evaluate", str(tmp_path / "map.tif"), str(config), "--examples", "2"],
                   monkeypatch)  # fmt: skip
    assert code == 2 and "--examples" in capsys.readouterr().err


def test_an_oriented_detector_is_evaluated_with_rotated_boxes(tmp_path: Path) -> None:
    config = detection_config(tmp_path, _rotated, ["ship"], "oriented_fcos", "oriented_detection")
    result = train(load_config(config, ["trainer.max_epochs=1"]), progress=False)
    out = tmp_path / "evaluation.json"
    metrics = evaluate(result.bundle, config, out, examples=1, score_threshold=0.0)
    section = json.loads(out.read_text())["detection"]
    assert section["style"] == "dota12"
    (curve,) = read_curves(out.parent / section["files"]["pr_curves_json"]).classes
    assert curve.positives == 4
    assert curve_ap(curve, "dota12") == pytest.approx(metrics["ap_ship"], abs=1e-6)
    assert len(section["examples"]) == 1
    assert png_size(out.parent / section["files"]["examples_png"]) == (638, 539)


def test_chips_cut_from_larger_images_are_named_by_their_offset(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    bundle, config = trained
    raw = yaml.safe_load(config.read_text())
    raw["data"].update(patch_size=32, min_visible=0.5)
    chipped = tmp_path / "chips.yaml"
    chipped.write_text(yaml.safe_dump(raw))
    out = tmp_path / "evaluation.json"
    evaluate(bundle, chipped, out, examples=3)
    section = json.loads(out.read_text())["detection"]
    assert section["images"] == 16  # 4 images of 64 px, 4 chips of 32 px each
    pattern = re.compile(r"^img0[0-3]\.tif \(row (0|32), column (0|32)\)$")
    assert len(section["examples"]) == 3
    assert all(pattern.match(name) for name in section["examples"]), section["examples"]
