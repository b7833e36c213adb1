"""Places devices uniformly by area on the land of the 48 contiguous states and DC.

Boundaries are the Census Bureau's shoreline-clipped cartographic file ``cb_2016_us_state_500k``, shipped by the
``plotly-geo`` package, so points never fall in the Great Lakes or the Chesapeake Bay and nothing is downloaded.

Uniform by area: a state's share of the devices is its share of the area measured in the Lambert cylindrical
equal-area projection (x = longitude, y = sin(latitude), on the sphere), and inside a state points are drawn
uniformly in that projection and kept when ``shapely.contains_xy`` says they are inside (rejection sampling).
The sphere stands in for the ellipsoid; the difference in relative areas is far below sampling noise.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources

import numpy as np
import shapefile
import shapely
from shapely.geometry import shape

from duckwifi.contract import CONTIGUOUS_STATES

BOUNDARY_PACKAGE = "_plotly_geo"
BOUNDARY_FILE = "package_data/cb_2016_us_state_500k.shp"
# 1e-6 degrees is about 0.1 m: finer than any modem's placement needs, and short in the CSV.
COORDINATE_DECIMALS = 6


@dataclass(frozen=True)
class SampledPoints:
    state: np.ndarray  # USPS codes, dtype <U2
    latitude: np.ndarray
    longitude: np.ndarray

    def __len__(self) -> int:
        return len(self.state)


@functools.cache
def state_polygons() -> dict[str, shapely.Geometry]:
    """Prepared land polygons (longitude, latitude in NAD83 degrees) of the contiguous states and DC."""
    boundary = resources.files(BOUNDARY_PACKAGE).joinpath(BOUNDARY_FILE)
    with resources.as_file(boundary) as shp_path:
        reader = shapefile.Reader(str(shp_path))
        try:
            polygons = {
                record["STUSPS"]: shape(geometry.__geo_interface__)
                for record, geometry in zip(reader.records(), reader.shapes(), strict=True)
                if record["STUSPS"] in CONTIGUOUS_STATES
            }
        finally:
            reader.close()
    for polygon in polygons.values():
        shapely.prepare(polygon)
    return polygons


def _to_equal_area(geometry: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geometry, lambda xy: np.column_stack([np.radians(xy[:, 0]), np.sin(np.radians(xy[:, 1]))]))


@functools.cache
def state_areas_km2() -> dict[str, float]:
    """Each state's land area on the sphere of the Earth's authalic radius, in km²."""
    authalic_radius_km = 6371.0072
    return {
        code: float(shapely.area(_to_equal_area(polygon))) * authalic_radius_km**2
        for code, polygon in sorted(state_polygons().items())
    }


def _sample_in_state(code: str, count: int, seed: int, state_index: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` points inside one state; its own random stream keeps the result independent of threading."""
    if count == 0:
        return np.empty(0), np.empty(0)
    polygon = state_polygons()[code]
    rng = np.random.default_rng([seed, state_index])
    lon_min, lat_min, lon_max, lat_max = polygon.bounds
    y_min, y_max = np.sin(np.radians(lat_min)), np.sin(np.radians(lat_max))
    acceptance = 0.5
    lons: list[np.ndarray] = []
    lats: list[np.ndarray] = []
    have = 0
    while have < count:
        draw = int((count - have) / acceptance * 1.1) + 64
        lon = np.round(rng.uniform(lon_min, lon_max, draw), COORDINATE_DECIMALS)
        lat = np.round(np.degrees(np.arcsin(rng.uniform(y_min, y_max, draw))), COORDINATE_DECIMALS)
        # Tested after rounding, so the coordinates that are stored are the ones known to be inside.
        inside = shapely.contains_xy(polygon, lon, lat)
        kept = int(inside.sum())
        acceptance = max(kept / draw, 0.01)
        lons.append(lon[inside])
        lats.append(lat[inside])
        have += kept
    return np.concatenate(lons)[:count], np.concatenate(lats)[:count]


def sample_points(count: int, seed: int) -> SampledPoints:
    """``count`` points uniform by area over the contiguous U.S. land, in a shuffled order."""
    areas = state_areas_km2()
    codes = list(areas)
    weights = np.array([areas[code] for code in codes])
    rng = np.random.default_rng(seed)
    per_state = rng.multinomial(count, weights / weights.sum())
    # shapely releases the GIL inside contains_xy, so threads use both cores.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        results = list(pool.map(_sample_in_state, codes, per_state.tolist(), [seed] * len(codes), range(len(codes))))
    state = np.repeat(np.array(codes, dtype="<U2"), per_state)
    longitude = np.concatenate([lon for lon, _ in results])
    latitude = np.concatenate([lat for _, lat in results])
    del results
    # Shuffled so that the files are not grouped by state: production data will not be either.
    order = rng.permutation(count)
    # One array at a time, so that only one spare copy is alive at the peak.
    state = state[order]
    latitude = latitude[order]
    longitude = longitude[order]
    return SampledPoints(state=state, latitude=latitude, longitude=longitude)
