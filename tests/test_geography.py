"""Devices land on U.S. land, inside the state they are labelled with, uniformly by area."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given
from hypothesis import strategies as st

from duckwifi.contract import CONTIGUOUS_STATES
from duckwifi.generator.geography import sample_points, state_areas_km2, state_polygons


@given(count=st.integers(min_value=1, max_value=3000), seed=st.integers(min_value=0, max_value=2**63 - 1))
def test_every_sampled_point_lies_inside_its_labelled_state(count: int, seed: int) -> None:
    points = sample_points(count, seed)
    assert len(points) == count
    polygons = state_polygons()
    for code in np.unique(points.state):
        mine = points.state == code
        assert shapely.contains_xy(polygons[code], points.longitude[mine], points.latitude[mine]).all()


def test_all_48_contiguous_states_and_dc_and_nothing_else() -> None:
    assert set(state_polygons()) == CONTIGUOUS_STATES
    assert len(CONTIGUOUS_STATES) == 49


def test_areas_match_the_census_land_area_of_the_lower_48() -> None:
    areas = state_areas_km2()
    # Census: about 7.66 million km² of land plus inland water in the lower 48 and DC.
    assert 7.4e6 < sum(areas.values()) < 8.1e6
    assert 680_000 < areas["TX"] < 700_000
    assert 150 < areas["DC"] < 200


def test_shoreline_clipped_boundaries_keep_points_out_of_lakes_and_bays() -> None:
    polygons = state_polygons()
    lake_michigan = (-87.0, 43.5)
    lake_superior = (-87.5, 47.5)
    chesapeake_bay = (-76.2, 38.1)
    for lon, lat in (lake_michigan, lake_superior, chesapeake_bay):
        assert not any(shapely.contains_xy(p, lon, lat) for p in polygons.values())


def test_points_are_uniform_by_area_across_states() -> None:
    count = 200_000
    points = sample_points(count, seed=3)
    areas = state_areas_km2()
    total = sum(areas.values())
    for code in ("TX", "CA", "MT", "ME", "FL", "MI"):
        expected = count * areas[code] / total
        observed = int((points.state == code).sum())
        assert abs(observed - expected) < 5 * np.sqrt(expected), code


def test_points_are_uniform_by_area_not_by_degree_within_a_state() -> None:
    # In a tall, nearly rectangular state, equal-area sampling puts fewer points per degree of latitude in
    # the north (the band is narrower on the ground there) than uniform-in-degrees would.
    points = sample_points(300_000, seed=11)
    lat = points.latitude[points.state == "CO"]  # Colorado: 37°N to 41°N, a lat/lon rectangle
    south = ((lat > 37.0) & (lat < 38.0)).sum()
    north = ((lat > 40.0) & (lat < 41.0)).sum()
    expected_ratio = (np.sin(np.radians(41)) - np.sin(np.radians(40))) / (
        np.sin(np.radians(38)) - np.sin(np.radians(37))
    )
    assert abs(north / south - expected_ratio) < 0.02


def test_same_seed_same_points_other_seed_other_points() -> None:
    a, b, c = sample_points(5000, 1), sample_points(5000, 1), sample_points(5000, 2)
    assert np.array_equal(a.latitude, b.latitude)
    assert np.array_equal(a.state, b.state)
    assert not np.array_equal(a.latitude, c.latitude)


def test_coordinates_have_six_decimals() -> None:
    points = sample_points(1000, 5)
    assert np.allclose(points.latitude, np.round(points.latitude, 6), rtol=0, atol=1e-12)
