"""The figure of docs/methane.md's plume segmentation section, from eval_methane_plumes' outputs.

Left: detection rate against false positives per 1,000 km² on the unseen test granules,
one point per threshold of each method's sweep (``benchmarks/results/methane_plumes.json``).
Right: one test granule: the matched-filter enhancement, the true plume outlines, the
ensemble's probability (the published ``*_probabilities.tif`` of the run).

Run after ``benchmarks/eval_methane_plumes.py``:
``.venv/bin/python benchmarks/plot_methane_plumes.py`` → ``docs/img/methane_plumes.png``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import rasterio

from eoforge.predict.raster import PROBABILITY_SCALE

ROOT = Path(__file__).resolve().parents[1]
LABELS = {
    "matched_filter": "adaptive matched filter alone",
    "matched_filter_classic": "classic matched filter alone",
    "mf_bands_s0": "U-Net MF + bands (recipe)",
    "mf_bands_s1": "U-Net MF + bands, seed 1",
    "mf_only_s0": "U-Net MF only",
    "ensemble": "ensemble of the three",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--result", type=Path, default=ROOT / "benchmarks/results/methane_plumes.json"
    )
    parser.add_argument("--runs", type=Path, default=ROOT / "runs/methane_plumes_eval")
    parser.add_argument("--granule", default="seed200")
    parser.add_argument("--out", type=Path, default=ROOT / "docs/img/methane_plumes.png")
    args = parser.parse_args()
    record = json.loads(args.result.read_text())
    folder = ROOT / "benchmarks/.data/methane_plumes/test" / args.granule
    with rasterio.open(folder / "features.tif") as src:
        mf = src.read(1)
    with rasterio.open(folder / "enhancement.tif") as src:
        truth = src.read(1)
    probabilities = args.runs / "predictions/ensemble" / args.granule / "features_probabilities.tif"
    with rasterio.open(probabilities) as src:
        p = src.read(2) / PROBABILITY_SCALE
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), gridspec_kw={"width_ratios": [1.3, 1, 1]})
    curve = axes[0]
    for name, label in LABELS.items():
        sweep = record["methods"][name]["test_sweep"]
        fp = [max(row["fp_per_1000_km2"], 0.3) for row in sweep]  # log axis: 0 drawn at 0.3
        rate = [row["detection_rate"] for row in sweep]
        curve.plot(fp, rate, marker="o", markersize=3, label=label)
    target = record["check"]["fp_target_per_1000_km2"]
    curve.axvline(target, color="grey", linestyle="--", linewidth=1)
    curve.axhline(0.9, color="grey", linestyle=":", linewidth=1)
    curve.set_xscale("log")
    curve.set_xlabel("false positives per 1,000 km² (0 drawn at 0.3)")
    curve.set_ylabel("plumes detected (share of 64)")
    curve.set_ylim(0.0, 1.02)
    curve.set_title("unseen test granules, one point per threshold")
    curve.legend(fontsize=8, loc="lower right")
    image = axes[1].imshow(mf, cmap="magma", vmin=-500, vmax=3000)
    axes[1].contour(truth >= 500.0, levels=[0.5], colors="cyan", linewidths=0.7)
    axes[1].set_title(f"adaptive matched filter, ppm·m ({args.granule}); cyan: truth ≥ 500")
    fig.colorbar(image, ax=axes[1], fraction=0.046)
    image = axes[2].imshow(p, cmap="viridis", vmin=0, vmax=1)
    axes[2].contour(truth >= 500.0, levels=[0.5], colors="red", linewidths=0.7)
    axes[2].set_title("ensemble p(plume); red: truth ≥ 500 ppm·m")
    fig.colorbar(image, ax=axes[2], fraction=0.046)
    for axis in axes[1:]:
        axis.set_xticks([])
        axis.set_yticks([])
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=80)
    print(f"wrote {args.out} ({np.round(args.out.stat().st_size / 1024)} KiB)")


if __name__ == "__main__":
    main()
