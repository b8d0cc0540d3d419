"""SAR physics: calibration of Sentinel-1 products into backscatter.

:mod:`eoforge.sar.calibration` reads a product's calibration and noise LUTs and
converts digital numbers block by block; :mod:`eoforge.sar.product` writes whole
GRD products as sigma0/beta0/gamma0 COGs (``eoforge calibrate``). Speckle
filters live in :mod:`eoforge.transforms.speckle`.
"""

from eoforge.sar.calibration import (
    QUANTITIES,
    Calibration,
    Noise,
    Quantity,
    calibrate_block,
    parse_calibration,
    parse_noise,
)
from eoforge.sar.product import Measurement, calibrate_product, find_measurements

__all__ = [
    "QUANTITIES",
    "Calibration",
    "Measurement",
    "Noise",
    "Quantity",
    "calibrate_block",
    "calibrate_product",
    "find_measurements",
    "parse_calibration",
    "parse_noise",
]
