"""Raster outputs: per-pixel scores blended across tiles into COGs, on the input grid or another.

Class maps are uint8 with a colour table and class names; probabilities and
confidence are uint8 scaled by 1/254 (the GeoTIFF ``scale`` says so, GDAL
and QGIS show 0..1) with 255 as nodata; regression values are float32 with
NaN as nodata. A scaled spec (``scale=4`` for x4 super-resolution,
``scale=Fraction(1, 10)`` for a 10x coarser map) writes onto a grid with
smaller or larger pixels; blending then happens on that grid.

A block's tiles are blended into partial sums over its extent (``[K + 2, h,
w]``: weighted scores, weights, invalid count). Its core, the part no other
block touches, is finalised at once; the bands along its top and left edges
and its spills past its own region wait in the work store for the blocks
above and to the left. Finalising adds the contributors' partials in
row-major order, so every executor produces the same bits.

Finished pixels go to small GeoTIFF pieces in the work folder as soon as they
are final (a block's core when it is stored, its edge bands when it is
finalised; each written under a temporary name and renamed), so publishing
reads them once through a VRT mosaic straight into GDAL's COG driver: no
assembled intermediate raster is written and read back. On a finer grid
(super-resolution: ``scale²`` times the input's pixels) the float products skip
GDAL's copy: their finished pixels are cut into the COG's tiles, encoded beside
the model with their 2x, 4x, ... averages up to the scale, and publishing only
writes the file around them (:mod:`.cog_tiles`).
"""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np
import numpy.typing as npt
import rasterio
import torch
import zarr
from affine import Affine
from odc.geo.geobox import GeoBox

from eoforge.classes import ClassInfo
from eoforge.errors import ConfigError, MissingFileError
from eoforge.geo.grid import crs_of
from eoforge.models import LoadedBundle
from eoforge.predict.blend import tile_weights
from eoforge.predict.cog import Codec, OverviewResampling, copy_cog, has_zstd
from eoforge.predict.cog_tiles import TiledCog
from eoforge.predict.kinds import OutputKind
from eoforge.predict.overviews import cog_overview_factors, exact_factors
from eoforge.predict.plan import Block, BlockPlan, Rect, Scaling, intersect, scale_rect
from eoforge.predict.types import PredictorOutput, TileInput
from eoforge.predict.work import WorkStore
from eoforge.transforms.field_targets import TARGET_NAMES

FloatArray = npt.NDArray[np.float32]

CLASS_NODATA = 255
"""Class map (and uint8 probability) value of pixels whose inputs are invalid."""

PROBABILITY_SCALE = 254
"""uint8 probability = round(p * 254); 255 is nodata."""

FINE_GRID_COG_LEVEL = 1
"""Compression level of COGs on a finer grid (super-resolution: ``scale²`` times the input's
pixels, float32). Compressing them is the largest cost after the network: ZSTD level 1
with the floating-point predictor takes half the CPU of DEFLATE level 1 (itself ~40 %
less than GDAL's default 6) and is as small (bench_sr's 3,072² 4-band x4 output: 150.7 MB
vs 151.9 MB DEFLATE 1, 151.5 MB DEFLATE 6; through GDAL). eoforge encodes these tiles
itself (:mod:`.tiff`): there ZSTD level 1 takes 0.48 CPU-s for that output's 144 band tiles,
zlib level 1 3.5 CPU-s, and ZSTD level -1 0.33 CPU-s for 4 % more bytes. DEFLATE level 1
where this GDAL lacks ZSTD (it could not read the tiles)."""

_CLASS_TASKS = ("segmentation", "change")


@dataclass
class Partial:
    """A block's blended partial sums.

    Attributes:
        origin: ``(row, col)`` of ``sums``' top-left pixel on the output grid.
        sums: ``[K + 2, h, w]`` weighted scores, weights, invalid count.
    """

    origin: tuple[int, int]
    sums: FloatArray


@dataclass(frozen=True)
class OutputSpec(OutputKind[Partial]):
    """Raster products of one prediction, blended across tiles.

    Attributes:
        kind: ``"classes"`` (scores per class, argmax → class map) or ``"values"``
            (regression or image-to-image, written as float32).
        classes: Output classes in model channel order (kind ``"classes"``).
        names: Channel names (kind ``"values"``).
        probabilities: Also write per-class probabilities (uint8).
        confidence: Also write the winning class's probability (uint8).
        scale: Output pixels per input pixel along each axis: an integer (2, 4, 8:
            the model returns ``[B, K, h * scale, w * scale]`` for ``[B, C, h, w]``)
            or ``Fraction(1, n)`` (the model returns ``[B, K, h / n, w / n]``).
        halo: Input pixels at each tile edge inside the scene that a local operator
            computes from missing context (a filter's window reaching past the tile):
            they get no weight, so with tiles overlapping by at least ``2 * halo`` every
            pixel comes from a tile that saw its whole window (exact seams).
        product: File name of the ``values`` product: ``<stem>_<product>.tif``.
    """

    kind: Literal["classes", "values"]
    classes: tuple[ClassInfo, ...] = ()
    names: tuple[str, ...] = ()
    probabilities: bool = False
    confidence: bool = False
    scale: Fraction | int = 1
    halo: int = 0
    product: str = "values"

    def __post_init__(self) -> None:
        scale = Fraction(self.scale)
        if scale <= 0 or (scale.numerator != 1 and scale.denominator != 1):
            raise ConfigError(
                f"an output scale of {self.scale} is not supported.",
                fix="use a whole factor (2, 4, 8) or its inverse (Fraction(1, n)).",
            )

    @classmethod
    def from_bundle(
        cls, bundle: LoadedBundle, *, probabilities: bool = False, confidence: bool = False
    ) -> Self:
        """The products of a bundle: a class map for class tasks, values for regression.

        Args:
            bundle: The loaded bundle.
            probabilities: Also write per-class probabilities.
            confidence: Also write the winning class's probability.

        Raises:
            ConfigError: The bundle's task does not label pixels.
        """
        info = bundle.bundle
        if info.task in _CLASS_TASKS:
            return cls(
                "classes", tuple(info.classes), probabilities=probabilities, confidence=confidence
            )
        if info.task == "pixel_regression":
            return cls("values", names=(str(info.model.options.get("target", "value")),))
        if info.task == "image_to_image":  # the target bands, named, in physical units
            return cls("values", names=tuple(info.model.options["target_bands"]))
        if info.task == "field_boundaries":  # probabilities; polygons follow (predict.fields)
            return cls("values", names=TARGET_NAMES)
        if info.task == "super_resolution":  # the bands again, on a grid `scale` times finer
            return cls("values", names=tuple(info.bands), scale=int(info.model.options["scale"]))
        raise ConfigError(
            f"a {info.task} bundle labels whole patches, not pixels.",
            fix=(
                "predict scenes with a segmentation, change, pixel_regression, "
                "super_resolution, image_to_image or field_boundaries bundle."
            ),
        )

    @property
    def scaling(self) -> Scaling:
        """Plan-to-output and plan-to-input pixel factors."""
        scale = Fraction(self.scale)
        return Scaling(up=scale.numerator, down=scale.denominator)

    @property
    def channels(self) -> int:
        """Model outputs per pixel ``K``."""
        return len(self.classes) if self.kind == "classes" else len(self.names)

    def products(self) -> list[str]:
        """Names of the rasters written, in order."""
        if self.kind == "values":
            return ["values"]
        return [
            "classes",
            *(["confidence"] if self.confidence else []),
            *(["probabilities"] if self.probabilities else []),
        ]

    def bands(self, product: str) -> int:
        """Band count of ``product``."""
        return self.channels if product in ("probabilities", "values") else 1

    def dtype(self, product: str) -> str:
        """Data type of ``product``."""
        return "float32" if product == "values" else "uint8"

    def nodata(self, product: str) -> float:
        """Nodata value of ``product``."""
        return float("nan") if product == "values" else float(CLASS_NODATA)

    def describe(self) -> dict[str, object]:
        """JSON-ready description (part of the resume fingerprint)."""
        return {
            "output": "raster",
            "kind": self.kind,
            "classes": [[c.id, c.name, c.color] for c in self.classes],
            "names": list(self.names),
            "probabilities": self.probabilities,
            "confidence": self.confidence,
            "scale": str(Fraction(self.scale)),
            "halo": self.halo,
            # finished pixels as GeoTIFF pieces (on finer grids, float products as encoded
            # COG tiles): older work folders differ
            "work": "pieces" if self.scaling.up == 1 else "pieces+cog-tiles",
        }

    # -- blocks ---------------------------------------------------------------

    def begin(self, plan: BlockPlan, block: Block) -> Partial:
        """Zeroed partial sums ``[K + 2, h, w]`` over ``block``'s extent (output pixels)."""
        r0, c0, r1, c1 = scale_rect(block.extent, self.scaling.up)
        return Partial((r0, c0), np.zeros((self.channels + 2, r1 - r0, c1 - c0), np.float32))

    def add(
        self,
        plan: BlockPlan,
        state: Partial,
        items: Sequence[TileInput],
        output: PredictorOutput,
    ) -> None:
        """Blend ``[B, K, h', w']`` scores of ``items`` into the partial sums."""
        if not isinstance(output, torch.Tensor):
            raise ValueError("a raster output needs the model to return a tensor [B, K, h, w]")
        values = output.float().numpy()
        k, up = self.channels, self.scaling.up
        r0, c0 = state.origin
        for item, v in zip(items, values, strict=True):
            row, col, h, w = (x * up for x in item.tile.window)
            if v.shape != (k, h, w):
                raise ValueError(
                    f"the model returned {tuple(v.shape)} for a tile, expected {(k, h, w)}"
                    f" ({k} channels, output scale {Fraction(self.scale)})"
                )
            weights = tile_weights(h, w, plan.overlap * up)
            if self.halo:
                weights = self._without_halo(plan, item.tile.window, weights)
            region = state.sums[:, row - r0 : row - r0 + h, col - c0 : col - c0 + w]
            region[:k] += v * weights
            region[k] += weights
            if item.invalid.any():  # most tiles have no invalid pixel: nothing to count
                region[k + 1] += self._invalid(item.invalid)

    def _without_halo(
        self, plan: BlockPlan, window: tuple[int, int, int, int], weights: FloatArray
    ) -> FloatArray:
        """``weights`` with the halo zeroed along the tile's edges that lie inside the scene."""
        if plan.overlap < 2 * self.halo:
            raise ConfigError(
                f"tiles overlap by {plan.overlap} px, less than twice the {self.halo}-px halo "
                "of the operator: the seams would not be exact.",
                fix=f"use an overlap of at least {2 * self.halo} px.",
            )
        up, n = self.scaling.up, self.halo * self.scaling.up
        row, col, h, w = window
        out = weights.copy()
        if row > 0:
            out[:n] = 0
        if col > 0:
            out[:, :n] = 0
        if row + h < plan.grid.shape.y:
            out[h * up - n :] = 0
        if col + w < plan.grid.shape.x:
            out[:, w * up - n :] = 0
        return out

    def _invalid(self, invalid: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        """The input's invalid mask on output pixels."""
        s = self.scaling
        if s.up > 1:
            return np.repeat(np.repeat(invalid, s.up, axis=0), s.up, axis=1)
        if s.down > 1:
            h, w = invalid.shape[0] // s.down, invalid.shape[1] // s.down
            return np.asarray(invalid.reshape(h, s.down, w, s.down).any(axis=(1, 3)))
        return invalid

    def store(self, work: WorkStore, plan: BlockPlan, block: Block, state: Partial) -> None:
        """Write ``block``'s core outputs (pieces), edge bands and spills (Zarr)."""
        up = self.scaling.up
        group = work.group(block, "w")
        extent = scale_rect(block.extent, up)
        core = _core(plan, block, up)
        if core is not None:
            self._write(work, plan, block, "core", core, _slice(state.sums, extent, core))
        parts = {
            "band": [scale_rect(r, up) for r in _bands_of(plan, block)],
            "spill": [scale_rect(r, up) for r in block.spills()],
        }
        for name, rects in parts.items():
            for i, rect in enumerate(rects):
                data = _slice(state.sums, extent, rect)
                group.create_array(f"{name}{i}", data=data, chunks=data.shape, **_UNCOMPRESSED)
        group.attrs["parts"] = {k: [list(r) for r in v] for k, v in parts.items()}

    def dependencies(self, plan: BlockPlan, block: Block) -> list[Block]:
        """The blocks above/left reaching into ``block``'s own region, and itself."""
        return plan.contributors(block)

    def finalize(self, work: WorkStore, plan: BlockPlan, block: Block) -> None:
        """Add the contributors' partials on ``block``'s edge bands and write the outputs there."""
        up = self.scaling.up
        bands = [scale_rect(r, up) for r in _bands_of(plan, block)]
        if not bands:
            return
        contributors = plan.contributors(block)
        parts = {
            b.index: _parts(work, b, "band" if b.index == block.index else "spill")
            for b in contributors
        }
        for i, band in enumerate(bands):
            acc = np.zeros((self.channels + 2, band[2] - band[0], band[3] - band[1]), np.float32)
            for b in contributors:
                for rect, array in parts[b.index]:
                    common = intersect(rect, band)
                    if common is None:
                        continue
                    src = np.asarray(
                        array[
                            :,
                            common[0] - rect[0] : common[2] - rect[0],
                            common[1] - rect[1] : common[3] - rect[1],
                        ]
                    )
                    _slice(acc, band, common)[...] += src
            self._write(work, plan, block, f"band{i}", band, acc)

    def release(self, work: WorkStore, block: Block) -> None:
        """Delete ``block``'s bands and spills."""
        group = work.group(block)
        rects: dict[str, list[list[int]]] = group.attrs["parts"]  # type: ignore[assignment]
        for kind, items in rects.items():
            for i in range(len(items)):
                shutil.rmtree(work.path(block, f"{kind}{i}"), ignore_errors=True)

    def _write(
        self,
        work: WorkStore,
        plan: BlockPlan,
        block: Block,
        part: str,
        rect: Rect,
        partial: FloatArray,
    ) -> None:
        """Finalise ``partial`` (over ``rect``, output pixels) into each product's piece."""
        grid = self.output_grid(plan.grid)
        for name, values in finalize(partial, self).items():
            image = values if values.ndim == 3 else values[None]
            tiles = self.tiled(work, plan, name)
            if tiles is not None:
                tiles.add(rect, image.astype(np.float32, copy=False))
            else:
                piece = work.piece(block, f"{name}.{part}.tif")
                _save_piece(piece, image, grid, rect, self.nodata(name))

    def tiled(self, work: WorkStore, plan: BlockPlan, product: str) -> TiledCog | None:
        """``product``'s COG tiles when it is written tile by tile (:mod:`.cog_tiles`).

        Float products on a finer grid are; the others go through GeoTIFF pieces and
        GDAL's COG driver (None).
        """
        up = self.scaling.up
        if up == 1 or self.dtype(product) != "float32":
            return None
        h, w = plan.grid.shape.y * up, plan.grid.shape.x * up
        factors = cog_overview_factors(h, w)
        return TiledCog(
            work.folder / "cog" / product,
            h,
            w,
            self.bands(product),
            tuple(factors),
            len(exact_factors(factors, up)),
            _fine_grid_codec(),
            FINE_GRID_COG_LEVEL,
        )

    def _pieces(self, plan: BlockPlan, block: Block) -> list[tuple[str, Rect]]:
        """``block``'s pieces: ``(part, rect)`` of its core and edge bands, output pixels."""
        up = self.scaling.up
        core = _core(plan, block, up)
        bands = [scale_rect(r, up) for r in _bands_of(plan, block)]
        return ([] if core is None else [("core", core)]) + [
            (f"band{i}", band) for i, band in enumerate(bands)
        ]

    # -- publishing -----------------------------------------------------------

    def publish(self, work: WorkStore, plan: BlockPlan, stem: Path) -> dict[str, Path]:
        """Assemble every product into a COG ``<stem>_<product>.tif``."""
        names = {"values": self.product}
        paths = {p: stem.with_name(f"{stem.name}_{names.get(p, p)}.tif") for p in self.products()}
        for product, path in paths.items():
            self.assemble(work, plan, product, path)
        return paths

    def assemble(self, work: WorkStore, plan: BlockPlan, product: str, out: Path) -> Path:
        """Write ``product`` of every block into one COG at ``out`` (temporary name first).

        The blocks' pieces are mosaicked by a VRT in the work folder, which GDAL's COG
        driver reads once (overviews, compression).

        Raises:
            MissingFileError: A piece is missing (the work folder was changed by hand).
        """
        up = self.scaling.up
        grid = Scaling(up=up).output_grid(plan.grid)  # plan pixels are input or output pixels
        tiles = self.tiled(work, plan, product)
        if tiles is not None:
            names = self.names if product == "values" else ()
            return tiles.publish(out, grid, self.nodata(product), names)
        pieces = [
            (work.piece(block, f"{product}.{part}.tif"), rect)
            for block in plan.blocks
            for part, rect in self._pieces(plan, block)
        ]
        _check_pieces(work, pieces)
        count, dtype, nodata = self.bands(product), self.dtype(product), self.nodata(product)
        vrt = work.folder / f"{product}.vrt"
        vrt.write_text(_mosaic_vrt(grid, count, dtype, nodata, pieces, vrt))
        with rasterio.open(vrt, "r+") as dst:  # band names, colours, scales into the VRT
            self._describe_bands(dst, product)
        resampling: OverviewResampling = "nearest" if product == "classes" else "average"
        level: int | None = None
        codec: Codec = "DEFLATE"
        if up > 1:  # finer grids: the cheapest codec that is as small (FINE_GRID_COG_LEVEL)
            level, codec = FINE_GRID_COG_LEVEL, _fine_grid_codec()
        try:
            return copy_cog(
                vrt,
                out,
                floating=self.dtype(product) == "float32",
                resampling=resampling,
                level=level,
                codec=codec,
            )
        finally:
            vrt.unlink(missing_ok=True)

    def _describe_bands(self, dst: rasterio.io.DatasetWriter, product: str) -> None:
        if product == "classes":
            dst.write_colormap(1, {c.id: c.rgba for c in self.classes})
            dst.update_tags(1, **{f"CLASS_{c.id}": c.name for c in self.classes})
            dst.set_band_description(1, "class")
        elif product == "confidence":
            dst.set_band_description(1, "confidence")
            dst.scales = (1 / PROBABILITY_SCALE,)
        elif product == "probabilities":
            for i, c in enumerate(self.classes, start=1):
                dst.set_band_description(i, f"p({c.name})")
            dst.scales = (1 / PROBABILITY_SCALE,) * len(self.classes)
        else:
            for i, name in enumerate(self.names, start=1):
                dst.set_band_description(i, name)


def finalize(partial: FloatArray, spec: OutputSpec) -> dict[str, npt.NDArray[np.generic]]:
    """Turn accumulated ``[K + 2, h, w]`` sums into the published products.

    Args:
        partial: Channels ``0..K-1``: weighted score sums; ``K``: weight sums;
            ``K + 1``: count of tiles that saw an invalid input at the pixel.
        spec: Which products to compute.

    Returns:
        Product name → array (``[h, w]`` for class/confidence, ``[K, h, w]`` otherwise).
    """
    k = spec.channels
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = partial[:k] / partial[k]
    bad = (partial[k + 1] > 0) | ~(partial[k] > 0) | ~np.isfinite(scores).all(axis=0)
    if spec.kind == "values":
        scores[:, bad] = np.nan
        return {"values": scores.astype(np.float32, copy=False)}
    ids = np.array([c.id for c in spec.classes], np.uint8)
    safe = np.nan_to_num(scores, nan=-np.inf)
    best = safe.argmax(axis=0)
    out: dict[str, npt.NDArray[np.generic]] = {}
    labels = ids[best]
    labels[bad] = CLASS_NODATA
    out["classes"] = labels
    if spec.confidence:
        top = np.take_along_axis(safe, best[None], axis=0)[0]
        out["confidence"] = _scale(top, bad)
    if spec.probabilities:
        out["probabilities"] = _scale(scores, np.broadcast_to(bad, scores.shape))
    return out


def _scale(p: FloatArray, bad: npt.NDArray[np.bool_]) -> npt.NDArray[np.uint8]:
    q = np.rint(np.clip(np.nan_to_num(p, nan=0.0), 0.0, 1.0) * PROBABILITY_SCALE).astype(np.uint8)
    q[bad] = CLASS_NODATA
    return q


def _edges(plan: BlockPlan, block: Block) -> tuple[int, int]:
    """``(row, col)`` where ``block``'s core starts: above/left of it other blocks reach in."""
    o = block.own
    others = [b for b in plan.contributors(block) if b.index != block.index]
    i, j = block.index
    top = max((min(b.extent[2], o[2]) for b in others if b.index[0] < i), default=o[0])
    left = max((min(b.extent[3], o[3]) for b in others if b.index[1] < j), default=o[1])
    return top, left


def _bands_of(plan: BlockPlan, block: Block) -> list[Rect]:
    """Parts of ``block``'s own region that other blocks also reach (top band, left band)."""
    o = block.own
    top, left = _edges(plan, block)
    parts = [(o[0], o[1], top, o[3]), (top, o[1], o[2], left)]
    return [p for p in parts if p[0] < p[2] and p[1] < p[3]]


def _core(plan: BlockPlan, block: Block, up: int) -> Rect | None:
    """``block``'s core (the part of its own region no other block reaches), output pixels."""
    core = scale_rect((*_edges(plan, block), block.own[2], block.own[3]), up)
    return core if core[0] < core[2] and core[1] < core[3] else None


def _check_pieces(work: WorkStore, pieces: Sequence[tuple[Path, Rect]]) -> None:
    """Raise :class:`MissingFileError` for the first of ``pieces`` that is missing."""
    for path, _ in pieces:
        if not path.exists():
            raise MissingFileError(
                "this piece of the prediction is missing: its work folder is incomplete.",
                path=path,
                fix=f"delete {work.folder} and predict again.",
            )


def _save_piece(
    path: Path, values: npt.NDArray[np.generic], grid: GeoBox, rect: Rect, nodata: float
) -> None:
    """Write ``values`` ``[n, h, w]`` (``rect`` of ``grid``) as a GeoTIFF piece at ``path``.

    Written under a temporary name and renamed, so a killed run never leaves a torn
    piece that a resumed one would publish. Compressed as the intermediate rasters
    were (:func:`_profile`: float32 uncompressed, uint8 ZSTD or DEFLATE level 1).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    n, h, w = values.shape
    profile = _profile(grid, n, str(values.dtype), nodata)
    profile |= {
        "height": h,
        "width": w,
        "transform": grid.affine @ Affine.translation(rect[1], rect[0]),
    }
    del profile["num_threads"]  # written beside the model: one thread
    # band by band: GDAL reads a VRT of band-interleaved pieces into the COG for ~15 % less
    # CPU than pixel-interleaved ones, and less than an assembled GeoTIFF (bench_sr x4)
    profile["interleave"] = "band"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial.tif")
    with rasterio.open(tmp, "w", **profile) as dst:
        dst.write(values)
    os.replace(tmp, path)


_GDAL_TYPES = {"float32": "Float32", "uint8": "Byte"}


def _mosaic_vrt(
    grid: GeoBox,
    count: int,
    dtype: str,
    nodata: float,
    pieces: Sequence[tuple[Path, Rect]],
    vrt: Path,
) -> str:
    """A GDAL VRT of ``grid`` showing each piece at its rect (output pixels).

    Args:
        grid: The output grid.
        count: Bands.
        dtype: Data type (``float32`` or ``uint8``).
        nodata: Nodata value.
        pieces: ``(GeoTIFF path, rect)`` pairs; the rects partition the grid.
        vrt: Where the VRT will be written (piece paths are relative to it).
    """
    root = ET.Element("VRTDataset", rasterXSize=str(grid.shape.x), rasterYSize=str(grid.shape.y))
    ET.SubElement(root, "SRS").text = crs_of(grid).to_wkt()
    ET.SubElement(root, "GeoTransform").text = ", ".join(repr(x) for x in grid.affine.to_gdal())
    for b in range(1, count + 1):
        band = ET.SubElement(root, "VRTRasterBand", dataType=_GDAL_TYPES[dtype], band=str(b))
        ET.SubElement(band, "NoDataValue").text = repr(nodata)
        for path, (r0, c0, r1, c1) in pieces:
            source = ET.SubElement(band, "SimpleSource")
            name = ET.SubElement(source, "SourceFilename", relativeToVRT="1")
            name.text = os.path.relpath(path, vrt.parent)
            ET.SubElement(source, "SourceBand").text = str(b)
            size = {"xSize": str(c1 - c0), "ySize": str(r1 - r0)}
            ET.SubElement(source, "SrcRect", {"xOff": "0", "yOff": "0"} | size)
            ET.SubElement(source, "DstRect", {"xOff": str(c0), "yOff": str(r0)} | size)
    return ET.tostring(root, encoding="unicode")


def _slice(acc: FloatArray, origin: Rect, rect: Rect) -> FloatArray:
    rows = slice(rect[0] - origin[0], rect[2] - origin[0])
    return acc[:, rows, rect[1] - origin[1] : rect[3] - origin[1]]


def _parts(work: WorkStore, block: Block, kind: str) -> list[tuple[Rect, zarr.Array[Any]]]:
    group = work.group(block)
    rects: dict[str, list[list[int]]] = group.attrs["parts"]  # type: ignore[assignment]
    out = []
    for i, rect in enumerate(rects[kind]):
        array = group[f"{kind}{i}"]
        assert isinstance(array, zarr.Array)
        out.append(((rect[0], rect[1], rect[2], rect[3]), array))
    return out


def _profile(grid: GeoBox, count: int, dtype: str, nodata: float) -> dict[str, object]:
    return {
        "driver": "GTiff",
        "height": grid.shape.y,
        "width": grid.shape.x,
        "count": count,
        "dtype": dtype,
        "crs": crs_of(grid).to_wkt(),
        "transform": grid.affine,
        "nodata": nodata,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        # an intermediate file, written fast; the COG is compressed properly. float32
        # stays uncompressed: without a predictor ZSTD level 1 saves ~13 % of its bytes
        # for ~0.3 CPU-s per 150 MB written and read back (bench_sr's x4 output);
        # uint8 maps shrink many times for little CPU (ZSTD level 1: ~4x less CPU
        # than DEFLATE level 1)
        **({} if dtype == "float32" else _fast_compression()),
        "num_threads": "ALL_CPUS",  # blocks compressed in parallel; same bytes
    }


_UNCOMPRESSED: dict[str, Any] = {"compressors": None}
"""Zarr codecs of the partial sums in the work store: none.

Partial sums are float32 with noisy low mantissa bits: Zarr's default ZSTD (level 3)
saves 13 % of their bytes for twice the CPU of writing them (a 64 MB block of bench_sr's
x4 output: 0.30 vs 0.15 CPU-s, and reading back pays again); the store is temporary.
"""


def _fine_grid_codec() -> Codec:
    return "ZSTD" if has_zstd() else "DEFLATE"


def _fast_compression() -> dict[str, object]:
    """ZSTD level 1 where this GDAL has ZSTD, else DEFLATE level 1."""
    return (
        {"compress": "zstd", "zstd_level": 1}
        if has_zstd()
        else {"compress": "deflate", "zlevel": 1}
    )
