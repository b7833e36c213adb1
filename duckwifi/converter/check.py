"""``duckwifi check [--repair]``: the lake's fsck. Every ledger output against the files on disk, every
``*.parquet`` file in the lake against the ledger, every rollup unit's files and the day digests a server would
load; ``--repair`` re-converts sources with damaged lake files from their CSV (when it is still there with the
same SHA-256), rebuilds damaged rollup units from their source's lake files, writes damaged digests again, and
removes orphans."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from duckwifi import queries, readers
from duckwifi.converter.identity import lake_missing, owned_lake
from duckwifi.converter.lake import convert_file
from duckwifi.converter.ledger import Ledger, LedgerEntry, read_ledger
from duckwifi.converter.publishing import recover, remove_files
from duckwifi.converter.staging import STAGING_DIR, contract_reader, sha256_of
from duckwifi.errors import InputRejected, RollupsDamaged
from duckwifi.fsutil import fsync_dir
from duckwifi.rollups import digests
from duckwifi.rollups.digests import write_digests
from duckwifi.rollups.rebuild import rebuild, rebuild_sources
from duckwifi.rollups.store import TABLES, Manifest, manifest_path, read_manifest
from duckwifi.rollups.store import remove_sources as remove_rollup_sources
from duckwifi.warehouse import Warehouse, connect, work_connection

_PARQUET_MAGIC = b"PAR1"


@dataclass(frozen=True)
class Problem:
    kind: str  # missing, size, unreadable, orphan; rollup (a unit's file or the manifest); digest (a day digest's)
    path: str  # lake-relative; for a rollup problem, warehouse-relative
    source: str | None  # the source whose output it is; None for an orphan
    detail: str = ""

    def __str__(self) -> str:
        where = (
            f" (from {self.source})" if self.source else " (no source accounts for it)" if self.kind == "orphan" else ""
        )
        return f"{self.kind}: {self.path}{where}{': ' + self.detail if self.detail else ''}"


@dataclass
class CheckReport:
    lake: Path | None
    problems: list[Problem] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    # Sources whose rollup unit was rebuilt from their lake files; "" when the whole store was.
    rebuilt_rollups: list[str] = field(default_factory=list)
    removed_orphans: list[str] = field(default_factory=list)
    # Sources the manifest listed a unit of but the ledger does not have: their units were withdrawn.
    withdrawn_rollups: list[str] = field(default_factory=list)
    # Day digests (warehouse-relative folders) found damaged, deleted and written again.
    rewritten_digests: list[str] = field(default_factory=list)
    # Sources that could not be re-converted, with the reason; their lake files were left alone.
    unrepairable: dict[str, str] = field(default_factory=dict)
    recovered: int = 0
    # The recorded lake folder does not exist: nothing in it can be checked or repaired from here.
    lake_gone: bool = False


def _footer_problem(reader: duckdb.DuckDBPyConnection, path: Path) -> str | None:
    """Why a file's Parquet footer cannot be read, or None. The magic bytes are checked first: cheap, and
    enough for a truncated file."""
    with path.open("rb") as handle:
        head = handle.read(4)
        handle.seek(max(0, path.stat().st_size - 4))
        tail = handle.read(4)
    if head != _PARQUET_MAGIC or tail != _PARQUET_MAGIC:
        return "not a complete Parquet file (no magic bytes)"
    try:
        reader.execute(queries.load("converter/read_parquet_footer.sql"), {"file": str(path)}).fetchall()
    except duckdb.Error as error:
        return f"unreadable Parquet footer ({str(error).strip().splitlines()[0]})"
    return None


def find_problems(warehouse: Warehouse, lake: Path, entries: dict[str, LedgerEntry]) -> list[Problem]:
    problems: list[Problem] = []
    accounted: set[str] = set()
    with work_connection(warehouse) as reader:
        for source, entry in entries.items():
            sizes = (
                entry.output_bytes if len(entry.output_bytes) == len(entry.outputs) else (None,) * len(entry.outputs)
            )
            for relative, size in zip(entry.outputs, sizes, strict=True):
                accounted.add(relative)
                path = lake / relative
                if not path.is_file():
                    problems.append(Problem("missing", relative, source))
                elif size is not None and path.stat().st_size != size:
                    problems.append(
                        Problem("size", relative, source, f"{path.stat().st_size:,} bytes, {size:,} recorded")
                    )
                elif (why := _footer_problem(reader, path)) is not None:
                    problems.append(Problem("unreadable", relative, source, why))
    for path in sorted(lake.rglob("*.parquet")):
        relative = str(path.relative_to(lake))
        if path.parts[len(lake.parts)] != STAGING_DIR and relative not in accounted:
            problems.append(Problem("orphan", relative, None))
    return problems


def find_rollup_problems(warehouse: Warehouse, entries: dict[str, LedgerEntry]) -> list[Problem]:
    """The rollup store's damage: an unreadable or lost manifest, a converted source it lists no unit of (or
    an older unit of), or a unit whose files are missing or not Parquet."""
    shown_manifest = str(manifest_path(warehouse).relative_to(warehouse.root))
    try:
        manifest = read_manifest(warehouse)
    except RollupsDamaged as error:
        return [Problem("rollup", shown_manifest, None, str(error))]
    # Sources with rows: a source of no rows publishes no unit.
    converted = {source: entry for source, entry in entries.items() if entry.status == "done" and entry.outputs}
    listed = manifest.by_source()
    if converted and not listed:
        # A lake converted before rollups existed, or a store emptied by hand: rebuilt as a whole.
        detail = f"lists no unit, but the ledger has {len(converted)} converted source(s)"
        return [Problem("rollup", shown_manifest, None, detail)]
    problems = [
        Problem("rollup", shown_manifest, source, "lists no unit of this converted source")
        if source not in listed
        else Problem("rollup", shown_manifest, source, "lists a unit of an earlier content of this source")
        for source, entry in sorted(converted.items())
        if source not in listed or listed[source].sha256 != entry.sha256
    ]
    # A unit still under a path the ledger no longer has (a move cut short between the two records).
    problems += [
        Problem("rollup", shown_manifest, source, "lists a unit of a source the ledger does not have")
        for source in sorted(listed)
        if source not in entries
    ]
    with work_connection(warehouse) as reader:
        for unit in manifest.units:
            for table in TABLES:
                path = unit.path(warehouse.rollups_dir, table)
                shown = str(path.relative_to(warehouse.root))
                if not path.is_file():
                    problems.append(Problem("rollup", shown, unit.source, "missing"))
                elif (why := _footer_problem(reader, path)) is not None:
                    problems.append(Problem("rollup", shown, unit.source, why))
        problems += _digest_problems(warehouse, manifest, reader)
    return problems


def _digest_problems(warehouse: Warehouse, manifest: Manifest, reader: duckdb.DuckDBPyConnection) -> list[Problem]:
    """The files of day digests the store would load (made from exactly their day's units) that are missing or
    not Parquet. A digest is a cache, so `serve` loads such a day from its units; --repair writes it again."""
    by_day = digests.units_by_day(manifest)
    problems: list[Problem] = []
    for day in digests.complete_days(manifest):
        folder = digests.usable_digest(warehouse, day, by_day[day])
        named = digests.digests_dir(warehouse) / digests.digest_name(day, by_day[day])
        if folder is None and named.is_dir():
            # Its name is the day's current units, so only a damaged digest.json keeps it from being used.
            info = named / digests.DIGEST_INFO_NAME
            problems.append(Problem("digest", str(info.relative_to(warehouse.root)), None, "cannot be read"))
        for path in map(Path, digests.digest_files(folder).values()) if folder is not None else ():
            shown = str(path.relative_to(warehouse.root))
            if not path.is_file():
                problems.append(Problem("digest", shown, None, "missing"))
            elif (why := _footer_problem(reader, path)) is not None:
                problems.append(Problem("digest", shown, None, why))
    return problems


def check(warehouse: Warehouse, *, repair: bool = False) -> CheckReport:
    """Compare the ledger with the lake; with ``repair``, fix what can be fixed. The caller holds the
    warehouse's "convert" lock, since a repair converts."""
    lake = owned_lake(warehouse)
    report = CheckReport(lake)
    if lake is None or lake_missing(warehouse, lake):
        if lake is not None:
            report.problems.append(Problem("missing", str(lake), None, "the lake folder itself is gone"))
            report.lake_gone = True
        return report
    report.recovered = recover(warehouse, lake)
    with connect(warehouse) as con:
        entries = read_ledger(con, lake)
    report.problems = find_problems(warehouse, lake, entries) + find_rollup_problems(warehouse, entries)
    if repair and report.problems:
        _repair(warehouse, lake, entries, report)
        # Orphans removed, or the rollup store rebuilt: the readers' views follow what is there now.
        readers.refresh(warehouse, lake)
    return report


def _repair(warehouse: Warehouse, lake: Path, entries: dict[str, LedgerEntry], report: CheckReport) -> None:
    orphans = tuple(p.path for p in report.problems if p.kind == "orphan")
    for folder in remove_files(lake, orphans):
        fsync_dir(folder)
    report.removed_orphans.extend(orphans)
    affected = sorted({p.source for p in report.problems if p.source is not None and p.kind != "rollup"})
    owner_of = {output: source for source, entry in entries.items() for output in entry.outputs}
    ledger = Ledger(warehouse, lake)
    with contract_reader(warehouse) as reader:
        for source in affected:
            entry = entries[source]
            path = Path(source)
            try:
                stat = path.stat()
            except OSError as error:
                report.unrepairable[source] = (
                    f"its CSV cannot be read ({error.strerror}); its lake files were left alone"
                )
                continue
            if stat.st_size != entry.byte_count or sha256_of(path) != entry.sha256:
                report.unrepairable[source] = "its CSV changed since it was converted; its lake files were left alone"
                continue
            try:
                # The same rows are set aside again as when it was first converted, and no more.
                convert_file(
                    ledger,
                    reader,
                    path,
                    stat.st_size,
                    stat.st_mtime_ns,
                    entry.outputs,
                    owner_of=owner_of,
                    max_bad_rows=entry.set_aside_rows,
                )
            except InputRejected as rejection:
                report.unrepairable[source] = f"re-converting it failed: {rejection.reason}"
                continue
            report.repaired.append(source)
    ledger.flush()
    _repair_rollups(warehouse, lake, entries, report, reconverted=set(affected))
    damaged_digests = sorted({str(Path(p.path).parent) for p in report.problems if p.kind == "digest"})
    if damaged_digests:
        for folder in damaged_digests:
            shutil.rmtree(warehouse.root / folder, ignore_errors=True)
        write_digests(warehouse)
        report.rewritten_digests.extend(damaged_digests)


def _repair_rollups(
    warehouse: Warehouse, lake: Path, entries: dict[str, LedgerEntry], report: CheckReport, reconverted: set[str]
) -> None:
    """Rebuild damaged units from their sources' lake files (a re-converted source has a new unit already); a
    damaged manifest, which lists no unit to trust, rebuilds them all."""
    rollup_problems = [p for p in report.problems if p.kind == "rollup"]
    if any(p.source is None for p in rollup_problems):
        rebuild(warehouse)
        report.rebuilt_rollups.append("")
        return
    damaged = sorted({str(p.source) for p in rollup_problems} - reconverted)
    unknown = [s for s in damaged if s not in entries]
    if unknown:
        remove_rollup_sources(warehouse, unknown)
        report.withdrawn_rollups.extend(unknown)
    lake_whole = [s for s in damaged if s in entries and s not in report.unrepairable]
    if lake_whole:
        rebuild_sources(warehouse, lake, entries, lake_whole)
        report.rebuilt_rollups.extend(lake_whole)
