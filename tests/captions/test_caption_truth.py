"""Every statement of thousands of captions is true of the label map and the vectors.

The captions are read back into claims by the library's parser; each claim is
then checked here against the raw labels (numpy on the label rasters) and the
raw vector files (geopandas), with code independent of the caption package's
measurements: shares within their stated rounding, counts exact, positions
consistent with the class mask, crossings, lengths and changes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from scipy import ndimage
from shapely.geometry import LineString, Polygon

from eoforge.captions import CaptionOptions, WindowFacts, caption_windows
from eoforge.captions.verify import Claim, parse_caption, words_for
from eoforge.captions.vocabulary import Vocabulary

EPS = 1e-9
LEGEND = {
    "water": 1, "forest": 2, "grassland": 3, "cropland": 4, "bare_soil": 5, "wetland": 6,
    "urban": 7, "building": 8, "road": 9, "airfield": 10, "harbour": 11,
}  # fmt: skip


@dataclass
class Scene:
    """A synth scene's raw labels and vectors, read without the caption package."""

    root: Path
    labels: dict[dt.date, np.ndarray[Any, Any]]
    transform: rasterio.Affine
    vectors: dict[str, gpd.GeoDataFrame]

    @classmethod
    def read(cls, root: Path) -> Scene:
        labels = {}
        transform = None
        for path in sorted((root / "labels").glob("landcover_*.tif")):
            with rasterio.open(path) as ds:
                labels[dt.datetime.strptime(path.stem[-8:], "%Y%m%d").date()] = ds.read(1)
                transform = ds.transform
        assert transform is not None
        vectors = {p.stem: gpd.read_parquet(p) for p in (root / "vectors").glob("*.parquet")}
        return cls(root, labels, transform, vectors)

    def window(self, day: dt.date, geometry: Polygon) -> np.ndarray[Any, Any]:
        left, _, _, top = geometry.bounds
        col = round((left - self.transform.c) / self.transform.a)
        row = round((top - self.transform.f) / self.transform.e)
        size = round((geometry.bounds[2] - left) / self.transform.a)
        return self.labels[day][row : row + size, col : col + size]


MEANINGS = {
    "nearly all": (0.9, 1.0),
    "about three quarters": (0.75 - 0.06, 0.75 + 0.06),
    "about two thirds": (2 / 3 - 0.07, 2 / 3 + 0.06),
    "more than half": (0.5 + EPS, 1.0),
    "about half": (0.5 - 0.06, 0.5 + 0.06),
    "about a third": (1 / 3 - 0.06, 1 / 3 + 0.06),
    "about a quarter": (0.25 - 0.06, 0.25 + 0.06),
    "about a fifth": (0.2 - 0.04, 0.2 + 0.04),
    "about a tenth": (0.1 - 0.04, 0.1 + 0.04),
    "less than a tenth": (EPS, 0.1),
}
"""What the fraction words mean to a reader (set here, not taken from the package)."""

PERCENT = re.compile(r"(?:about|roughly|around) (\d+) (?:%|percent)")


def _said(sentence: str) -> tuple[float, float] | None:
    """The share interval a reader takes from a sentence's amount words, None without any."""
    found = PERCENT.search(sentence)
    if found:
        value = int(found.group(1)) / 100
        return value - 0.025, value + 0.025
    low = sentence.lower()
    words = [w for w in MEANINGS if w in low]
    return MEANINGS[max(words, key=len)] if words else None


def _share(labels: np.ndarray[Any, Any], name: str) -> float:
    valid = labels > 0
    return float((labels[valid] == LEGEND[name]).sum()) / float(valid.sum())


def _region_ok(mask: np.ndarray[Any, Any], region: str) -> bool:
    h, w = mask.shape
    rows, cols = np.nonzero(mask)
    y, x = (rows + 0.5) / h, (cols + 0.5) / w
    halves = {"north": y < 0.5, "south": y > 0.5, "west": x < 0.5, "east": x > 0.5}
    if region in halves:
        return halves[region].mean() >= 2 / 3 - EPS
    if region.endswith(" edge"):
        side = region.split()[0]
        strip = {"north": y < 0.25, "south": y > 0.75, "west": x < 0.25, "east": x > 0.75}[side]
        along = cols[strip] if side in ("north", "south") else rows[strip]
        length = w if side in ("north", "south") else h
        span = (along.max() - along.min() + 1) / length if along.size else 0.0
        return strip.mean() >= 0.6 - EPS and span >= 0.5
    if region == "centre":
        return ((x > 0.25) & (x < 0.75) & (y > 0.25) & (y < 0.75)).mean() >= 0.6 - EPS
    quadrants = [halves[a] & halves[b] for a in ("north", "south") for b in ("west", "east")]
    if region == "scattered":
        return min(q.mean() for q in quadrants) >= 0.15 - EPS
    a, b = region.split("-")
    return (halves[a] & halves[b]).mean() >= 0.6 - EPS


def _crosses(mask: np.ndarray[Any, Any], axis: str) -> bool:
    parts, _ = ndimage.label(mask, structure=np.ones((3, 3)))
    ends = (parts[:, 0], parts[:, -1]) if axis == "west-east" else (parts[0], parts[-1])
    return bool((set(ends[0].tolist()) & set(ends[1].tolist())) - {0})


def _features(scene: Scene, noun: str, day: dt.date, window: Polygon) -> gpd.GeoDataFrame:
    """Features of a noun as written ("buildings", "small vehicles") centred inside the window."""
    singular = noun[:-1] if noun.endswith("s") else noun
    if singular in ("building", "field"):
        frame = scene.vectors[f"{singular}s"]
        if singular == "building":
            stamp = pd.Timestamp(day)
            built, gone = pd.to_datetime(frame["built"]), pd.to_datetime(frame["demolished"])
            frame = frame[(built.isna() | (built <= stamp)) & (gone.isna() | (gone > stamp))]
    else:
        objects = scene.vectors["objects"]
        frame = objects[objects["label"].str.replace("-", " ") == singular]
    return frame[frame.geometry.centroid.within(window)]


def _line_crossing(scene: Scene, noun: str, axis: str, window: Polygon) -> bool:
    roads = scene.vectors["roads"]
    kind = "street" if noun == "street" else noun.split()[0]
    lines = roads[roads["kind"] == kind].geometry.intersection(window)
    merged = lines[~lines.is_empty].union_all().buffer(1e-3)
    x0, y0, x1, y1 = window.bounds
    sides = {
        "west-east": (LineString([(x0, y0), (x0, y1)]), LineString([(x1, y0), (x1, y1)])),
        "north-south": (LineString([(x0, y1), (x1, y1)]), LineString([(x0, y0), (x1, y0)])),
    }[axis]
    parts = getattr(merged, "geoms", [merged])
    return any(p.distance(sides[0]) <= 1e-3 and p.distance(sides[1]) <= 1e-3 for p in parts)


def _holds(
    claim: Claim,
    scene: Scene,
    day: dt.date,
    window: Polygon,
    before: tuple[dt.date, np.ndarray[Any, Any]] | None,
) -> bool:
    labels = scene.window(day, window)
    valid = labels > 0
    inside = lambda v: claim.low - EPS <= v <= claim.high + EPS  # noqa: E731
    counts = {n: int((labels[valid] == i).sum()) for n, i in LEGEND.items()}
    if claim.kind == "share":
        said = _said(claim.sentence)
        share = _share(labels, claim.subject)
        if said is not None and not said[0] - EPS <= share <= said[1] + EPS:
            return False
        return inside(share)
    if claim.kind == "dominant":
        return counts[claim.subject] == max(counts.values()) > 0
    if claim.kind == "top2":
        pair = min(counts[claim.subject], counts[claim.other])
        rest = [v for k, v in counts.items() if k not in (claim.subject, claim.other)]
        return pair > 0 and all(pair >= v for v in rest)
    if claim.kind == "pair":
        return inside(_share(labels, claim.subject) + _share(labels, claim.other))
    if claim.kind == "place":
        return _region_ok(labels == LEGEND[claim.subject], claim.other)
    if claim.kind == "cross":
        if claim.subject in LEGEND:
            return _crosses(labels == LEGEND[claim.subject], claim.other)
        return _line_crossing(scene, claim.subject, claim.other, window)
    if claim.kind == "count":
        return inside(len(_features(scene, claim.subject, day, window)))
    if claim.kind == "size":
        found = _features(scene, claim.subject, day, window)
        return int((found.geometry.area < claim.low).sum()) * 2 > len(found)
    if claim.kind == "kind":
        found = _features(scene, claim.subject, day, window)
        return int((found["crop"].str.replace("_", " ") == claim.other).sum()) * 2 > len(found)
    if claim.kind == "length":
        roads = scene.vectors["roads"]
        return inside(float(roads.geometry.intersection(window).length.sum()))
    assert before is not None, claim
    start, earlier = before
    both = valid & (earlier > 0)
    a, b = earlier[both], labels[both]
    if claim.kind == "dates":
        return (claim.subject, claim.other) == (start.isoformat(), day.isoformat())
    if claim.kind == "changed":
        return inside(float((a != b).mean()))
    code = LEGEND[claim.subject]
    if claim.kind == "loss":
        return inside(float(((a == code) & (b != code)).mean()))
    gained = (b == code) & (a != code)
    if claim.kind == "gain":
        return inside(float(gained.mean()))
    assert claim.kind == "source", claim
    return float((a[gained] == LEGEND[claim.other]).mean()) > 0.5


def _check_table(scene: Scene, options: CaptionOptions) -> tuple[int, Counter[str]]:
    made = caption_windows(scene.root, options)
    kinds: Counter[str] = Counter()
    before = None
    if options.change is not None:
        before = (options.change[0], None)
    for row in made.frame.itertuples():
        facts = WindowFacts.from_json(row.facts)
        vocab = Vocabulary.from_names(facts.legend)
        claims, unread = parse_caption(row.caption, vocab, words_for(facts, vocab))
        assert not unread, (row.caption, unread)
        assert claims, row.caption
        day = row.time.date()
        earlier = None
        if before is not None:
            earlier = (before[0], scene.window(before[0], row.geometry))
        for claim in claims:
            assert _holds(claim, scene, day, row.geometry, earlier), (claim, row.caption)
            kinds[claim.kind] += 1
    return len(made.frame), kinds


def test_thousands_of_captions_hold_against_labels_and_vectors(
    flood_scene: Path, town_scene: Path
) -> None:
    flood, town = Scene.read(flood_scene), Scene.read(town_scene)
    dates = sorted(flood.labels)
    total, kinds = 0, Counter[str]()
    for seed in range(3):
        n, k = _check_table(
            flood,
            CaptionOptions(
                window=32,
                stride=16,
                per_window=3,
                sentences=4,
                seed=seed,
                change=(dates[0], dates[1]),
            ),
        )
        total, kinds = total + n, kinds + k
    for seed in (0,):
        n, k = _check_table(
            town, CaptionOptions(window=48, stride=24, per_window=3, sentences=3, seed=seed)
        )
        total, kinds = total + n, kinds + k
    assert total >= 2500
    every = {
        "share", "dominant", "top2", "pair", "place", "cross", "count", "size", "kind",
        "length", "dates", "changed", "gain", "source", "loss",
    }  # fmt: skip
    assert every <= set(kinds), every - set(kinds)
    assert sum(kinds.values()) >= 3 * total
    print(f"{total} captions, {sum(kinds.values())} claims: {dict(kinds)}")


@pytest.mark.parametrize("window", [16, 40])
def test_other_window_sizes_and_flood_date_hold(flood_scene: Path, window: int) -> None:
    flood = Scene.read(flood_scene)
    dates = sorted(flood.labels)
    n, kinds = _check_table(
        flood,
        CaptionOptions(
            window=window, per_window=2, sentences=5, seed=9, change=(dates[1], dates[2])
        ),
    )
    assert n > 0 and kinds["share"] > 0


@pytest.mark.slow
def test_six_thousand_captions_of_a_1024_px_scene_hold(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # generate_scene is imported here only: the default suite's scenes come from conftest
    from eoforge.synth import generate_scene

    root = generate_scene(
        tmp_path_factory.mktemp("captions") / "big", size=1024, sensors="s2", dates=3, seed=2
    ).root
    scene = Scene.read(root)
    dates = sorted(scene.labels)
    total, kinds = 0, Counter[str]()
    for seed, change in ((0, (dates[0], dates[1])), (1, (dates[1], dates[2]))):
        options = CaptionOptions(window=32, per_window=3, sentences=4, seed=seed, change=change)
        n, k = _check_table(scene, options)
        total, kinds = total + n, kinds + k
    assert total == 2 * 3 * 1024
    print(f"{total} captions, {sum(kinds.values())} claims: {dict(kinds)}")
