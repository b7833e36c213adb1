"""The conversions ledger and the rejections list: short write transactions through ``warehouse.connect``.

The ledger is the truth about which source produced which lake files; the publishing protocol (see
``publishing.py``) keeps the files and the ledger in step across kills.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from duckwifi import queries
from duckwifi.errors import InputRejected
from duckwifi.warehouse import Warehouse, connect


@dataclass(frozen=True)
class LedgerEntry:
    byte_count: int
    mtime_ns: int
    sha256: str
    status: str
    outputs: tuple[str, ...]
    retired: tuple[str, ...]
    # The size of each output (empty for rows recorded before sizes were).
    output_bytes: tuple[int, ...] = ()


class Ledger:
    """Short write transactions on the warehouse's ledger for one run.

    A published source is marked 'done' by the run's next transaction rather than its own: opening the
    database costs about 30 ms, which a folder of many small files would otherwise pay twice per file. Until
    then its row says 'publishing', exactly what a kill after publishing leaves, and the next run finishes
    such a row the same way (publishing.finish_interrupted).
    """

    def __init__(self, warehouse: Warehouse, lake: Path) -> None:
        self.warehouse = warehouse
        self.lake = lake
        self._unmarked: list[str] = []

    @property
    def has_unmarked(self) -> bool:
        return bool(self._unmarked)

    def published(self, source: Path) -> None:
        self._unmarked.append(str(source))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with connect(self.warehouse) as con:
            con.begin()
            for source in self._unmarked:
                mark_published(con, self.lake, source)
            yield con
            con.commit()
        self._unmarked.clear()

    def flush(self) -> None:
        """Mark the sources published so far 'done' now."""
        if self._unmarked:
            with self.transaction():
                pass

    def record_conversion(
        self,
        source: Path,
        entry: LedgerEntry,
        row_count: int,
    ) -> None:
        """Record staged outputs as 'publishing', before any of them is renamed into the lake."""
        with self.transaction() as con:
            con.execute(
                queries.load("warehouse/record_conversion.sql"),
                {
                    "lake": str(self.lake),
                    "source": str(source),
                    "byte_count": entry.byte_count,
                    "mtime_ns": entry.mtime_ns,
                    "sha256": entry.sha256,
                    "row_count": row_count,
                    "outputs": list(entry.outputs),
                    "retired": list(entry.retired),
                    "output_bytes": list(entry.output_bytes),
                },
            )

    def touch(self, source: Path, mtime_ns: int) -> None:
        """A converted source whose checksum shows its content unchanged gets its new mtime."""
        with self.transaction() as con:
            con.execute(
                queries.load("warehouse/touch_conversion.sql"),
                {"lake": str(self.lake), "source": str(source), "mtime_ns": mtime_ns},
            )

    def move(self, old_source: str, new_source: Path, mtime_ns: int) -> None:
        """A converted source found at a new path, its old path gone: the ledger follows the file."""
        with self.transaction() as con:
            con.execute(
                queries.load("warehouse/move_conversion.sql"),
                {"lake": str(self.lake), "old_source": old_source, "new_source": str(new_source), "mtime_ns": mtime_ns},
            )

    def record_rejection(self, rejection: InputRejected) -> None:
        try:
            byte_count = rejection.path.stat().st_size
        except OSError:
            byte_count = 0
        with self.transaction() as con:
            con.execute(
                queries.load("warehouse/record_rejection.sql"),
                {
                    "lake": str(self.lake),
                    "source": str(rejection.path),
                    "byte_count": byte_count,
                    "line": rejection.line,
                    "reason": rejection.reason,
                },
            )


def mark_published(con: duckdb.DuckDBPyConnection, lake: Path, source: str) -> None:
    """The ledger's last step for a source: 'done', and no rejection of an earlier version left listed."""
    params = {"lake": str(lake), "source": source}
    con.execute(queries.load("warehouse/finish_conversion.sql"), params)
    con.execute(queries.load("warehouse/forget_rejection.sql"), params)


def read_ledger(con: duckdb.DuckDBPyConnection, lake: Path) -> dict[str, LedgerEntry]:
    rows = con.execute(queries.load("warehouse/list_conversions.sql"), {"lake": str(lake)}).fetchall()
    return {
        source: LedgerEntry(
            byte_count, mtime_ns, sha, status, tuple(outputs), tuple(retired), tuple(output_bytes or ())
        )
        for source, byte_count, mtime_ns, sha, status, outputs, retired, output_bytes in rows
    }


def start_forgetting(con: duckdb.DuckDBPyConnection, lake: Path, source: str) -> None:
    """Journal a source's outputs for deletion and drop it from the ledger, in one transaction."""
    params = {"lake": str(lake), "source": source}
    con.begin()
    con.execute(queries.load("warehouse/start_forgetting.sql"), params)
    con.execute(queries.load("warehouse/delete_conversion.sql"), params)
    con.commit()


def list_forgetting(con: duckdb.DuckDBPyConnection, lake: Path) -> list[tuple[str, tuple[str, ...]]]:
    rows = con.execute(queries.load("warehouse/list_forgetting.sql"), {"lake": str(lake)}).fetchall()
    return [(source, tuple(outputs)) for source, outputs in rows]


def finish_forgetting(con: duckdb.DuckDBPyConnection, lake: Path, source: str) -> None:
    con.execute(queries.load("warehouse/finish_forgetting.sql"), {"lake": str(lake), "source": source})
