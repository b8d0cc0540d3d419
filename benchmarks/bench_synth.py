"""Synthetic scene generation: speed and memory of a large streamed scene.

Run ``python benchmarks/bench_synth.py --out DIR --size 40000`` to generate a
one-date scene of one band group (Sentinel-1 VV/VH with the land-cover
labels by default) and print pixels per second and the peak resident memory.
The last line of stdout is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import time
from pathlib import Path
from typing import Any

from eoforge.synth import SynthOptions, generate_scene, parse_sensors


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MiB.

    Linux's ``VmHWM`` (this program's own high-water mark). ``ru_maxrss`` is not used
    there: it keeps the parent's mark across ``fork`` + ``exec``, so started from a
    large process (a test run 2.7 GB in) it reported 2,765 MiB for a 587 MiB run.
    Elsewhere ``ru_maxrss`` (KiB on Linux and BSD).
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run(
    out: Path, size: int, sensors: str = "s1", block: int = 1024, keep: bool = False
) -> dict[str, Any]:
    """Generate a one-date scene without vectors and measure it.

    Args:
        out: Output folder (removed afterwards unless ``keep``).
        size: Scene width and height, pixels.
        sensors: Products to render.
        block: Block size, pixels.
        keep: Keep the files.

    Returns:
        JSON-ready dict: size, seconds, base-grid pixels per second, peak RSS (MiB), bytes.
    """
    started = time.perf_counter()
    options = SynthOptions(
        size=size,
        sensors=parse_sensors(sensors),
        dates=1,
        clouds=0.2,
        vectors=False,
        block=block,
    )
    manifest = generate_scene(out, options)
    seconds = time.perf_counter() - started
    written = sum((out / f.path).stat().st_size for f in manifest.files)
    result = {
        "size": size,
        "sensors": sensors,
        "block": block,
        "seconds": round(seconds, 1),
        "pixels_per_second": round(size * size / seconds),
        "peak_rss_mib": round(peak_rss_mb(), 1),
        "bytes_written": written,
        "files": len(manifest.files),
    }
    if not keep:
        shutil.rmtree(out)
    return result


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--size", type=int, default=40000)
    parser.add_argument("--sensors", default="s1")
    parser.add_argument("--block", type=int, default=1024)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    print(json.dumps(run(args.out, args.size, args.sensors, args.block, args.keep)))


if __name__ == "__main__":
    main()
