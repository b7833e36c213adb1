"""``duckwifi convert SRC LAKE``: each CSV file, independently, into the partitioned Parquet lake, exactly once.

One source file is the unit of work, so a distributed scheduler can later spread files over machines:

1. **Check** the file cheaply (not empty, exact header, ends with a newline) and fingerprint it (size, mtime,
   SHA-256). Unchanged files already in the ledger are skipped.
2. **Stage** (staging.py): one COPY, in an in-memory DuckDB connection (never the warehouse's), writes the
   file's partitions to ``LAKE/_staging/<key>/`` as ``*.parquet.partial``. A bad row aborts the COPY: nothing
   of the file reaches the lake. Neither ``_staging`` nor the ``.partial`` suffix matches ``LAKE/**/*.parquet``.
3. **Record** (ledger.py) the staged outputs in the warehouse as 'publishing'.
4. **Publish** (publishing.py): rename each staged file to its final name (atomic per file), delete outputs of
   an older version of the source, then mark the ledger row 'done' (with the run's next ledger write).

A kill before 3 leaves only staging, which the next run deletes; a kill during 4 is finished by the next run
from the ledger. Output names derive from the source, so re-converting a source only ever replaces its own files.
This module only orchestrates the steps.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from duckwifi import readers
from duckwifi.converter.identity import claim_lake
from duckwifi.converter.lake_folder import check_lake_folder
from duckwifi.converter.ledger import Ledger, LedgerEntry, read_ledger
from duckwifi.converter.publishing import publish, recover
from duckwifi.converter.staging import (
    STAGED_SUFFIX,
    STAGING_DIR,
    check_shape,
    contract_reader,
    refuse_overlaps,
    refuse_repeated_keys,
    set_aside_rows,
    sha256_of,
    source_key,
    stage,
)
from duckwifi.errors import (
    BadArgument,
    FilesRejected,
    InputRejected,
    SourceChanged,
    is_disk_full,
    translate,
)
from duckwifi.fsutil import fsync_file
from duckwifi.queries import GLOB_CHARACTERS
from duckwifi.rollups import hooks as rollup_hooks
from duckwifi.warehouse import Warehouse, connect

__all__ = [
    "ConvertReport",
    "Converted",
    "contract_reader",
    "convert",
    "list_sources",
    "raise_for_outcome",
    "source_key",
]


@dataclass(frozen=True)
class Converted:
    source: Path
    rows: int
    outputs: tuple[str, ...]
    # Malformed rows set aside by --max-bad-rows (not in the lake).
    set_aside: int = 0


@dataclass
class ConvertReport:
    converted: list[Converted] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    rejected: list[InputRejected] = field(default_factory=list)
    changed: list[Path] = field(default_factory=list)
    # Files skipped because a converted source has the same content: (file, that source).
    same_content: list[tuple[Path, Path]] = field(default_factory=list)
    recovered: int = 0
    # Files skipped by --min-age: modified too recently, perhaps still being copied.
    too_new: list[Path] = field(default_factory=list)
    # Skipped sources whose lake files are missing, and how many of each (`duckwifi check` says which).
    missing_outputs: dict[Path, int] = field(default_factory=dict)
    # The lake's previous path, when it was found moved (by its marker) and the warehouse now points here.
    moved_from: Path | None = None


SOURCE_PATTERNS = ("*.csv", "*.csv.gz")


def list_sources(src: Path) -> list[Path]:
    """The ``*.csv`` and ``*.csv.gz`` files directly in ``src``, sorted; hidden files (such as a tick's
    temporaries) excluded."""
    if not src.is_dir():
        raise BadArgument(f"source folder {src} does not exist or is not a folder")
    found = {p for pattern in SOURCE_PATTERNS for p in src.glob(pattern)}
    return sorted(p.resolve() for p in found if p.is_file() and not p.name.startswith("."))


def convert(
    warehouse: Warehouse,
    src: Path,
    lake: Path,
    *,
    replace_changed: bool = False,
    min_age_s: float = 0.0,
    max_bad_rows: int = 0,
    on_file: Callable[[Path], None] | None = None,
) -> ConvertReport:
    """Convert every new CSV file in ``src`` into ``lake``; the caller holds the warehouse's "convert" lock."""
    sources = list_sources(src)
    check_lake_folder(warehouse, lake.resolve())
    claim = claim_lake(warehouse, lake)
    lake = claim.lake
    report = ConvertReport(moved_from=claim.moved_from)
    with connect(warehouse) as con:
        # Rollups (issue 12): the sources a killed run left 'publishing' get their units published too.
        interrupted = {s: (e.sha256, e.outputs) for s, e in read_ledger(con, lake).items() if e.status == "publishing"}
    report.recovered = recover(warehouse, lake)
    rollup_hooks.finish_interrupted(warehouse, lake, interrupted, source_key)
    with connect(warehouse) as con:
        entries = read_ledger(con, lake)

    ledger = Ledger(warehouse, lake)
    # One reader for the whole run: starting a DuckDB instance costs about 30 ms, which a folder of many
    # small files would pay per file.
    with contract_reader(warehouse) as reader:
        newest_mtime_ns = time.time_ns() - int(min_age_s * 1e9) if min_age_s > 0 else None
        run = _Run(ledger, reader, entries, report, replace_changed, max_bad_rows, newest_mtime_ns)
        for source in sources:
            try:
                run.convert_if_new(source)
            except (InputRejected, OSError) as error:
                rejection = _as_rejection(error, source, lake)
                report.rejected.append(rejection)
                ledger.record_rejection(rejection)
            finally:
                if on_file is not None:
                    on_file(source)

    ledger.flush()
    readers.refresh(warehouse, lake)
    return report


class _Run:
    """One convert run's view of the ledger: sources by path, and by content for the files it has not seen."""

    def __init__(
        self,
        ledger: Ledger,
        reader: duckdb.DuckDBPyConnection,
        entries: dict[str, LedgerEntry],
        report: ConvertReport,
        replace_changed: bool,
        max_bad_rows: int,
        newest_mtime_ns: int | None,
    ) -> None:
        self.ledger = ledger
        self.reader = reader
        self.entries = entries
        self.report = report
        self.replace_changed = replace_changed
        # Up to this many malformed rows of a file are set aside in the warehouse's rejects folder.
        self.max_bad_rows = max_bad_rows
        # Files modified after this instant are skipped (--min-age): they may still be being written.
        self.newest_mtime_ns = newest_mtime_ns
        self.by_content = {entry.sha256: source for source, entry in entries.items()}
        self.owner_of = {output: source for source, entry in entries.items() for output in entry.outputs}

    def _same_content(self, source: Path, byte_count: int) -> str | None:
        """The converted source with this file's content, if any. Equal content means equal size, so a file
        of a size no converted source has is not read here (its checksum is taken while it converts)."""
        if not any(entry.byte_count == byte_count for entry in self.entries.values()):
            return None
        return self.by_content.get(sha256_of(source))

    def convert_if_new(self, source: Path) -> None:
        entry = self.entries.get(str(source))
        report = self.report
        stat = source.stat()
        if self.newest_mtime_ns is not None and stat.st_mtime_ns > self.newest_mtime_ns:
            report.too_new.append(source)
            return
        if entry is not None and (entry.byte_count, entry.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
            report.unchanged.append(source)
            self._note_missing_outputs(source, entry)
            return
        check_shape(source, stat.st_size)
        if set(source.name) & GLOB_CHARACTERS:
            raise InputRejected(source, "its name holds a character DuckDB reads as a file pattern; rename it")
        if entry is None:
            twin = self._same_content(source, stat.st_size)
            if twin is not None:
                self._skip_same_content(source, twin, stat.st_mtime_ns)
                return
            self._convert(source, stat.st_size, stat.st_mtime_ns)
            return
        sha256 = sha256_of(source)
        if entry.sha256 == sha256:
            self.ledger.touch(source, stat.st_mtime_ns)
            report.unchanged.append(source)
            return
        if not self.replace_changed:
            report.changed.append(source)
            return
        self._convert(source, stat.st_size, stat.st_mtime_ns, previous_outputs=entry.outputs)

    def _note_missing_outputs(self, source: Path, entry: LedgerEntry) -> None:
        """A skipped source's lake files are looked at (a stat each: present, recorded size), so a lost or cut
        file is never silent."""
        sizes: tuple[int | None, ...] = (
            entry.output_bytes if len(entry.output_bytes) == len(entry.outputs) else (None,) * len(entry.outputs)
        )
        missing = 0
        for output, size in zip(entry.outputs, sizes, strict=True):
            try:
                actual = (self.ledger.lake / output).stat().st_size
            except FileNotFoundError:
                actual = None
            missing += actual is None or (size is not None and actual != size)
        if missing:
            self.report.missing_outputs[source] = missing

    def _skip_same_content(self, source: Path, twin: str, mtime_ns: int) -> None:
        """A file already converted under another path: a copy is skipped; a moved file takes over the record."""
        self.report.same_content.append((source, Path(twin)))
        if Path(twin).exists():
            return
        self.ledger.move(twin, source, mtime_ns)
        entry = self.entries.pop(twin)
        self.entries[str(source)] = LedgerEntry(
            entry.byte_count, mtime_ns, entry.sha256, entry.status, entry.outputs, entry.retired
        )
        self.by_content[entry.sha256] = str(source)

    def _convert(self, source: Path, byte_count: int, mtime_ns: int, previous_outputs: tuple[str, ...] = ()) -> None:
        converted, entry = convert_file(
            self.ledger,
            self.reader,
            source,
            byte_count,
            mtime_ns,
            previous_outputs,
            owner_of=self.owner_of,
            max_bad_rows=self.max_bad_rows,
        )
        self.report.converted.append(converted)
        self.owner_of.update(dict.fromkeys(entry.outputs, str(source)))
        self.entries[str(source)] = entry
        self.by_content[entry.sha256] = str(source)


def _as_rejection(error: InputRejected | OSError, source: Path, lake: Path) -> InputRejected:
    """A rejection for a source that broke the contract or cannot be read; any other OS error stops the run."""
    if isinstance(error, InputRejected):
        return error
    if is_disk_full(error) or error.filename is None or os.fspath(error.filename) != str(source):
        raise translate(error, target=str(lake)) from None
    return InputRejected(source, f"cannot read: {error.strerror or error}")


def convert_file(
    ledger: Ledger,
    reader: duckdb.DuckDBPyConnection,
    source: Path,
    byte_count: int,
    mtime_ns: int,
    previous_outputs: tuple[str, ...] = (),
    *,
    owner_of: Mapping[str, str],
    max_bad_rows: int = 0,
) -> tuple[Converted, LedgerEntry]:
    """Stage, record, publish one source file; see the module's docstring for why in this order."""
    lake = ledger.lake
    key = source_key(source)
    staging = lake / STAGING_DIR / key
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    rollup_unit = None  # rollups (issue 12)
    try:
        # The checksum reads the file while DuckDB converts it: hashlib releases the GIL, and the second
        # read comes from the page cache, so it costs almost no wall time.
        with ThreadPoolExecutor(max_workers=1) as pool:
            checksum = pool.submit(sha256_of, source)
            rows = stage(ledger.warehouse, reader, source, staging, key, lenient=max_bad_rows > 0)
            sha256 = checksum.result()
        after = source.stat()
        if (after.st_size, after.st_mtime_ns) != (byte_count, mtime_ns):
            raise InputRejected(source, "the file changed while it was being converted; it will be retried")
        staged = sorted(staging.rglob(f"*{STAGED_SUFFIX}"))
        outputs = tuple(str(p.relative_to(staging))[: -len(STAGED_SUFFIX)] for p in staged)
        refuse_repeated_keys(ledger.warehouse, reader, source, staged)
        refuse_overlaps(reader, source, lake, staging, outputs, owner_of)
        # Last of the checks, so that a source rejected for another reason leaves no rejects file behind.
        rejects_file = ledger.warehouse.rejects_dir / f"{key}.csv"
        set_aside = set_aside_rows(reader, source, max_bad_rows, rejects_file) if max_bad_rows > 0 else 0
        for path in staged:
            fsync_file(path)
        output_bytes = tuple(path.stat().st_size for path in staged)
        retired = tuple(sorted(set(previous_outputs) - set(outputs)))
        # Rollups (issue 12): the source's unit, written before the ledger records the source.
        rollup_unit = rollup_hooks.stage(ledger.warehouse, reader, source, key, staged, sha256)
        recorded = LedgerEntry(byte_count, mtime_ns, sha256, "publishing", outputs, retired, output_bytes, set_aside)
        ledger.record_conversion(source, recorded, rows)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        rollup_hooks.discard(ledger.warehouse, rollup_unit)  # rollups (issue 12)
        raise
    publish(staging, lake, outputs, retired)
    rollup_hooks.publish(ledger.warehouse, lake, source, rollup_unit)  # rollups (issue 12)
    shutil.rmtree(staging, ignore_errors=True)
    if not set_aside:
        # An earlier version of this source may have set rows aside; this one has none.
        rejects_file.unlink(missing_ok=True)
    ledger.published(source)
    return Converted(source, rows, outputs, set_aside), recorded


def raise_for_outcome(report: ConvertReport) -> None:
    """The exit status of a convert run: rejected files first, then changed ones."""
    if report.rejected:
        raise FilesRejected(f"{len(report.rejected)} file(s) rejected; fix them and run convert again")
    if report.changed:
        raise SourceChanged(
            f"{len(report.changed)} converted file(s) changed since; rerun with --replace-changed to replace "
            "their output"
        )
