"""The map viewer's page in a real Chromium: tiles, legend, inspector, time slider, opacity, swipe.

The browser is the system's Chromium (Debian's ``chromium`` package) driven by
Playwright through ``executable_path``; Playwright's own browser builds are
never used. WebGL (MapLibre needs it) comes from SwiftShader. The tests skip
when no Chromium executable is found. One browser and one page on a tiny run
(plus a probability stack and a second scene folder of two dates) are shared by
the module; each test leaves the page as it found it. Screenshots are saved in
the module's temp folder. The time slider, the render pickers and the capped
vector layer (new tiles or a second page each) are marked slow.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from PIL import Image
from pyproj import Transformer
from tests.serve.serve_fixtures import (
    CLASSES,
    ORIGIN,
    SIZE,
    UTM,
    build_run,
    live_server,
    write_band,
)

from eoforge.serve.vectors import MAX_FEATURES

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = [
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--no-sandbox",
    "--disable-dev-shm-usage",
]
VIEWPORT = {"width": 1100, "height": 700}
SERIES = {"20240601": "red", "20240801": "blue"}  # second scene folder: one colour per date


def find_chromium() -> str | None:
    """The Chromium executable: $EOFORGE_CHROMIUM, else the first of CHROMIUM_NAMES on PATH."""
    given = os.environ.get("EOFORGE_CHROMIUM")
    if given:
        return given if Path(given).is_file() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium executable (apt-get install chromium, or set EOFORGE_CHROMIUM)",
)


def add_probabilities(run: Path) -> np.ndarray:
    """A probability stack in the run (p(water) rising west to east); returns it, ``[3, H, W]``."""
    water = np.linspace(0.1, 0.9, SIZE, dtype=np.float32)[None, :].repeat(SIZE, 0)
    stack = np.stack([water, (1 - water) * 0.7, (1 - water) * 0.3])
    path = run / "predictions" / "unseen_probabilities.tif"
    write_band(path, stack, dtype="float32")
    with rasterio.open(path, "r+") as dst:
        for band, (name, _) in enumerate(CLASSES.values(), start=1):
            dst.set_band_description(band, f"p({name})")
    manifest = json.loads((run / "run.json").read_text())
    manifest["prediction"]["probabilities"] = "predictions/unseen_probabilities.tif"
    (run / "run.json").write_text(json.dumps(manifest))
    return stack


def write_series(root: Path) -> Path:
    """Two dated S2 scenes: 2024-06-01 red (B04 high), 2024-08-01 blue (B02 high)."""
    for date, colour in SERIES.items():
        levels = {"B02": 400, "B03": 700, "B04": 2500, "B08": 1000}
        if colour == "blue":
            levels = {"B02": 2500, "B03": 700, "B04": 400, "B08": 1000}
        for band, level in levels.items():
            write_band(
                root / "s2" / date / f"S2.{band}.tif",
                np.full((SIZE, SIZE), level, np.uint16),
                nodata=0,
                description=f"S2.{band}",
                scale=1e-4,
                units="reflectance",
            )
    return root


class Viewer:
    """The page under test with what it logged and the tiles it fetched."""

    def __init__(self, page: Any, base: str, run: Path, shots: Path) -> None:
        self.page = page
        self.base = base
        self.run = run
        self.shots = shots
        self.errors: list[str] = []
        self.responses: list[tuple[str, int]] = []  # (url, status) of /api/ requests
        self.footprint: tuple[float, ...] | None = None

    def settle(self) -> None:
        """Wait until every map has drawn all its tiles."""
        self.page.evaluate(
            """() => Promise.race([
                window.eoforgeViewer.settled(),
                new Promise((_, no) => setTimeout(() => no(new Error("not drawn in 20 s")), 20000)),
            ])"""
        )

    def shot(self, name: str, full: bool = False) -> np.ndarray:
        """A screenshot (saved as ``name``.png), ``[H, W, 3]`` uint8, in viewport pixels.

        Only the data's footprint is captured (the rest left black) unless ``full``.
        """
        self.settle()
        if full:
            png = self.page.screenshot(path=str(self.shots / f"{name}.png"))
            return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
        x0, y0, x1, y1 = data_box(self)
        clip = {"x": x0, "y": y0, "width": x1 - x0, "height": y1 - y0}
        png = self.page.screenshot(path=str(self.shots / f"{name}.png"), clip=clip)
        image = np.zeros((VIEWPORT["height"], VIEWPORT["width"], 3), np.uint8)
        image[y0:y1, x0:x1] = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
        return image

    def project(self, lon: float, lat: float) -> tuple[float, float]:
        """Viewport pixel (x, y) of a place."""
        point = self.page.evaluate(
            "([lon, lat]) => window.eoforgeViewer.map().project([lon, lat])", [lon, lat]
        )
        return float(point["x"]), float(point["y"])

    def unproject(self, x: float, y: float) -> tuple[float, float]:
        """Longitude and latitude of a viewport pixel."""
        ll = self.page.evaluate("([x, y]) => window.eoforgeViewer.map().unproject([x, y])", [x, y])
        return float(ll["lng"]), float(ll["lat"])

    def layers(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.base}/api/layers", timeout=30) as response:
            data: dict[str, Any] = json.load(response)
        return data

    def entry_index(self, kind: str) -> int:
        """Index (as in the control ids ``layer-<i>-...``) of the first entry of ``kind``."""
        index: int = self.page.evaluate(
            "(kind) => window.eoforgeViewer.state.entries.findIndex((e) => e.kind === kind)", kind
        )
        assert index >= 0, kind
        return index


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """The system's Chromium, shared by the module's pages."""
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def open_viewer(browser: Any, base: str, run: Path, shots: Path) -> Viewer:
    """A new page on the viewer at ``base``, once its layers are drawn."""
    page = browser.new_page(viewport=VIEWPORT)
    view = Viewer(page, base, run, shots)
    page.on(
        "console",
        lambda m: view.errors.append(m.text) if m.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda e: view.errors.append(f"page error: {e}"))
    page.on(
        "response",
        lambda r: view.responses.append((r.url, r.status)) if "/api/" in r.url else None,
    )
    page.goto(base + "/")
    page.wait_for_function("document.body.dataset.state === 'ready'", timeout=30_000)
    view.settle()
    return view


@pytest.fixture(scope="module")
def viewer(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[Viewer]:
    root = tmp_path_factory.mktemp("browser")
    run = build_run(root)
    add_probabilities(run)
    series = write_series(root / "series")
    shots = root / "screenshots"
    shots.mkdir()
    with live_server([run, series]) as base:
        view = open_viewer(browser, base, run, shots)
        try:
            yield view
        finally:
            view.page.close()


def tile_layers(view: Viewer) -> set[str]:
    """Ids of the layers whose tiles the page asked for."""
    return {
        url.split("/api/tiles/")[1].split("/")[0]
        for url, _ in view.responses
        if "/api/tiles/" in url
    }


def colour_pixels(image: np.ndarray, rgb: tuple[int, int, int], tolerance: int = 4) -> int:
    """How many pixels of ``image`` are ``rgb`` (each channel within ``tolerance``)."""
    diff = np.abs(image.astype(np.int16) - np.asarray(rgb, np.int16)).max(axis=-1)
    return int((diff <= tolerance).sum())


def data_box(view: Viewer) -> tuple[int, int, int, int]:
    """Viewport pixel box (x0, y0, x1, y1) of the run's footprint, 3 px inside its edges."""
    if view.footprint is None:
        view.footprint = tuple(view.layers()["layers"][0]["bounds"])
    west, south, east, north = view.footprint
    x0, y0 = view.project(west, north)
    x1, y1 = view.project(east, south)
    return int(x0) + 3, int(y0) + 3, int(x1) - 3, int(y1) - 3


def test_page_loads_without_errors_and_tiles_arrive(viewer: Viewer) -> None:
    assert viewer.errors == []
    assert viewer.page.title().endswith("eoforge")
    assert tile_layers(viewer), "no tile was requested"
    assert all(status == 200 for _, status in viewer.responses), viewer.responses
    requested = tile_layers(viewer)
    # The layers shown at start: the scene (its run date) and the predicted classes.
    assert {"s2-2024-07-01", "predicted-classes"} <= requested
    names = viewer.page.inner_text("#layers")
    for name in ("S2 scene", "predicted classes", "reference labels", "errors", "confidence"):
        assert name in names


def test_map_is_drawn_with_the_class_colours(viewer: Viewer) -> None:
    image = viewer.shot("start", full=True)
    x0, y0, x1, y1 = data_box(viewer)
    assert x1 - x0 > 100 and y1 - y0 > 100, "the map did not fit the data's bounds"
    inside = image[y0:y1, x0:x1]
    assert len(np.unique(inside.reshape(-1, 3), axis=0)) >= 3
    for value, (name, rgb) in CLASSES.items():
        # Stripes of a third of the footprint each (less 10 % noise and the vectors).
        assert colour_pixels(inside, rgb) > 0.15 * inside.shape[0] * inside.shape[1], (value, name)


def test_legend_lists_the_classes_with_areas(viewer: Viewer) -> None:
    legend = viewer.page.locator("#legend")
    names = legend.locator("li .class-name").all_inner_texts()
    assert names == [name for name, _ in CLASSES.values()]
    areas = legend.locator("li .area").all_inner_texts()
    # 64 x 64 pixels of 10 m in three stripes: about 13.6 ha each.
    assert all(area.endswith(" ha") and 10 < float(area.split()[0]) < 17 for area in areas), areas
    assert viewer.page.inner_text("#metrics").count("miou") == 1
    link = viewer.page.locator("#metrics a").get_attribute("href")
    assert link == "/files/run/report.html"


def test_click_shows_the_class_at_that_point(viewer: Viewer) -> None:
    x0, y0, x1, y1 = data_box(viewer)
    x, y = (x0 + x1) / 2 + 7, (y0 + y1) / 2 + 5
    lon, lat = viewer.unproject(x, y)
    path = viewer.run / "predictions" / "unseen_classes.tif"
    with rasterio.open(path) as src:
        east, north = Transformer.from_crs("EPSG:4326", src.crs, always_xy=True).transform(lon, lat)
        row, col = src.index(east, north)
        expected = CLASSES[int(src.read(1)[row, col])][0]
    viewer.page.mouse.click(x, y)
    block = viewer.page.locator('#inspector .inspect-layer[data-layer="predicted-classes"]')
    block.wait_for(timeout=10_000)
    assert block.locator(".inspect-class").inner_text() == expected
    scene = viewer.page.locator('#inspector .inspect-layer[data-kind="scene"]').first
    assert "S2.B04" in scene.inner_text()
    stack = viewer.page.locator('#inspector .inspect-layer[data-kind="probability"]')
    cells = stack.locator("table tr")
    probabilities = {
        tr.locator("th").inner_text(): float(tr.locator("td.num").inner_text())
        for tr in cells.all()
    }
    with rasterio.open(viewer.run / "predictions" / "unseen_probabilities.tif") as src:
        truth = {CLASSES[i][0]: float(v) for i, v in enumerate(src.read()[:, row, col])}
    assert probabilities.keys() == truth.keys()
    assert all(abs(probabilities[k] - truth[k]) < 1e-3 for k in truth), (probabilities, truth)
    best = max(truth, key=lambda k: truth[k])
    assert stack.locator(".inspect-class").inner_text() == best
    viewer.shot("inspector", full=True)
    viewer.page.click("#inspector-close")
    assert viewer.page.locator("#inspector").is_hidden()


def test_click_on_a_polygon_shows_its_properties(viewer: Viewer) -> None:
    # The first of the run's boxes alone (the next one starts 10 m east): class "water".
    east, north = ORIGIN[0] + 6, ORIGIN[1] - 150
    lon, lat = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True).transform(east, north)
    viewer.page.mouse.click(*viewer.project(lon, lat))
    popup = viewer.page.locator(".maplibregl-popup")
    popup.wait_for(timeout=10_000)
    text = popup.inner_text()
    assert "predicted polygons" in text
    rows = dict(
        zip(
            popup.locator("th").all_inner_texts(),
            popup.locator("td").all_inner_texts(),
            strict=True,
        )
    )
    assert rows["class"] == "water"
    assert float(rows["area_m2"]) == 1e4
    viewer.page.locator(".maplibregl-popup-close-button").click()
    viewer.page.click("#inspector-close")
    assert popup.count() == 0


@pytest.mark.slow
def test_single_band_render_with_its_ramp(viewer: Viewer) -> None:
    page = viewer.page
    scene = viewer.entry_index("scene")
    render = page.locator(f"#layer-{scene}-render")
    assert render.locator("option").all_inner_texts() == [
        "True colour",
        "False colour",
        "Single band",
    ]
    opacity = page.locator(f"#layer-{viewer.entry_index('classes')}-opacity")
    opacity.fill("0")
    try:
        render.select_option("band")
        page.locator(f"#layer-{scene}-band").select_option("S2.B08")
        page.locator(f"#layer-{scene}-colormap").select_option("gray")
        assert page.locator("#layers .colorbar[data-ramp=gray]").count() == 1
        x0, y0, x1, y1 = data_box(viewer)
        grey = viewer.shot("single_band")[y0:y1, x0:x1].reshape(-1, 3).astype(int)
    finally:
        render.select_option("truecolor")
        opacity.fill("100")
    stack = viewer.entry_index("probability")
    page.check(f"#layer-{stack}-on")
    try:
        picker = page.locator(f"#layer-{stack}-band")
        assert picker.locator("option").all_inner_texts() == [n for n, _ in CLASSES.values()]
        picker.select_option("forest")
        viewer.settle()
    finally:
        page.uncheck(f"#layer-{stack}-on")
    assert any("/probabilities/" in u and "band=forest" in u for u, _ in viewer.responses)
    wanted = [u for u, _ in viewer.responses if "render=band" in u and "band=S2.B08" in u]
    assert wanted and all("colormap=gray" in u for u in wanted[-2:])
    assert all(status == 200 for _, status in viewer.responses)
    # A grey ramp: red, green and blue equal except where the vectors are drawn.
    assert (np.ptp(grey, axis=1) <= 2).mean() > 0.7
    assert len(np.unique(grey[:, 0])) > 20  # the band's noise, stretched


def test_opacity_changes_what_is_drawn(viewer: Viewer) -> None:
    opacity = viewer.page.locator(f"#layer-{viewer.entry_index('classes')}-opacity")
    x0, y0, x1, y1 = data_box(viewer)
    area = (y1 - y0) * (x1 - x0)
    water = CLASSES[0][1]
    opacity.fill("0")
    try:
        hidden = viewer.shot("opacity_0")[y0:y1, x0:x1]
    finally:
        opacity.fill("100")
    shown = viewer.shot("opacity_100")[y0:y1, x0:x1]
    assert colour_pixels(hidden, water) < 0.01 * area  # the scene alone
    assert colour_pixels(shown, water) > 0.15 * area
    assert np.abs(hidden.astype(int) - shown).max(axis=-1).mean() > 30


@pytest.mark.slow
def test_time_slider_switches_dates(viewer: Viewer) -> None:
    opacity = viewer.page.locator(f"#layer-{viewer.entry_index('classes')}-opacity")
    slider = viewer.page.locator("#time input[type=range]")
    assert slider.count() == 1
    assert slider.get_attribute("max") == "2"  # 2024-06-01, 2024-07-01, 2024-08-01
    assert viewer.page.inner_text("#time .date") == "2024-07-01"  # the run's date at start
    x0, y0, x1, y1 = data_box(viewer)
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    colours = {}
    opacity.fill("0")  # the class map covers the scene
    try:
        for index, date in ((0, "2024-06-01"), (2, "2024-08-01")):
            slider.fill(str(index))
            assert viewer.page.inner_text("#time .date") == date
            centre = viewer.shot(f"date_{date}")[cy - 20 : cy + 20, cx - 20 : cx + 20]
            colours[date] = centre.reshape(-1, 3).mean(axis=0)
    finally:
        slider.fill("1")
        opacity.fill("100")
    assert colours["2024-06-01"][0] > colours["2024-06-01"][2] + 100, colours  # red scene
    assert colours["2024-08-01"][2] > colours["2024-08-01"][0] + 100, colours  # blue scene
    requested = tile_layers(viewer)
    assert {"s2-2024-06-01", "s2-2024-08-01"} <= requested
    assert all(status == 200 for _, status in viewer.responses)


def test_swipe_shows_the_two_layers_either_side_of_the_divider(viewer: Viewer) -> None:
    page = viewer.page
    assert page.locator("#swipe-left option:checked").inner_text() == "S2 scene"
    assert page.locator("#swipe-right option:checked").inner_text() == "predicted classes"
    page.check("#swipe-on")
    try:
        assert page.locator("#swipe-divider").is_visible()
        x0, y0, x1, y1 = data_box(viewer)
        middle = (x0 + x1) // 2
        box = page.locator("#swipe-divider").bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(middle, box["y"] + box["height"] / 2, steps=4)
        page.mouse.up()
        image = viewer.shot("swipe", full=True)
        left = image[y0:y1, x0 : middle - 4]
        right = image[y0:y1, middle + 4 : x1]
        area = left.shape[0] * left.shape[1]
        classes_left = sum(colour_pixels(left, rgb) for _, rgb in CLASSES.values())
        classes_right = sum(colour_pixels(right, rgb) for _, rgb in CLASSES.values())
        assert classes_left < 0.01 * area, "the class map shows left of the divider"
        assert classes_right > 0.5 * right.shape[0] * right.shape[1]
    finally:
        page.uncheck("#swipe-on")
    assert page.locator("#swipe-divider").is_hidden()
    assert viewer.errors == []


@pytest.mark.slow
def test_a_large_vector_layer_is_fetched_for_the_view(
    browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("browser_points")
    lon, lat = np.meshgrid(np.linspace(4.80, 4.81, 80), np.linspace(45.76, 45.77, 80))
    points = gpd.GeoDataFrame(
        {"n": np.arange(lon.size)}, geometry=gpd.points_from_xy(lon.ravel(), lat.ravel()), crs=4326
    )
    path = root / "points.parquet"
    points.to_parquet(path)
    assert len(points) > MAX_FEATURES
    with live_server([path]) as base:
        view = open_viewer(browser, base, root, root)
        try:
            layer_id = view.layers()["layers"][0]["id"]
            view.page.evaluate(
                """() => {
                    const m = window.eoforgeViewer.map();
                    m.jumpTo({ zoom: m.getZoom() + 2 });
                }"""
            )
            view.page.wait_for_function(
                """(id) => {
                    const data = window.eoforgeViewer.state.vectors.get(id);
                    return data && !data.truncated;
                }""",
                arg=layer_id,
                timeout=20_000,
            )
            shown = view.page.evaluate(
                "(id) => window.eoforgeViewer.state.vectors.get(id).features.length", layer_id
            )
            bounds = view.page.evaluate(
                "() => window.eoforgeViewer.map().getBounds().toArray().flat()"
            )
        finally:
            view.page.close()
    west, south, east, north = bounds
    inside = (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)
    assert 0 < shown < MAX_FEATURES
    assert shown >= inside.sum()  # every point in view (the box asked may be a little larger)
    asked = [url for url, _ in view.responses if "/api/vectors/" in url]
    assert "bbox=" not in asked[0] and any("bbox=" in url for url in asked[1:])
    assert all(status == 200 for _, status in view.responses)
    assert view.errors == []
