"""The ``telemetry`` view over the lake, behind one function so that where views live can change in one place."""

from __future__ import annotations

from pathlib import Path

from duckwifi import queries
from duckwifi.warehouse import Warehouse, connect


def refresh_telemetry_view(warehouse: Warehouse, lake: Path) -> None:
    """(Re)create the view over ``lake`` in its own transaction: a view that cannot be created never leaves
    published files unmarked in the ledger."""
    view = queries.with_path_literals(queries.load("converter/create_telemetry_view.sql"), lake=lake)
    with connect(warehouse, create=True) as con:
        con.execute(view)
