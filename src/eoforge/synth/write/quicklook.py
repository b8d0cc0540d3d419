"""PNG quicklooks of a generated scene (false colour, labels, SAR, VHR), drawn with Pillow.

``python -m eoforge.synth.write.quicklook SCENE OUT_PREFIX`` writes
``OUT_PREFIX_falsecolour.png``, ``_landcover.png``, ``_s1.png`` and ``_vhr.png``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rasterio
from PIL import Image, ImageDraw

from eoforge.classes import ClassInfo
from eoforge.synth.world import legend

U8 = npt.NDArray[np.uint8]


def _read(path: Path) -> npt.NDArray[np.float64]:
    with rasterio.open(path) as ds:
        out: npt.NDArray[np.float64] = ds.read(1).astype(np.float64) * ds.scales[0] + ds.offsets[0]
        return out


def _stretch(values: npt.NDArray[np.float64], low: float, high: float) -> U8:
    scaled = np.clip((values - low) / (high - low), 0.0, 1.0)
    out: U8 = (scaled * 255).astype(np.uint8)
    return out


def false_colour(folder: Path) -> Image.Image:
    """NIR-red-green composite (B08, B04, B03) of an S2 date folder, 0-0.45 reflectance."""
    channels = [_stretch(_read(folder / f"S2.{b}.tif"), 0.0, 0.45) for b in ("B08", "B04", "B03")]
    return Image.fromarray(np.dstack(channels))


def label_map(path: Path, classes: tuple[ClassInfo, ...] = legend.LAND_COVER) -> Image.Image:
    """A paletted label raster in its legend colours, with the legend drawn on the right."""
    with rasterio.open(path) as ds:
        values = ds.read(1)
    lut = np.zeros((256, 3), dtype=np.uint8)
    for c in classes:
        lut[c.id] = c.rgb
    image = Image.fromarray(lut[values])
    canvas = Image.new("RGB", (image.width + 170, image.height), "white")
    canvas.paste(image, (0, 0))
    draw = ImageDraw.Draw(canvas)
    for i, c in enumerate(c for c in classes if c.id != 0):
        y = 10 + 22 * i
        draw.rectangle((image.width + 10, y, image.width + 28, y + 16), fill=c.rgb, outline="black")
        draw.text((image.width + 36, y + 2), c.name, fill="black")
    return canvas


def sar(path: Path) -> Image.Image:
    """Sentinel-1 VV in dB, stretched from -25 to +5 dB."""
    return Image.fromarray(_stretch(_read(path), -25.0, 5.0))


def vhr(path: Path, dota: Path) -> Image.Image:
    """A VHR chip with its DOTA boxes drawn in yellow."""
    with rasterio.open(path) as ds:
        image = Image.fromarray(np.moveaxis(ds.read(), 0, -1))
    draw = ImageDraw.Draw(image)
    for line in dota.read_text().splitlines()[2:]:
        parts = line.split()
        xy = [float(v) for v in parts[:8]]
        draw.polygon(list(zip(xy[0::2], xy[1::2], strict=True)), outline=(255, 255, 0))
    return image


def write_all(
    scene: Path, prefix: Path, date: str | None = None, max_side: int = 640
) -> list[Path]:
    """Write the four quicklooks of a scene; ``date`` (YYYYMMDD) defaults to the clearest S2 date.

    Images larger than ``max_side`` pixels are shrunk (Lanczos) to keep the PNGs light.

    Returns:
        The PNG paths.
    """
    dates = sorted(p.name for p in (scene / "s2").iterdir())
    if date is None:
        date = min(
            dates, key=lambda d: _cloudiness(scene / "s2" / d / "cloudmask.tif") - 0.1 * _summer(d)
        )
    outputs = {
        "falsecolour": false_colour(scene / "s2" / date),
        "landcover": label_map(scene / "labels" / f"landcover_{date}.tif"),
        "s1": sar(scene / "s1" / date / "S1.VV.tif"),
        "vhr": vhr(scene / "vhr" / "harbour.tif", scene / "vhr" / "harbour.txt"),
    }
    paths = []
    for name, image in outputs.items():
        path = prefix.with_name(f"{prefix.name}_{name}.png")
        if max(image.size) > max_side:
            factor = max_side / max(image.size)
            size = (round(image.width * factor), round(image.height * factor))
            labels = name == "landcover"
            method = Image.Resampling.NEAREST if labels else Image.Resampling.LANCZOS
            image = image.resize(size, method)
        image.save(path, optimize=True)
        paths.append(path)
    return paths


def _cloudiness(path: Path) -> float:
    with rasterio.open(path) as ds:
        return float((ds.read(1) != legend.CLOUD_CLEAR).mean())


def _summer(stamp: str) -> float:
    return 1.0 if stamp[4:6] in ("06", "07") else 0.0


if __name__ == "__main__":
    for written in write_all(Path(sys.argv[1]), Path(sys.argv[2])):
        print(written)
