"""The legend of synthetic scenes: the codes and classes of every label raster.

Land cover, crop types, change and cloud-mask codes, each a tuple of
:class:`~eoforge.classes.ClassInfo` (id, name, ``#rrggbb`` colour,
description), plus the object class names of the vector and DOTA labels.
"""

from __future__ import annotations

from eoforge.classes import ClassInfo

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

LAND_COVER: tuple[ClassInfo, ...] = (
    ClassInfo(id=NODATA, name="nodata", color="#000000", description="outside the scene"),
    ClassInfo(
        id=WATER,
        name="water",
        color="#2673ca",
        description="river, lakes, harbour basin, flood water",
    ),
    ClassInfo(id=FOREST, name="forest", color="#186e24", description="closed tree cover"),
    ClassInfo(
        id=GRASSLAND,
        name="grassland",
        color="#96cd5a",
        description="meadows, pasture, field margins",
    ),
    ClassInfo(
        id=CROPLAND,
        name="cropland",
        color="#f0d25a",
        description="arable fields (crop type in croptype.tif)",
    ),
    ClassInfo(
        id=BARE_SOIL,
        name="bare_soil",
        color="#aa7850",
        description="bare ground, clear-cuts, building sites",
    ),
    ClassInfo(id=WETLAND, name="wetland", color="#6ebeb4", description="marsh and wet meadow"),
    ClassInfo(
        id=URBAN, name="urban", color="#c8b4b4", description="sealed urban ground between buildings"
    ),
    ClassInfo(id=BUILDING, name="building", color="#c81e1e", description="building footprint"),
    ClassInfo(
        id=ROAD, name="road", color="#3c3c3c", description="roads and streets, bridges included"
    ),
    ClassInfo(
        id=AIRFIELD, name="airfield", color="#9696aa", description="runway, taxiway and apron"
    ),
    ClassInfo(id=HARBOUR, name="harbour", color="#7850a0", description="quays and port platforms"),
)

WHEAT = 1
RAPESEED = 2
SUNFLOWER = 3
MAIZE = 4

CROP_TYPES: tuple[ClassInfo, ...] = (
    ClassInfo(id=0, name="none", color="#000000", description="not an arable field"),
    ClassInfo(
        id=WHEAT, name="winter_wheat", color="#e6be3c", description="winter cereal, peak in May"
    ),
    ClassInfo(
        id=RAPESEED, name="rapeseed", color="#faf028", description="oilseed rape, peak in April"
    ),
    ClassInfo(
        id=SUNFLOWER, name="sunflower", color="#fa8c1e", description="summer crop, peak in July"
    ),
    ClassInfo(
        id=MAIZE, name="maize", color="#78c83c", description="summer crop, peak in late August"
    ),
)

CHANGE_NONE = 0
CHANGE_CONSTRUCTION = 1
CHANGE_DEMOLITION = 2
CHANGE_DEFORESTATION = 3
CHANGE_FLOODING = 4
CHANGE_FLOOD_RECESSION = 5

CHANGES: tuple[ClassInfo, ...] = (
    ClassInfo(
        id=CHANGE_NONE, name="no_change", color="#000000", description="same class on both dates"
    ),
    ClassInfo(
        id=CHANGE_CONSTRUCTION,
        name="construction",
        color="#ff0000",
        description="a new building appeared",
    ),
    ClassInfo(
        id=CHANGE_DEMOLITION,
        name="demolition",
        color="#ffa000",
        description="a building disappeared",
    ),
    ClassInfo(
        id=CHANGE_DEFORESTATION,
        name="deforestation",
        color="#8c4614",
        description="forest cleared to bare soil",
    ),
    ClassInfo(
        id=CHANGE_FLOODING, name="flooding", color="#005aff", description="land became flood water"
    ),
    ClassInfo(
        id=CHANGE_FLOOD_RECESSION,
        name="flood_recession",
        color="#00dcff",
        description="flood water receded",
    ),
)

CLOUD_CLEAR = 0
CLOUD = 1
CLOUD_SHADOW = 2

CLOUD_MASK: tuple[ClassInfo, ...] = (
    ClassInfo(
        id=CLOUD_CLEAR, name="clear", color="#000000", description="no cloud and no cloud shadow"
    ),
    ClassInfo(id=CLOUD, name="cloud", color="#ffffff", description="cloud opacity above one half"),
    ClassInfo(
        id=CLOUD_SHADOW,
        name="cloud_shadow",
        color="#5a5a5a",
        description="shadow of a cloud on the ground",
    ),
)

LABEL_NODATA = 255

OBJECT_CLASSES: tuple[str, ...] = ("ship", "plane", "small-vehicle")


LEGENDS: dict[str, tuple[ClassInfo, ...]] = {
    "landcover": LAND_COVER,
    "croptype": CROP_TYPES,
    "change": CHANGES,
    "cloudmask": CLOUD_MASK,
}


def colormap(classes: tuple[ClassInfo, ...]) -> dict[int, tuple[int, int, int, int]]:
    """GDAL colour table of a legend.

    Args:
        classes: The legend.

    Returns:
        Mapping id -> opaque RGBA (0-255 each), as ``rasterio`` ``write_colormap`` wants it.
    """
    return {c.id: c.rgba for c in classes}
