"""Methane (CH4) plumes in imaging-spectrometer cubes: unit absorption, matched filter, scenes.

``absorption`` (the CH4 unit absorption spectrum, an approximation), ``filter`` (background
statistics per detector column and the classic / adaptive matched filter), ``cube`` (a cube
file's wavelengths and quantity, checked), ``scene`` (a whole granule through the prediction
engine). See ``docs/methane.md``.
"""
