"""``duckwifi forget SOURCE``: retire a converted source. It leaves the ledger and enters the forgetting
journal in one transaction; its lake files are then deleted (each atomically, as they were published) and the
journal entry closed. A kill in between is finished by the next convert, check or forget."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from duckwifi import readers
from duckwifi.converter.identity import lake_missing, owned_lake
from duckwifi.converter.ledger import read_ledger, start_forgetting
from duckwifi.converter.publishing import forget_files, recover
from duckwifi.converter.staging import sha256_of, source_key
from duckwifi.errors import BadArgument, LakeUnreadable
from duckwifi.rollups.store import refuse_gone_units
from duckwifi.warehouse import Warehouse, connect


@dataclass(frozen=True)
class Forgotten:
    source: str
    outputs: tuple[str, ...]


def forget(warehouse: Warehouse, source: Path) -> Forgotten:
    """Forget the source recorded at ``source``, or the one with the same content as the file ``source``."""
    lake = owned_lake(warehouse)
    if lake is None:
        raise BadArgument(f"nothing to forget: warehouse {warehouse.root} has not converted anything yet")
    if lake_missing(warehouse, lake):
        # Its files cannot be deleted, so its rows must stay in the ledger (and its rollups in the store).
        raise LakeUnreadable.gone(lake)
    # Withdrawing its unit publishes the manifest again, which would go on listing units deleted by hand.
    refuse_gone_units(warehouse)
    recover(warehouse, lake)
    with connect(warehouse) as con:
        entries = read_ledger(con, lake)
    wanted = str(source.resolve())
    if wanted not in entries and source.is_file():
        content = sha256_of(source)
        wanted = next((path for path, entry in entries.items() if entry.sha256 == content), wanted)
    entry = entries.get(wanted)
    if entry is None:
        raise BadArgument(f"{source} is not a converted source, nor has the content of one")
    with connect(warehouse) as con:
        start_forgetting(con, lake, wanted)
        forget_files(warehouse, con, lake, wanted, tuple(dict.fromkeys(entry.outputs + entry.retired)))
    # Its set-aside rows go too (named after the path it was converted from; see docs/reliability.md).
    (warehouse.rejects_dir / f"{source_key(Path(wanted))}.csv").unlink(missing_ok=True)
    # The last source forgotten leaves no file for the readers' views to glob: they become empty views.
    readers.refresh(warehouse, lake)
    return Forgotten(wanted, entry.outputs)
