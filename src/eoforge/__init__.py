"""eoforge: deep learning on Earth-observation imagery.

Band-aware data loading, training and whole-scene inference that keeps every
window on its grid (CRS + transform + shape) from the file to the output map.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("eoforge")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
