"""Whole-scene inference peers for ``bench_predict.py``: TerraTorch and geoai.

Each peer runs the caller's model on a GeoTIFF scene the way a user of that
library would, turns the class scores into a class map (argmax) and writes it
as a single-band uint8 GeoTIFF:

* ``terratorch_scene``: rasterio reads the whole scene into one tensor,
  ``terratorch.tasks.tiled_inference.tiled_inference`` tiles, predicts and
  blends it in memory, and the class map is written with rasterio.
* ``geoai_scene``: ``geoai.inference.predict_geotiff`` reads windows from the
  file, blends into full-scene accumulators and writes the class map itself.

For a like-for-like comparison with eoforge both peers get the same predictor
as eoforge's bundle predictor: ``softmax(model(nan_to_num(x)))`` under
``torch.inference_mode``, with no other input normalisation, on the CPU. The
tiling is the same too: ``tile`` x ``tile`` tiles, ``overlap`` pixels shared
by neighbouring tiles, ``batch`` tiles per forward pass. The caller sets torch
threads. Library import time is excluded from the timings (it is reported in
``note``). Each function returns ``None`` after printing a note when its
library is not installed (``pip install -e '.[bench]'``).

Smoke run (a 1024² scene, both peers and eoforge at the same settings; the
last line of stdout is one JSON object)::

    python benchmarks/peers_predict.py [--sizes 1024 2000] [--data DIR]
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt
import rasterio
import torch

_PROC_STATUS = Path("/proc/self/status")
_PROC_CLEAR_REFS = Path("/proc/self/clear_refs")


@dataclass(frozen=True)
class PeerResult:
    """One peer's whole-scene run.

    Attributes:
        name: Peer name (``"terratorch"`` or ``"geoai"``).
        seconds: Wall time of read + infer + blend + argmax + write.
        megapixels: Scene size in megapixels (height x width / 1e6).
        mpix_per_s: ``megapixels / seconds``.
        note: How the peer was called and what differs from eoforge.
        cpu_seconds: Process CPU time (all threads) over the same span; less
            sensitive than ``seconds`` to other load on a shared machine.
        peak_rss_delta_mib: Peak resident memory during the run minus the
            resident memory before it, in MiB; ``None`` where the peak cannot
            be reset (non-Linux).
    """

    name: str
    seconds: float
    megapixels: float
    mpix_per_s: float
    note: str
    cpu_seconds: float | None = None
    peak_rss_delta_mib: float | None = None


class _Probabilities(torch.nn.Module):
    """The caller's model followed by a softmax over classes (eoforge's predictor)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model(torch.nan_to_num(images)), dim=1)


def _status_kib(field: str) -> int | None:
    """A ``kB`` field of ``/proc/self/status`` (e.g. ``VmRSS``), or None."""
    try:
        for line in _PROC_STATUS.read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


@contextmanager
def _peak_rss_delta() -> Iterator[list[float | None]]:
    """Measure peak RSS growth of the block in MiB (Linux: resets ``VmHWM``).

    Yields a one-element list that holds the delta once the block has ended.
    """
    box: list[float | None] = [None]
    before = _status_kib("VmRSS")
    try:
        _PROC_CLEAR_REFS.write_text("5")  # resets the peak-RSS watermark
        reset = True
    except OSError:
        reset = False
    try:
        yield box
    finally:
        peak = _status_kib("VmHWM")
        if reset and before is not None and peak is not None:
            box[0] = round((peak - before) / 1024, 1)


def _import(name: str) -> tuple[ModuleType | None, float]:
    """Import a module, returning ``(module or None, seconds taken)``."""
    start = time.perf_counter()
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        print(f"{name} is not installed ({exc}); skipping that peer.", file=sys.stderr)
        return None, 0.0
    return module, time.perf_counter() - start


def _bands(scene: Path) -> int:
    with rasterio.open(scene) as src:
        return int(src.count)


def _scene_megapixels(scene: Path) -> float:
    with rasterio.open(scene) as src:
        return src.width * src.height / 1e6


def terratorch_scene(
    model: torch.nn.Module,
    scene: Path,
    *,
    tile: int = 512,
    overlap: int = 64,
    batch: int = 8,
    out: Path | None = None,
) -> PeerResult | None:
    """Classify a scene with TerraTorch's ``tiled_inference``.

    The whole scene is read into a ``[1, bands, H, W]`` float32 tensor (the
    function takes an in-memory tensor), tiled with ``crop=tile`` and
    ``stride=tile - overlap`` and TerraTorch's defaults otherwise (``delta=8``
    pixels cropped from each tile edge, reflect padding of the scene by
    ``delta``, cosine blend masks, ``average_patches=True``); the blended
    probabilities are reduced by argmax and written as a uint8 GeoTIFF with
    the input's profile.

    Args:
        model: The segmentation model, in eval mode, ``[B, bands, h, w]`` to
            ``[B, classes, h, w]``.
        scene: Input GeoTIFF (all bands are used).
        tile: Tile height and width in pixels.
        overlap: Pixels shared by neighbouring tiles.
        batch: Tiles per forward pass.
        out: Class-map GeoTIFF to write; defaults to ``<scene>_terratorch.tif``
            next to the scene.

    Returns:
        The timing, or ``None`` when ``terratorch`` is not installed.
    """
    module, import_s = _import("terratorch.tasks.tiled_inference")
    if module is None:
        return None
    tiled_inference: Callable[..., torch.Tensor] = module.tiled_inference
    out = out or scene.with_name(f"{scene.stem}_terratorch.tif")
    predictor = _Probabilities(model).eval()
    start, cpu = time.perf_counter(), time.process_time()
    with _peak_rss_delta() as rss, torch.inference_mode():
        with rasterio.open(scene) as src:
            profile = src.profile.copy()
            image = torch.from_numpy(src.read(out_dtype="float32"))[None]
        probs = tiled_inference(
            predictor,
            image,
            crop=tile,
            stride=tile - overlap,
            batch_size=batch,
            average_patches=True,
            blend_overlaps=True,
            verbose=False,
        )
        classes = probs[0].argmax(dim=0).to(torch.uint8).numpy()
        profile.update(count=1, dtype="uint8", nodata=None)
        with rasterio.open(out, "w", **profile) as dst:
            dst.write(classes, 1)
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    mpix = _scene_megapixels(scene)
    note = (
        f"tiled_inference(crop={tile}, stride={tile - overlap}, delta=8, padding='reflect', "
        f"batch_size={batch}); whole scene held as a tensor, every tile output kept until "
        f"the end, float32 full-scene sum/count buffers; plain GeoTIFF; "
        f"import {import_s:.1f} s excluded"
    )
    rate = round(mpix / seconds, 4)
    return PeerResult("terratorch", round(seconds, 3), mpix, rate, note, round(cpu, 2), rss[0])


def geoai_scene(
    model: torch.nn.Module,
    scene: Path,
    out: Path,
    *,
    tile: int = 512,
    overlap: int = 64,
    batch: int = 8,
) -> PeerResult | None:
    """Classify a scene with geoai's ``predict_geotiff``.

    ``geoai.inference.predict_geotiff`` takes the model object directly. It
    reads ``tile`` x ``tile`` windows (stride ``tile - overlap``, last tile
    pulled back inside the scene), blends with its default spline window into
    float64 full-scene accumulators, and writes the class map (argmax as its
    ``postprocess_fn``) as a uint8 GeoTIFF with the input's profile. Its
    default preprocessing (divide by 255 when a tile's max exceeds 1.5) is
    replaced by ``nan_to_num`` alone, as in eoforge.

    Args:
        model: The segmentation model, in eval mode, ``[B, bands, h, w]`` to
            ``[B, classes, h, w]``.
        scene: Input GeoTIFF (all bands are used).
        out: Class-map GeoTIFF to write.
        tile: Tile height and width in pixels.
        overlap: Pixels shared by neighbouring tiles.
        batch: Tiles per forward pass.

    Returns:
        The timing, or ``None`` when ``geoai-py`` is not installed.
    """
    module, import_s = _import("geoai.inference")
    if module is None:
        return None
    predict_geotiff: Callable[..., str] = module.predict_geotiff
    predictor = _Probabilities(model).eval()
    with torch.inference_mode():
        classes = int(predictor.model(torch.zeros(1, _bands(scene), 64, 64)).shape[1])

    def preprocess(tile_data: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
        return np.nan_to_num(tile_data.astype(np.float32, copy=False), nan=0.0)

    def argmax(scores: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
        return scores.argmax(axis=0).astype(np.uint8)

    start, cpu = time.perf_counter(), time.process_time()
    with _peak_rss_delta() as rss, torch.inference_mode():
        predict_geotiff(
            predictor,
            str(scene),
            str(out),
            tile_size=tile,
            overlap=overlap,
            batch_size=batch,
            num_classes=classes,
            output_dtype="uint8",
            output_nodata=255,
            preprocess_fn=preprocess,
            postprocess_fn=argmax,
            device="cpu",
            compress="deflate",
            verbose=False,
        )
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    mpix = _scene_megapixels(scene)
    note = (
        f"predict_geotiff(tile_size={tile}, overlap={overlap}, batch_size={batch}, "
        f"blend_mode='spline'); windowed reads, but float64 full-scene accumulators "
        f"(8 x (classes + 1) bytes/px) and a full-scene float64 temporary when normalising; "
        f"plain GeoTIFF; import {import_s:.1f} s excluded"
    )
    rate = round(mpix / seconds, 4)
    return PeerResult("geoai", round(seconds, 3), mpix, rate, note, round(cpu, 2), rss[0])


def _bench_predict() -> ModuleType:
    """Import the sibling ``bench_predict.py`` (``benchmarks/`` is not a package)."""
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    return importlib.import_module("bench_predict")


def _eoforge_scene(
    bench: ModuleType,
    model: torch.nn.Module,
    scene: Path,
    out: Path,
    tile: int,
    overlap: int,
    batch: int,
) -> PeerResult:
    """eoforge at the same settings, through ``bench_predict.eoforge_rate`` (as a bundle)."""
    from eoforge.predict import BundleModel, TilingOptions

    size = _band_shape(scene)[0]
    folder = out.parent / "bundle_unet"
    if not folder.exists():
        folder, _ = bench.save_model_bundle(folder, "unet", decoder="unet")
    cpu = time.process_time()
    with _peak_rss_delta() as rss:
        opts = TilingOptions(tile, overlap, batch)
        rate = bench.eoforge_rate(BundleModel((str(folder),)), scene, size, opts, out)
    cpu = time.process_time() - cpu
    mpix = size * size / 1e6
    note = "predict_scene, class-map COG (bundle seeded like bench_predict's, not this model)"
    return PeerResult(
        "eoforge", round(mpix / rate, 3), mpix, round(rate, 4), note, round(cpu, 2), rss[0]
    )


def _band_shape(scene: Path) -> tuple[int, int]:
    with rasterio.open(scene) as src:
        return int(src.height), int(src.width)


def _best(runs: list[PeerResult | None]) -> dict[str, Any] | None:
    """The fastest of repeated runs, with the largest peak-RSS delta seen."""
    done = [r for r in runs if r is not None]
    if not done:
        return None
    best = asdict(min(done, key=lambda r: r.seconds))
    peaks = [r.peak_rss_delta_mib for r in done if r.peak_rss_delta_mib is not None]
    best["peak_rss_delta_mib"] = max(peaks) if peaks else None
    best["runs_s"] = [r.seconds for r in done]
    best["runs_cpu_s"] = [r.cpu_seconds for r in done]
    return best


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Smoke run: both peers (and eoforge) on small scenes; prints JSON."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024])
    parser.add_argument("--data", type=Path, default=None, help="scene folder (default: temp)")
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--overlap", type=int, default=64)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=1, help="runs per peer, best kept")
    parser.add_argument("--no-eoforge", action="store_true", help="skip the eoforge run")
    args = parser.parse_args(argv)

    bench = _bench_predict()
    import segmentation_models_pytorch as smp

    torch.set_num_threads(2)
    model = smp.Unet("resnet18", encoder_weights=None, in_channels=4, classes=6).eval()
    bare = bench.bare_rate(model, 2)  # warms the model up too
    result: dict[str, Any] = {
        "bare_mpix_per_s": round(bare, 4),
        "tile": args.tile,
        "overlap": args.overlap,
        "batch": args.batch,
        "threads": torch.get_num_threads(),
        "scenes": [],
    }
    kw: dict[str, Any] = {"tile": args.tile, "overlap": args.overlap, "batch": args.batch}
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or Path(tmp)
        data.mkdir(parents=True, exist_ok=True)
        for size in args.sizes:
            scene = bench.make_scene(data / f"scene_{size}.tif", size)
            runs: dict[str, list[PeerResult | None]] = {"terratorch": [], "geoai": []}
            if not args.no_eoforge:
                runs["eoforge"] = []
            for _ in range(args.repeat):  # interleaved, so load drifts hit every peer
                out = data / f"classes_{size}_terratorch.tif"
                runs["terratorch"].append(terratorch_scene(model, scene, out=out, **kw))
                out = data / f"classes_{size}_geoai.tif"
                runs["geoai"].append(geoai_scene(model, scene, out, **kw))
                if "eoforge" in runs:
                    out = data / f"classes_{size}_eoforge.tif"
                    runs["eoforge"].append(_eoforge_scene(bench, model, scene, out, **kw))
            row: dict[str, Any] = {"scene_px": size}
            for name, done in runs.items():
                row[name] = best = _best(done)
                if best is not None:
                    print(
                        f"{size}²  {name}: {best['mpix_per_s']:.3f} MP/s "
                        f"({best['mpix_per_s'] / bare:.2f} of bare), CPU {best['cpu_seconds']} s, "
                        f"peak RSS +{best['peak_rss_delta_mib']} MiB",
                        file=sys.stderr,
                    )
            result["scenes"].append(row)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
