"""Field polygons: thresholds chosen on the validation scene, then scored on the test scene.

``eoforge predict`` and ``eoforge evaluate`` turn a field-boundary bundle's three
maps (extent, boundary, distance) into polygons with
:class:`~eoforge.predict.fields.FieldPolygonOptions`' defaults, which were chosen
on the validation scene of ``configs/field_boundaries_synth.yaml``'s model. Another
network may calibrate its maps otherwise (``field_utae`` predicts shorter
distances: with the defaults its fields merge). This script predicts the
validation scene with each combination of ``extent_threshold``, ``seed_boundary``
and ``seed_distance`` on a small grid, keeps the one recovering most fields (ties:
the higher matched IoU), and scores the unseen test scene with it, so every model
is compared with thresholds chosen the same way and never on the test scene.

Run: ``python benchmarks/tune_field_polygons.py BUNDLE VAL_SCENE TEST_SCENE --out FILE.json``
(~1-2 min per bundle on 512² scenes).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path
from typing import Any

from eoforge.evaluate.field_scene import evaluate_field_scene
from eoforge.predict.fields import FieldPolygonOptions

EXTENT = (0.3, 0.4, 0.5)
BOUNDARY = (0.15, 0.3, 0.5)
DISTANCE = (0.2, 0.4)


def tune(bundle: Path, val: Path, test: Path) -> dict[str, Any]:
    """The grid's scores on ``val``, the best options, and the ``test`` scores with them."""
    grid = []
    for extent, boundary, distance in itertools.product(EXTENT, BOUNDARY, DISTANCE):
        options = FieldPolygonOptions(
            extent_threshold=extent, seed_boundary=boundary, seed_distance=distance
        )
        scores = evaluate_field_scene(bundle, val, options=options)["scores"]
        grid.append(
            {
                "extent_threshold": extent,
                "seed_boundary": boundary,
                "seed_distance": distance,
                "recovered": round(scores["recovered"], 4),
                "matched_iou": None
                if scores["matched_iou"] is None
                else round(scores["matched_iou"], 4),
            }
        )
        print(f"val {grid[-1]}", file=sys.stderr)
    best = max(grid, key=lambda g: (g["recovered"], g["matched_iou"] or 0.0))
    chosen = {k: best[k] for k in ("extent_threshold", "seed_boundary", "seed_distance")}
    defaults = evaluate_field_scene(bundle, test)["scores"]
    tested = evaluate_field_scene(bundle, test, options=FieldPolygonOptions(**chosen))["scores"]
    return {
        "bundle": str(bundle),
        "val_scene": str(val),
        "test_scene": str(test),
        "val_grid": grid,
        "chosen_on_val": chosen,
        "test_with_chosen": tested,
        "test_with_defaults": defaults,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("val", type=Path, help="validation scene (with vectors/fields.parquet)")
    parser.add_argument("test", type=Path, help="unseen test scene")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    result = tune(args.bundle, args.val, args.test)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
