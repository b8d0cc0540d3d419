"""Score an image-text bundle: zero-shot land cover of a scene, caption retrieval of a config.

* :func:`zero_shot_scene`: a scene with a land-cover label raster and its
  ``legend.json`` (an ``eoforge synth`` scene folder) is cut into windows of
  the bundle's patch size on the label raster's grid; each window's truth is
  its dominant class (nodata and classes named in ``exclude`` never count),
  and the bundle classifies it from the class names in prompt templates.
* :func:`caption_retrieval`: the validation pairs of an image-text experiment
  config (``data.kind: captions``); each window is a candidate image, each
  caption a query; a caption is relevant to its own window only.
  Text->image and image->text recall@1/5/10, ranks, mAP and nDCG. A CLOSP
  config is scored per modality, each tower on its own validation pairs.

Images are standardised with the bundle's statistics and invalid pixels
blanked, as in training.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import rasterio
import torch

from eoforge.errors import ConfigError, MissingFileError
from eoforge.evaluate.retrieval import cross_modal_scores
from eoforge.evaluate.zeroshot import TEMPLATES, ZeroShotResult, zero_shot
from eoforge.experiment.image_text import caption_data, closp_pairs, is_closp
from eoforge.experiment.loading import load_config
from eoforge.experiment.scenes import catalog_of
from eoforge.geo.grid import make_grid
from eoforge.io.reader import read
from eoforge.models import LoadedBundle, load_bundle
from eoforge.models.image_text_bundle import load_text_side
from eoforge.tasks.base import blank_invalid
from eoforge.tasks.image_text import CaptionPairs

PathLike = str | os.PathLike[str]


def embed_images(
    loaded: LoadedBundle, images: torch.Tensor, valid: torch.Tensor | None, batch: int = 128
) -> npt.NDArray[np.float32]:
    """Joint vectors ``[N, D]`` of windows ``[N, C, H, W]`` in physical units."""
    norm = loaded.bundle.normalization
    mean = torch.tensor(norm.mean)[None, :, None, None]
    std = torch.tensor(norm.std)[None, :, None, None]
    parts = []
    with torch.no_grad():
        for start in range(0, len(images), batch):
            x = (images[start : start + batch] - mean) / std
            v = None if valid is None else valid[start : start + batch]
            parts.append(loaded.model(blank_invalid(x, v)).float())
    return torch.cat(parts).numpy().astype(np.float32)


def _legend(scene: Path, layer: str) -> dict[int, str]:
    path = scene / "legend.json"
    if not path.is_file():
        raise MissingFileError(
            "no legend.json beside the labels: class names are unknown.",
            path=path,
            fix="give an eoforge synth scene folder (labels/ and legend.json).",
        )
    return {int(e["value"]): str(e["name"]) for e in json.loads(path.read_text())[layer]}


def zero_shot_scene(
    bundle: PathLike,
    scene: PathLike,
    *,
    templates: Sequence[str] = TEMPLATES,
    layer: str = "landcover",
    exclude: Sequence[str] = ("nodata",),
) -> tuple[ZeroShotResult, dict[str, Any]]:
    """Zero-shot dominant-class accuracy of a bundle on a labelled scene.

    Args:
        bundle: Image-text bundle folder.
        scene: Scene folder with ``labels/<layer>_*.tif`` and ``legend.json``.
        templates: Prompt templates.
        layer: The label layer.
        exclude: Class names that never count.

    Returns:
        The scored predictions (over the classes that dominate some window) and
        ``{"windows": N, "classes": [...], "majority_share": ...}``.

    Raises:
        MissingFileError: No label raster or legend.
        ConfigError: The labels' pixel size is not the bundle's.
    """
    folder = Path(scene)
    rasters = sorted((folder / "labels").glob(f"{layer}*.tif"))
    if not rasters:
        raise MissingFileError(
            f"no {layer} label raster.", path=folder / "labels", fix="give a labelled scene folder."
        )
    loaded = load_bundle(bundle)
    info = loaded.bundle
    with rasterio.open(rasters[0]) as ds:
        labels = ds.read(1)
        grid = make_grid(ds.shape, ds.transform, ds.crs)
        size = abs(ds.transform.a)
    if info.gsd is not None and abs(size - info.gsd) > 1e-6 * info.gsd:
        raise ConfigError(
            f"the labels have {size} m pixels; the bundle was trained at {info.gsd} m.",
            path=rasters[0],
            fix="score on a scene at the bundle's GSD.",
        )
    names = _legend(folder, layer)
    sources = [
        e.source
        for e in catalog_of([folder]).query(kind="image")
        if e.source is not None and any(e.source.resolve(b) for b in info.bands)
    ]
    image, valid = read(sources, grid, info.bands)
    side = info.patch_size
    rows, cols = labels.shape[0] // side, labels.shape[1] // side

    def cut(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
        lead = array.shape[:-2]
        trimmed = array[..., : rows * side, : cols * side]
        shaped = trimmed.reshape(*lead, rows, side, cols, side)
        moved = np.moveaxis(shaped, (-4, -2), (0, 1))
        return moved.reshape(rows * cols, *lead, side, side)

    counted = [v for v, n in names.items() if n not in exclude]
    blocks = cut(labels).reshape(rows * cols, -1)
    counts = np.stack([(blocks == v).sum(axis=1) for v in counted], axis=1)
    keep = counts.sum(axis=1) > 0
    dominant = np.asarray(counted)[counts.argmax(axis=1)][keep]
    present = sorted(set(dominant.tolist()))
    truth = np.array([present.index(int(d)) for d in dominant])
    vectors = embed_images(
        loaded,
        torch.from_numpy(np.ascontiguousarray(cut(image)))[keep],
        torch.from_numpy(np.ascontiguousarray(cut(valid)))[keep],
    )
    class_names = [names[v] for v in present]
    result = zero_shot(load_text_side(bundle), vectors, truth, class_names, templates)
    extra = {
        "windows": int(keep.sum()),
        "classes": class_names,
        "majority_share": float(np.bincount(truth).max() / len(truth)),
    }
    return result, extra


def caption_retrieval(bundle: PathLike, config: PathLike) -> dict[str, float]:
    """Text->image and image->text scores on an image-text config's validation pairs.

    A CLOSP config (``data.modalities``) is scored per modality on that
    modality's own validation pairs: ``bundle`` is either one modality's bundle
    (``<run>/bundle/<modality>``: plain metric names) or the folder holding them
    all (each metric prefixed ``<modality>/``).

    Raises:
        ConfigError: The config is not an image-text config, or the bundle is
            none of the CLOSP run's modalities.
    """
    experiment = load_config(config)
    if experiment.task.kind != "image_text":
        raise ConfigError(
            f"--retrieval scores caption pairs; the config trains {experiment.task.kind!r}.",
            path=config,
            fix="give the image-text experiment config (data.kind captions).",
        )
    folder = Path(bundle)
    if not is_closp(experiment):
        pairs = caption_data(experiment).val
        assert isinstance(pairs, CaptionPairs)
        return _pair_retrieval(folder, pairs)
    val = closp_pairs(experiment)[1]
    if folder.name in val:
        return _pair_retrieval(folder, val[folder.name])
    present = [m for m in val if (folder / m).is_dir()]
    if not present:
        raise ConfigError(
            f"{folder} is no bundle of this CLOSP run's modalities ({', '.join(val)}).",
            path=folder,
            fix="give <run>/bundle/<modality> or the <run>/bundle folder holding them.",
        )
    scores: dict[str, float] = {}
    for name in present:
        for metric, value in _pair_retrieval(folder / name, val[name]).items():
            scores[f"{name}/{metric}"] = value
    return scores


def _pair_retrieval(bundle: Path, pairs: CaptionPairs) -> dict[str, float]:
    """Caption <-> window retrieval of one bundle over caption pairs (a window per key)."""
    loaded = load_bundle(bundle)
    windows: dict[tuple[int, int], int] = {}
    first: list[int] = []
    for i in range(len(pairs)):
        key = pairs.window_key(i)
        if key not in windows:
            windows[key] = len(windows)
            first.append(i)
    samples = [pairs[i] for i in first]
    images = torch.stack([s["image"] for s in samples])
    valid = torch.stack([s["valid"] for s in samples])
    image_vectors = embed_images(loaded, images, valid)
    captions = [pairs.caption(i) for i in range(len(pairs))]
    text_vectors = load_text_side(bundle).encode(captions)
    relevance = np.zeros((len(captions), len(windows)), np.float32)
    for i in range(len(pairs)):
        relevance[i, windows[pairs.window_key(i)]] = 1.0
    scores = cross_modal_scores(image_vectors, text_vectors, relevance)
    scores["windows"], scores["captions"] = float(len(windows)), float(len(captions))
    return scores
