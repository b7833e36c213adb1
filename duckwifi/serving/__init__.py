"""The query library the dashboard's API calls: answers from the rollup store, never from raw rows.

``ServingStore(warehouse)`` loads the published rollups into an in-memory DuckDB, follows the manifest
(``refresh``), and answers ``timeseries``, ``breakdown``, ``map_cells``, ``distribution``, ``overview`` and
``meta``. Names come from the allow-lists in ``duckwifi.serving.catalogue``; bad input raises
``duckwifi.errors.InvalidQuery`` naming the parameter.
"""

from duckwifi.serving.catalogue import BANDS, BREAKDOWN_DIMENSIONS, BUCKETS, MAP_STATS, METRICS, QUANTILES, STATS
from duckwifi.serving.library import ServingStore

__all__ = [
    "BANDS",
    "BREAKDOWN_DIMENSIONS",
    "BUCKETS",
    "MAP_STATS",
    "METRICS",
    "QUANTILES",
    "STATS",
    "ServingStore",
]
