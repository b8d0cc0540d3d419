"""The files of a scene: COGs, vector labels, VHR chips, legend, STAC and the manifest.

Every file is written under a temporary name and renamed into place, and no
creation option stores a timestamp, so the same scene gives the same bytes.
"""
