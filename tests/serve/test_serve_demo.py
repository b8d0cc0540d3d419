"""The viewer on the fast demo's run folder: the scene, the prediction, the errors, the vectors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from tests.serve.serve_fixtures import get_json, live_server, raw_get


@pytest.mark.timeout(700)
def test_serve_shows_the_demo_run(
    fast_demo: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    out, run = fast_demo
    assert run.returncode == 0, run.stderr[-3000:]
    with live_server([out]) as base:
        data = get_json(base, "/api/layers")
        by_kind: dict[str, list[dict]] = {}
        for layer in data["layers"]:
            by_kind.setdefault(layer["kind"], []).append(layer)
        assert {"scene", "classes", "reference", "errors", "confidence", "vector"} <= set(by_kind)
        s2 = next(layer for layer in by_kind["scene"] if layer["name"].startswith("S2"))
        assert s2["visible"] and s2["renders"][0]["id"] == "truecolor"
        classes = by_kind["classes"][0]
        assert [c["name"] for c in classes["classes"]] == [
            "water", "forest", "grassland", "cropland", "bare_soil", "wetland", "built_up"
        ]  # fmt: skip
        total = sum(c["area_m2"] for c in classes["classes"])
        assert total == pytest.approx(384 * 384 * 100.0)  # the whole 384^2 scene at 10 m
        errors = {c["name"]: c["area_m2"] for c in by_kind["errors"][0]["classes"]}
        accuracy = errors["correct"] / (errors["correct"] + errors["wrong"])
        assert accuracy == pytest.approx(data["report"]["metrics"]["overall_accuracy"], abs=1e-9)
        for layer in data["layers"]:
            if layer["tiles"] is None:
                continue
            w, s, e, n = layer["bounds"]
            found = get_json(base, f"/api/point?lon={(w + e) / 2}&lat={(s + n) / 2}")
            assert layer["id"] in {entry["id"] for entry in found["layers"]}
            status, _, kind = raw_get(base, layer["tiles"].format(z=layer["maxzoom"], x=0, y=0))
            assert (status, kind) == (200, "image/png")
        polygons = get_json(base, by_kind["vector"][0]["geojson"])
        assert polygons["features"] and polygons["truncated"] is False
