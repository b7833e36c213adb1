"""The lake folder must be the lake's own: the ``telemetry`` view reads ``LAKE/**/*.parquet``, so any other
Parquet file under it (the warehouse's devices file, say, when the lake is the warehouse's parent) would join
the telemetry or break the view."""

from __future__ import annotations

from pathlib import Path

from duckwifi.errors import LakeHoldsOtherFiles, printable
from duckwifi.warehouse import Warehouse

# The lake's own top-level entries: its date partitions and the staging folder of a run.
_PARTITION_PREFIX = "date="
_STAGING_DIR = "_staging"


def check_lake_folder(warehouse: Warehouse, lake: Path, source: Path | None = None) -> None:
    """Refuse, before anything is written, a lake folder that holds the warehouse or other Parquet files, or
    that is the ``source`` folder itself.

    Only the top level is inspected for speed (a year of hours is about 430,000 files below the date folders):
    a Parquet file there, or anywhere in a top-level folder that is not a date partition, is foreign."""
    if source is not None and source.resolve() == lake:
        raise LakeHoldsOtherFiles(
            f"the lake folder {printable(str(lake))} is the CSV folder itself; give the lake a folder of its own"
        )
    root = warehouse.root.resolve()
    if root == lake or lake in root.parents:
        raise LakeHoldsOtherFiles(
            f"the warehouse {printable(str(root))} is inside the lake folder {printable(str(lake))}; "
            "give the lake a folder of its own"
        )
    stray = _first_foreign_parquet(lake) if lake.is_dir() else None
    if stray is not None:
        raise LakeHoldsOtherFiles(
            f"the lake folder {printable(str(lake))} holds Parquet files that are not the lake's, such as "
            f"{printable(str(stray))}; give the lake a folder of its own"
        )


def _first_foreign_parquet(lake: Path) -> Path | None:
    for entry in sorted(lake.iterdir()):
        if entry.name.startswith(_PARTITION_PREFIX) or entry.name == _STAGING_DIR:
            continue
        if entry.is_dir():
            found = next(entry.rglob("*.parquet"), None)
            if found is not None:
                return found
        elif entry.name.endswith(".parquet"):
            return entry
    return None
