"""What a located land-cover network does with the place: the evidence in docs/location.md.

Reads a training checkpoint of ``configs/location_input_synth.yaml`` (default: the located run
of ``bench_location_input.py``) and prints, on a 128 px crop of the unseen rendering at its
northern and its southern place (the same pixels):

* how far apart the projected location embeddings of the two places are;
* the film modulation of each place (``fuse: film``);
* how well the image features tell forest from grassland pixels (per-feature gap between the
  class means, in pooled standard deviations);
* what the network predicts for the pixels labelled forest and grassland at each place;
* the forest and grassland pixel counts of every scene's label raster.

Run: ``.venv/bin/python benchmarks/diagnose_location_input.py [CHECKPOINT] [--set KEY=VALUE ...]``
(the overrides the checkpoint's run was trained with, e.g. ``model.location.fuse=film
model.location.hidden=128``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import rasterio
import torch

from eoforge.experiment import load_config
from eoforge.experiment.scenes import scene_sources
from eoforge.geo.grid import grid_to_sample
from eoforge.io.reader import read
from eoforge.location.features import batch_centres
from eoforge.models import build_model
from eoforge.models.location_fusion import LocationFused

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "configs" / "location_input_synth.yaml"
WORK = ROOT / "benchmarks" / ".data" / "location_input"
VAL = ("val4_32N", "val4_32S")
FOREST, GRASSLAND = 2, 3
"""Legend values (class ids 1 and 2 of the recipe)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "checkpoint", type=Path, nargs="?", default=WORK / "runs/with/checkpoints/last.ckpt"
    )
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = load_config(RECIPE, args.set)
    bands = list(config.data.bands)
    model = build_model(config.model.spec("segmentation", bands, len(config.data.classes or [])))
    assert isinstance(model, LocationFused)
    saved = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    state = saved["state_dict"]
    weights = {k.removeprefix("model."): v for k, v in state.items() if k.startswith("model.")}
    model.load_state_dict(weights)
    model.eval()
    mean, std = state["normalize.mean"][:, None, None], state["normalize.std"][:, None, None]
    print("class ids: 0 water, 1 forest, 2 grassland, 3 cropland, 4 other")
    print(f"checkpoint {args.checkpoint}: epoch {saved['epoch']}, step {saved['global_step']}")
    seen = {}
    for name in VAL:
        one = config.data.val.model_copy(update={"images": [WORK / name]})  # type: ignore[union-attr]
        sources = scene_sources(one, bands, WORK, name)
        assert isinstance(sources.label, list)
        grid = sources.label[0].grid()[64:192, 64:192]
        image, _ = read(sources.images, grid, bands)
        label, _ = read(sources.label, grid, ["landcover"], resampling="nearest")
        x = ((torch.from_numpy(image) - mean) / std)[None]
        batch = {"image": x, **{k: [v] for k, v in grid_to_sample(grid).items()}}
        lonlat = torch.from_numpy(batch_centres(batch))
        with torch.no_grad():
            features, place = model.net(x), model.places(lonlat)
            predicted = model(x, lonlat).argmax(1)[0].numpy()
        seen[name] = (features, place, predicted, label[0], lonlat[0].tolist())
    (f_n, p_n, _, label_n, _), (f_s, p_s, _, _, _) = seen[VAL[0]], seen[VAL[1]]
    print(f"same image features at both places: {torch.equal(f_n, f_s)}")
    print(f"projected places: |north - south| {float((p_n - p_s).norm()):.3f}, "
          f"|north| {float(p_n.norm()):.3f}")  # fmt: skip
    if model.film is not None:
        with torch.no_grad():
            for name, place in zip(VAL, (p_n, p_s), strict=True):
                gamma = model.film(place).chunk(2, dim=-1)[0][0].numpy()
                print(f"film gamma at {name}: {[round(float(g), 3) for g in gamma]}")
    pixels = f_n[0].reshape(f_n.shape[1], -1).T.numpy()
    flat = label_n.reshape(-1)
    forest, grass = pixels[flat == FOREST], pixels[flat == GRASSLAND]
    spread = np.sqrt((forest.var(0) + grass.var(0)) / 2) + 1e-6
    gap = np.abs(forest.mean(0) - grass.mean(0)) / spread
    norm = float(np.linalg.norm(gap))
    print(f"forest vs grassland features: largest gap {gap.max():.2f} sd, norm {norm:.2f}")
    for name in VAL:
        _, _, predicted, label, lonlat = seen[name]
        for value, what in ((FOREST, "forest"), (GRASSLAND, "grassland")):
            counts = np.bincount(predicted[label == value], minlength=5).tolist()
            where = np.round(lonlat, 2).tolist()
            print(f"{name} at {where}: pixels labelled {what} predicted as class ids {counts}")
    for folder in sorted(p for p in WORK.iterdir() if (p / "labels").is_dir()):
        (path,) = sorted((folder / "labels").glob("landcover*.tif"))
        with rasterio.open(path) as ds:
            values = ds.read(1)
        print(f"{folder.name}: forest {int((values == FOREST).sum())} px, "
              f"grassland {int((values == GRASSLAND).sum())} px")  # fmt: skip


if __name__ == "__main__":
    main()
