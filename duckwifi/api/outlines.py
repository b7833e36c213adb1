"""The state outlines the map draws: the Census boundaries the project ships, simplified, as GeoJSON.

``cb_2016_us_state_500k`` (from ``plotly-geo``, read with pyshp by ``duckwifi.generator.geography``) holds
about 5 MB of coordinates; simplified to 0.02° (about 2 km, below a pixel of a U.S.-wide map) and rounded to
three decimals it is a small fraction of that, encoded once per process.
"""

from __future__ import annotations

import functools

import shapely

from duckwifi.api.models import Feature, FeatureCollection
from duckwifi.generator.geography import state_polygons

SIMPLIFY_DEGREES = 0.02
COORDINATE_DECIMALS = 3


@functools.cache
def state_outlines() -> FeatureCollection:
    features = []
    for code, polygon in sorted(state_polygons().items()):
        simple = shapely.set_precision(
            shapely.simplify(polygon, SIMPLIFY_DEGREES, preserve_topology=True), 10**-COORDINATE_DECIMALS
        )
        features.append(Feature(type="Feature", properties={"state": code}, geometry=shapely.geometry.mapping(simple)))
    return FeatureCollection(type="FeatureCollection", features=features)
