"""Land-cover classes, crop types and label codes of synthetic scenes (the legend)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LabelClass:
    """One value of a label raster.

    Attributes:
        value: Stored integer value.
        name: Machine name (snake case).
        color: RGB colour, 0-255 each.
        description: One line for humans.
    """

    value: int
    name: str
    color: tuple[int, int, int]
    description: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "value": self.value,
            "name": self.name,
            "color": list(self.color),
            "description": self.description,
        }


NODATA = 0
WATER = 1
FOREST = 2
GRASSLAND = 3
CROPLAND = 4
BARE_SOIL = 5
WETLAND = 6
URBAN = 7
BUILDING = 8
ROAD = 9
AIRFIELD = 10
HARBOUR = 11

LAND_COVER: tuple[LabelClass, ...] = (
    LabelClass(NODATA, "nodata", (0, 0, 0), "outside the scene"),
    LabelClass(WATER, "water", (38, 115, 202), "river, lakes, harbour basin, flood water"),
    LabelClass(FOREST, "forest", (24, 110, 36), "closed tree cover"),
    LabelClass(GRASSLAND, "grassland", (150, 205, 90), "meadows, pasture, field margins"),
    LabelClass(CROPLAND, "cropland", (240, 210, 90), "arable fields (crop type in croptype.tif)"),
    LabelClass(BARE_SOIL, "bare_soil", (170, 120, 80), "bare ground, clear-cuts, building sites"),
    LabelClass(WETLAND, "wetland", (110, 190, 180), "marsh and wet meadow"),
    LabelClass(URBAN, "urban", (200, 180, 180), "sealed urban ground between buildings"),
    LabelClass(BUILDING, "building", (200, 30, 30), "building footprint"),
    LabelClass(ROAD, "road", (60, 60, 60), "roads and streets, bridges included"),
    LabelClass(AIRFIELD, "airfield", (150, 150, 170), "runway, taxiway and apron"),
    LabelClass(HARBOUR, "harbour", (120, 80, 160), "quays and port platforms"),
)

WHEAT = 1
RAPESEED = 2
SUNFLOWER = 3
MAIZE = 4

CROP_TYPES: tuple[LabelClass, ...] = (
    LabelClass(0, "none", (0, 0, 0), "not an arable field"),
    LabelClass(WHEAT, "winter_wheat", (230, 190, 60), "winter cereal, peak in May"),
    LabelClass(RAPESEED, "rapeseed", (250, 240, 40), "oilseed rape, peak in April"),
    LabelClass(SUNFLOWER, "sunflower", (250, 140, 30), "summer crop, peak in July"),
    LabelClass(MAIZE, "maize", (120, 200, 60), "summer crop, peak in late August"),
)

CHANGE_NONE = 0
CHANGE_CONSTRUCTION = 1
CHANGE_DEMOLITION = 2
CHANGE_DEFORESTATION = 3
CHANGE_FLOODING = 4
CHANGE_FLOOD_RECESSION = 5

CHANGES: tuple[LabelClass, ...] = (
    LabelClass(CHANGE_NONE, "no_change", (0, 0, 0), "same class on both dates"),
    LabelClass(CHANGE_CONSTRUCTION, "construction", (255, 0, 0), "a new building appeared"),
    LabelClass(CHANGE_DEMOLITION, "demolition", (255, 160, 0), "a building disappeared"),
    LabelClass(CHANGE_DEFORESTATION, "deforestation", (140, 70, 20), "forest cleared to bare soil"),
    LabelClass(CHANGE_FLOODING, "flooding", (0, 90, 255), "land became flood water"),
    LabelClass(CHANGE_FLOOD_RECESSION, "flood_recession", (0, 220, 255), "flood water receded"),
)

CLOUD_CLEAR = 0
CLOUD = 1
CLOUD_SHADOW = 2

CLOUD_MASK: tuple[LabelClass, ...] = (
    LabelClass(CLOUD_CLEAR, "clear", (0, 0, 0), "no cloud and no cloud shadow"),
    LabelClass(CLOUD, "cloud", (255, 255, 255), "cloud opacity above one half"),
    LabelClass(CLOUD_SHADOW, "cloud_shadow", (90, 90, 90), "shadow of a cloud on the ground"),
)

LABEL_NODATA = 255

OBJECT_CLASSES: tuple[str, ...] = ("ship", "plane", "small-vehicle")


LEGENDS: dict[str, tuple[LabelClass, ...]] = {
    "landcover": LAND_COVER,
    "croptype": CROP_TYPES,
    "change": CHANGES,
    "cloudmask": CLOUD_MASK,
}


def colormap(classes: tuple[LabelClass, ...]) -> dict[int, tuple[int, int, int, int]]:
    """GDAL colour table of a legend.

    Args:
        classes: The legend.

    Returns:
        Mapping value -> RGBA, as ``rasterio`` ``write_colormap`` wants it.
    """
    return {c.value: (*c.color, 255) for c in classes}


def legend_document() -> dict[str, Any]:
    """Everything ``legend.json`` holds: every label raster's codes and colours."""
    return {
        **{name: [c.as_dict() for c in legend] for name, legend in LEGENDS.items()},
        "objects": list(OBJECT_CLASSES),
        "label_nodata": {"landcover": NODATA, "others": LABEL_NODATA},
    }
