"""The ``telemetry`` view over the lake, behind one function so that where views live can change in one place."""

from __future__ import annotations

from pathlib import Path

from duckwifi import readers
from duckwifi.warehouse import Warehouse


def refresh_telemetry_view(warehouse: Warehouse, lake: Path) -> None:
    """Views live in the readers' database (warehouse.duckdb), rebuilt and renamed into place by
    :func:`duckwifi.readers.refresh`; the pipeline's state.duckdb holds none."""
    readers.refresh(warehouse, lake)
