"""The lake knows itself: a marker file in its root names the lake and the warehouse that owns it (its id, and
the folder it was last converted from, which tells a moved warehouse from a copy of it).

Every check here runs before anything is written, so a refused convert leaves the lake and the ledger as they
were. The warehouse records its one lake (``identity`` table) and publishes where it is in ``lake.json`` for
readers that must not open the pipeline's state.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

from duckwifi import queries
from duckwifi.converter.staging import STAGING_DIR
from duckwifi.errors import BadArgument, ForeignLake, LakeUnreadable, SecondLake, WarehouseMissing
from duckwifi.fsutil import ensure_folder, publish, temp_path_for
from duckwifi.warehouse import LAKE_INFO_FORMAT, Warehouse, connect

# Not *.parquet, so `LAKE/**/*.parquet` still matches telemetry files and nothing else.
MARKER_NAME = "_duckwifi_lake.json"
# DuckDB's hive reader parses every name=value folder of a path; these would override real columns.
PARTITION_COLUMNS = ("date", "hour", "region", "state")


@dataclass(frozen=True)
class LakeClaim:
    """The outcome of claiming a lake for a convert: its path, and the path it had if it moved."""

    lake: Path
    lake_id: str
    warehouse_id: str
    moved_from: Path | None = None


@dataclass(frozen=True)
class _Identity:
    warehouse_id: str | None
    lake_id: str | None
    lake: str | None
    ledger_lakes: tuple[str, ...]


def refuse_partition_folders(lake: Path) -> None:
    """Refuse a lake under a folder such as ``region=us-east``: its value would replace the column's."""
    for part in lake.parts:
        name, equals, _ = part.partition("=")
        if equals and name.lower() in PARTITION_COLUMNS:
            raise BadArgument(
                f"lake path {lake} has a folder {part!r}: DuckDB's hive reader would read every row's {name} as "
                f"that folder's value; choose a lake path without {'/'.join(PARTITION_COLUMNS)}= folders"
            )


def read_marker(lake: Path) -> dict[str, str] | None:
    marker = lake / MARKER_NAME
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise BadArgument(f"cannot read the lake's marker {marker}: {error}") from None
    if not isinstance(data, dict) or not {"lake_id", "warehouse_id"} <= data.keys():
        raise BadArgument(f"the lake's marker {marker} is not one duckwifi wrote")
    return data


def _write_json(final: Path, data: dict[str, object]) -> None:
    temp = temp_path_for(final)
    temp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    publish(temp, final)


def _read_identity(warehouse: Warehouse) -> _Identity:
    if not warehouse.exists():
        return _Identity(None, None, None, ())
    with connect(warehouse) as con:
        row = con.execute(queries.load("warehouse/read_identity.sql")).fetchone()
    assert row is not None
    warehouse_id, lake_id, lake, ledger_lakes = row
    return _Identity(warehouse_id, lake_id, lake, tuple(ledger_lakes or ()))


def holds_parquet(lake: Path) -> bool:
    """Whether the lake holds a Parquet file outside ``_staging`` (what ``LAKE/**/*.parquet`` will match)."""
    return lake.is_dir() and any(p for p in lake.rglob("*.parquet") if STAGING_DIR not in p.relative_to(lake).parts)


def _second_lake(warehouse: Warehouse, owned: str, lake: Path) -> SecondLake:
    return SecondLake(
        f"warehouse {warehouse.root} already has its lake at {owned}; one warehouse has one lake. To build a "
        f"second lake at {lake}, give it its own warehouse: duckwifi convert SRC {lake} --warehouse NEW_FOLDER"
    )


def claim_lake(warehouse: Warehouse, lake_arg: Path) -> LakeClaim:
    """Check that this warehouse may convert into ``lake_arg``, then record it (and its marker) if new.

    Raises ForeignLake for a lake another warehouse owns, SecondLake for a warehouse that owns another lake,
    BadArgument for an unusable path; in each case before anything is written."""
    lake = lake_arg.resolve()
    if lake.exists() and not lake.is_dir():
        raise BadArgument(f"lake folder {lake_arg} is a file, not a folder")
    refuse_partition_folders(lake)
    queries.refuse_glob_characters(lake, "lake path")
    identity = _read_identity(warehouse)
    marker = read_marker(lake) if lake.is_dir() else None
    moved_from: Path | None = None
    if marker is not None:
        if marker["warehouse_id"] != identity.warehouse_id:
            raise ForeignLake(
                f"lake {lake} belongs to another warehouse ({marker['warehouse_id']}), not to {warehouse.root}; "
                "convert into it with its own warehouse, or choose another lake folder"
            )
        _refuse_a_copy(warehouse, lake, marker)
        if identity.lake is not None and identity.lake != str(lake):
            old = Path(identity.lake)
            old_marker = read_marker(old) if old.is_dir() else None
            if old_marker is not None and old_marker["lake_id"] == marker["lake_id"]:
                raise SecondLake(
                    f"lake {lake} is a copy of this warehouse's lake at {old}, which is still there; remove one "
                    "of them, or give the copy its own warehouse"
                )
            moved_from = old
        lake_id = marker["lake_id"]
    elif identity.lake is not None and identity.lake != str(lake):
        raise _second_lake(warehouse, identity.lake, lake)
    elif identity.lake == str(lake) and str(lake) in identity.ledger_lakes and not is_a_lake(lake):
        # Neither marker nor lake files where the lake was recorded: no folder (moved), or an empty mount point
        # (its disk not mounted). A new lake here would convert again what the real one holds, then refuse it
        # as a copy. (Lake files without a marker are the lake, its marker lost to a kill: written again.)
        raise LakeUnreadable.gone(lake)
    elif identity.lake is None and identity.ledger_lakes and str(lake) not in identity.ledger_lakes:
        raise _second_lake(warehouse, identity.ledger_lakes[0], lake)
    elif identity.lake is None and not identity.ledger_lakes and holds_parquet(lake):
        raise ForeignLake(
            f"lake {lake} already holds Parquet files that no warehouse's marker claims; choose an empty or new "
            "lake folder"
        )
    else:
        lake_id = identity.lake_id or uuid.uuid4().hex
    warehouse_id = identity.warehouse_id or uuid.uuid4().hex
    claim = LakeClaim(lake, lake_id, warehouse_id, moved_from)
    _record(warehouse, claim, identity, marker)
    return claim


def _record(warehouse: Warehouse, claim: LakeClaim, identity: _Identity, marker: dict[str, str] | None) -> None:
    """The writes of a claim, in the order a kill cannot make inconsistent: the warehouse's state first, then
    the marker, then lake.json. A kill after the state leaves a lake without a marker at the recorded path,
    which the next run marks; the reverse order would leave a marker naming a warehouse that never recorded
    the lake, and lock it out."""
    ensure_folder(claim.lake, "lake folder")
    if (identity.warehouse_id, identity.lake_id, identity.lake) != (
        claim.warehouse_id,
        claim.lake_id,
        str(claim.lake),
    ):
        with connect(warehouse, create=True) as con:
            con.begin()
            con.execute(
                queries.load("warehouse/record_identity.sql"),
                {"warehouse_id": claim.warehouse_id, "lake_id": claim.lake_id, "lake": str(claim.lake)},
            )
            if claim.moved_from is not None:
                for statement in ("move_lake_conversions", "move_lake_rejections"):
                    con.execute(
                        queries.load(f"warehouse/{statement}.sql"),
                        {"old_lake": str(claim.moved_from), "new_lake": str(claim.lake)},
                    )
            con.commit()
    owner = str(warehouse.root.resolve())
    if marker is None or marker.get("warehouse") != owner:
        _write_json(
            claim.lake / MARKER_NAME,
            {
                "format": LAKE_INFO_FORMAT,
                "lake_id": claim.lake_id,
                "warehouse_id": claim.warehouse_id,
                "warehouse": owner,
            },
        )
    write_lake_info(warehouse, claim)


def _refuse_a_copy(warehouse: Warehouse, lake: Path, marker: dict[str, str]) -> None:
    """Refuse a warehouse whose lake was last converted from another folder that still holds this warehouse.

    That one is the original, and this a copy (a backup beside it, say) whose ledger may be stale: converting
    through it would convert again what the original converted since, and a repair would delete those files
    as orphans. When the recorded folder is gone, or holds another warehouse, this one moved there and back."""
    recorded = marker.get("warehouse")
    here = warehouse.root.resolve()
    if recorded is None or Path(recorded) == here:
        return
    try:
        info = json.loads(Warehouse(Path(recorded)).lake_info.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(info, dict) and info.get("warehouse_id") == marker["warehouse_id"]:
        raise ForeignLake(
            f"warehouse {here} is a copy of the warehouse at {recorded}, which is still there and owns lake {lake}; "
            f"a copy's ledger may be stale, so it may not write the lake: use {recorded}, or remove one of the two"
        )


def write_lake_info(warehouse: Warehouse, claim: LakeClaim) -> None:
    """``warehouse/lake.json``: where the lake is, for readers that never open the pipeline's state."""
    info = {
        "format": LAKE_INFO_FORMAT,
        "lake": str(claim.lake),
        "lake_id": claim.lake_id,
        "warehouse_id": claim.warehouse_id,
    }
    try:
        current = json.loads(warehouse.lake_info.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        current = None
    if current != info:
        _write_json(warehouse.lake_info, info)


__all__ = ["MARKER_NAME", "LakeClaim", "claim_lake", "refuse_partition_folders"]


def lake_missing(warehouse: Warehouse, lake: Path) -> bool:
    """Whether the warehouse's lake is not at ``lake``: no folder there, or, for a lake recorded with its
    identity, a folder with neither its marker nor lake files: the empty mount point of a disk that is not
    mounted, or a folder made by hand. Repairing or forgetting there would write a second lake, or report
    removals that never happened."""
    if not lake.is_dir():
        return True
    return not is_a_lake(lake) and _read_identity(warehouse).lake == str(lake)


def is_a_lake(folder: Path) -> bool:
    """Whether ``folder`` holds a lake: its marker, or (the marker lost to a kill) its Parquet files."""
    return (folder / MARKER_NAME).is_file() or holds_parquet(folder)


def owned_lake(warehouse: Warehouse) -> Path | None:
    """The warehouse's one lake as its state records it (None before the first convert), for check and forget."""
    if not warehouse.exists():
        raise WarehouseMissing.at(warehouse.root, "`duckwifi convert` (or `duckwifi tick`)")
    identity = _read_identity(warehouse)
    if identity.lake is not None:
        lake = Path(identity.lake)
        marker = read_marker(lake) if lake.is_dir() else None
        if marker is not None and marker["warehouse_id"] == identity.warehouse_id:
            _refuse_a_copy(warehouse, lake, marker)
        return lake
    # A warehouse whose ledger predates lake identities: its one ledger lake, if it has exactly one.
    if len(identity.ledger_lakes) == 1:
        return Path(identity.ledger_lakes[0])
    return None
