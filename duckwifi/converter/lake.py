"""``duckwifi convert SRC LAKE``: each CSV file, independently, into the partitioned Parquet lake, exactly once.

One source file is the unit of work, so a distributed scheduler can later spread files over machines:

1. **Check** the file cheaply (not empty, exact header, ends with a newline) and fingerprint it (size, mtime,
   SHA-256). Unchanged files already in the ledger are skipped.
2. **Stage**: one COPY, in an in-memory DuckDB connection (never the warehouse's), writes the file's
   partitions to ``LAKE/_staging/<key>/`` as ``*.parquet.partial``. A bad row aborts the COPY: nothing of the
   file reaches the lake. Neither ``_staging`` nor the ``.partial`` suffix matches ``LAKE/**/*.parquet``.
3. **Record** the staged outputs in the warehouse as 'publishing'.
4. **Publish**: rename each staged file to its final name (atomic per file), delete outputs of an older
   version of the source, then mark the ledger row 'done' (with the run's next ledger write, see _Ledger).

A kill before 3 leaves only staging, which the next run deletes; a kill during 4 is finished by the next run
from the ledger. Output names derive from the source, so re-converting a source only ever replaces its own files.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from duckwifi import queries, readers
from duckwifi.contract import HEADER_LINE
from duckwifi.errors import (
    BadArgument,
    DuckwifiError,
    FilesRejected,
    InputRejected,
    SourceChanged,
    is_disk_full,
    translate,
    translate_reader_error,
)
from duckwifi.fsutil import ensure_folder, fsync_dir, fsync_file
from duckwifi.rollups import hooks as rollup_hooks
from duckwifi.warehouse import Warehouse, connect, register_lake, work_connection

STAGING_DIR = "_staging"
STAGED_SUFFIX = ".partial"
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")
_HEADER_BYTES = HEADER_LINE.encode()
_READ_CHUNK = 8 * 1024 * 1024
# Enough of line 1 to describe any plausible wrong header, without reading a headerless file whole.
_HEADER_READ_LIMIT = 64 * 1024
# Each thread buffers rows per partition until this many, then writes them out. DuckDB's default (524,288)
# buffers a whole 20M-row hour across 49 states and spills it to disk; 32,768 kept one such hour at 1.4 GB
# peak and cut its conversion from 60 s to 47 s on 2 cores (row groups still come out at 122,880 rows).
CONVERT_SETTINGS = {"partitioned_write_flush_threshold": 32_768}


@dataclass(frozen=True)
class Converted:
    source: Path
    rows: int
    outputs: tuple[str, ...]


@dataclass
class ConvertReport:
    converted: list[Converted] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    rejected: list[InputRejected] = field(default_factory=list)
    changed: list[Path] = field(default_factory=list)
    recovered: int = 0


@dataclass(frozen=True)
class _LedgerEntry:
    byte_count: int
    mtime_ns: int
    sha256: str
    status: str
    outputs: tuple[str, ...]
    retired: tuple[str, ...]


def source_key(source: Path) -> str:
    """A file-name-safe key derived from the source: its stem, and a hash of its absolute path."""
    stem = _UNSAFE_NAME_CHARS.sub("_", source.stem)[:80] or "source"
    digest = hashlib.sha256(str(source).encode()).hexdigest()[:10]
    return f"{stem}-{digest}"


def list_sources(src: Path) -> list[Path]:
    """The ``*.csv`` files directly in ``src``, sorted; hidden files (such as a tick's temporaries) excluded."""
    if not src.is_dir():
        raise BadArgument(f"source folder {src} does not exist or is not a folder")
    return sorted(p.resolve() for p in src.glob("*.csv") if p.is_file() and not p.name.startswith("."))


def convert(
    warehouse: Warehouse,
    src: Path,
    lake: Path,
    *,
    replace_changed: bool = False,
    on_file: Callable[[Path], None] | None = None,
) -> ConvertReport:
    """Convert every new CSV file in ``src`` into ``lake``; the caller holds the warehouse's "convert" lock."""
    sources = list_sources(src)
    lake = ensure_folder(lake, "lake folder")
    report = ConvertReport()
    with connect(warehouse, create=True) as con:
        # Rollups (issue 12): remember which sources a killed run left 'publishing', to finish their units too.
        interrupted = {s: (e.sha256, e.outputs) for s, e in _read_ledger(con, lake).items() if e.status == "publishing"}
        report.recovered = _finish_interrupted_publishing(con, lake)
        entries = _read_ledger(con, lake)
    register_lake(warehouse, lake)
    rollup_hooks.finish_interrupted(warehouse, lake, interrupted, source_key)  # rollups (issue 12)
    shutil.rmtree(lake / STAGING_DIR, ignore_errors=True)

    ledger = _Ledger(warehouse, lake)
    # One reader for the whole run: starting a DuckDB instance costs about 30 ms, which a folder of many
    # small files would pay per file.
    with contract_reader(warehouse) as reader:
        for source in sources:
            try:
                _convert_if_new(ledger, reader, source, entries.get(str(source)), replace_changed, report)
            except (InputRejected, OSError) as error:
                rejection = _as_rejection(error, source, lake)
                report.rejected.append(rejection)
                _record_rejection(ledger, rejection)
            finally:
                if on_file is not None:
                    on_file(source)

    if ledger.has_unmarked:
        with ledger.transaction():
            pass
    readers.refresh(warehouse, lake)
    return report


class _Ledger:
    """Short write transactions on the warehouse's ledger for one convert run.

    A published source is marked 'done' by the run's next transaction rather than its own: opening
    warehouse.duckdb costs about 30 ms, which a folder of many small files would otherwise pay twice per
    file. Until then its row says 'publishing', exactly what a kill after publishing leaves, and the next
    run finishes such a row the same way (_finish_interrupted_publishing).
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
                _mark_published(con, self.lake, source)
            yield con
            con.commit()
        self._unmarked.clear()


def _as_rejection(error: InputRejected | OSError, source: Path, lake: Path) -> InputRejected:
    """A rejection for a source that broke the contract or cannot be read; any other OS error stops the run."""
    if isinstance(error, InputRejected):
        return error
    if is_disk_full(error) or error.filename is None or os.fspath(error.filename) != str(source):
        raise translate(error, target=str(lake)) from None
    return InputRejected(source, f"cannot read: {error.strerror or error}")


def _convert_if_new(
    ledger: _Ledger,
    reader: duckdb.DuckDBPyConnection,
    source: Path,
    entry: _LedgerEntry | None,
    replace_changed: bool,
    report: ConvertReport,
) -> None:
    stat = source.stat()
    if entry is not None and (entry.byte_count, entry.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
        report.unchanged.append(source)
        return
    check_shape(source, stat.st_size)
    if entry is None:
        report.converted.append(convert_file(ledger, reader, source, stat.st_size, stat.st_mtime_ns))
        return
    sha256 = _sha256(source)
    if entry.sha256 == sha256:
        with ledger.transaction() as con:
            con.execute(
                queries.load("warehouse/touch_conversion.sql"),
                {"lake": str(ledger.lake), "source": str(source), "mtime_ns": stat.st_mtime_ns},
            )
        report.unchanged.append(source)
        return
    if not replace_changed:
        report.changed.append(source)
        return
    report.converted.append(
        convert_file(ledger, reader, source, stat.st_size, stat.st_mtime_ns, previous_outputs=entry.outputs)
    )


def check_shape(source: Path, byte_count: int) -> None:
    """Reject, before any parsing, a file that is empty, has another header, or ends mid-line."""
    if byte_count == 0:
        raise InputRejected(source, "empty file", line=1)
    with source.open("rb") as handle:
        first = handle.readline(_HEADER_READ_LIMIT)
        handle.seek(-1, os.SEEK_END)
        last_byte = handle.read(1)
    header = first.rstrip(b"\r\n")
    if header != _HEADER_BYTES:
        raise InputRejected(source, _describe_header(header), line=1)
    if last_byte != b"\n":
        raise InputRejected(source, "truncated: the last line does not end with a newline")


def _describe_header(header: bytes) -> str:
    try:
        found = header.decode("utf-8").split(",")
    except UnicodeDecodeError:
        return "the header is not UTF-8 text"
    expected = HEADER_LINE.split(",")
    missing = [c for c in expected if c not in found]
    extra = [c for c in found if c not in expected]
    parts = []
    if missing:
        parts.append("missing " + ", ".join(missing[:5]))
    if extra:
        parts.append("unexpected " + ", ".join(repr(c) for c in extra[:5]))
    if not parts:
        parts.append("columns out of order")
    return "header does not match the contract: " + "; ".join(parts)


def _sha256(source: Path) -> str:
    digest = hashlib.sha256()
    with source.open("rb") as handle:
        while chunk := handle.read(_READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def convert_file(
    ledger: _Ledger,
    reader: duckdb.DuckDBPyConnection,
    source: Path,
    byte_count: int,
    mtime_ns: int,
    previous_outputs: tuple[str, ...] = (),
) -> Converted:
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
            checksum = pool.submit(_sha256, source)
            rows = _stage(ledger.warehouse, reader, source, staging, key)
            sha256 = checksum.result()
        after = source.stat()
        if (after.st_size, after.st_mtime_ns) != (byte_count, mtime_ns):
            raise InputRejected(source, "the file changed while it was being converted; it will be retried")
        staged = sorted(staging.rglob(f"*{STAGED_SUFFIX}"))
        for path in staged:
            fsync_file(path)
        outputs = tuple(str(p.relative_to(staging))[: -len(STAGED_SUFFIX)] for p in staged)
        retired = tuple(sorted(set(previous_outputs) - set(outputs)))
        # Rollups (issue 12): the source's unit, written before the ledger records the source.
        rollup_unit = rollup_hooks.stage(ledger.warehouse, reader, source, key, staged, sha256)
        with ledger.transaction() as con:
            con.execute(
                queries.load("warehouse/record_conversion.sql"),
                {
                    "lake": str(lake),
                    "source": str(source),
                    "byte_count": byte_count,
                    "mtime_ns": mtime_ns,
                    "sha256": sha256,
                    "row_count": rows,
                    "outputs": list(outputs),
                    "retired": list(retired),
                },
            )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        rollup_hooks.discard(ledger.warehouse, rollup_unit)  # rollups (issue 12)
        raise
    _publish(staging, lake, outputs, retired)
    rollup_hooks.publish(ledger.warehouse, lake, source, rollup_unit)  # rollups (issue 12)
    shutil.rmtree(staging, ignore_errors=True)
    ledger.published(source)
    return Converted(source, rows, outputs)


@contextlib.contextmanager
def contract_reader(warehouse: Warehouse, *, in_file_order: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB that knows the contract (state_regions and checked_telemetry).

    Row order inside a Parquet file carries no meaning, so the reader converts on every thread;
    ``in_file_order`` gives one thread and the file's row order instead, so that rows can be numbered.
    """
    settings = {"threads": 1} if in_file_order else CONVERT_SETTINGS
    with work_connection(warehouse, preserve_insertion_order=in_file_order, settings=settings) as reader:
        reader.execute(queries.load("reference/state_regions.sql"))
        reader.execute(queries.load("converter/create_reader_macros.sql"))
        yield reader


def _stage(warehouse: Warehouse, reader: duckdb.DuckDBPyConnection, source: Path, staging: Path, key: str) -> int:
    """Run the conversion COPY into ``staging``; returns the rows written or raises a rejection."""
    try:
        result = reader.execute(
            queries.load("converter/convert_file.sql"),
            {"source": str(source), "staging": str(staging), "filename_pattern": f"{key}_{{i}}"},
        ).fetchone()
    except duckdb.Error as error:
        raise _explain_rejection(warehouse, source, error) from None
    return int(result[0]) if result is not None else 0


def _explain_rejection(warehouse: Warehouse, source: Path, error: duckdb.Error) -> DuckwifiError:
    rejection = translate_reader_error(error, source)
    if not isinstance(rejection, InputRejected) or rejection.line is not None:
        return rejection
    # A rule of checked_telemetry failed inside the parallel COPY; find its line in file order.
    with contract_reader(warehouse, in_file_order=True) as ordered:
        try:
            found = ordered.execute(
                queries.load("converter/find_first_problem.sql"), {"source": str(source)}
            ).fetchone()
        except duckdb.Error:
            return rejection
    return InputRejected(source, found[1], line=int(found[0])) if found else rejection


def _publish(staging: Path, lake: Path, outputs: tuple[str, ...], retired: tuple[str, ...]) -> None:
    """Rename staged files into the lake (idempotent: a file already moved is skipped), then drop retired ones."""
    touched_dirs: set[Path] = set()
    for relative in outputs:
        staged = staging / f"{relative}{STAGED_SUFFIX}"
        final = lake / relative
        if staged.exists():
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, final)
            touched_dirs.add(final.parent)
    for relative in retired:
        with contextlib.suppress(FileNotFoundError):
            (lake / relative).unlink()
            touched_dirs.add((lake / relative).parent)
    for folder in touched_dirs:
        fsync_dir(folder)


def _mark_published(con: duckdb.DuckDBPyConnection, lake: Path, source: str) -> None:
    """The ledger's last step for a source: 'done', and no rejection of an earlier version left listed."""
    params = {"lake": str(lake), "source": source}
    con.execute(queries.load("warehouse/finish_conversion.sql"), params)
    con.execute(queries.load("warehouse/forget_rejection.sql"), params)


def _finish_interrupted_publishing(con: duckdb.DuckDBPyConnection, lake: Path) -> int:
    """Complete the publishing of sources a killed convert had staged and recorded; returns how many."""
    finished = 0
    for source, entry in _read_ledger(con, lake).items():
        if entry.status != "publishing":
            continue
        staging = lake / STAGING_DIR / source_key(Path(source))
        _publish(staging, lake, entry.outputs, entry.retired)
        _mark_published(con, lake, source)
        finished += 1
    return finished


def _read_ledger(con: duckdb.DuckDBPyConnection, lake: Path) -> dict[str, _LedgerEntry]:
    rows = con.execute(queries.load("warehouse/list_conversions.sql"), {"lake": str(lake)}).fetchall()
    return {
        source: _LedgerEntry(byte_count, mtime_ns, sha, status, tuple(outputs), tuple(retired))
        for source, byte_count, mtime_ns, sha, status, outputs, retired in rows
    }


def _record_rejection(ledger: _Ledger, rejection: InputRejected) -> None:
    try:
        byte_count = rejection.path.stat().st_size
    except OSError:
        byte_count = 0
    with ledger.transaction() as con:
        con.execute(
            queries.load("warehouse/record_rejection.sql"),
            {
                "lake": str(ledger.lake),
                "source": str(rejection.path),
                "byte_count": byte_count,
                "line": rejection.line,
                "reason": rejection.reason,
            },
        )


def raise_for_outcome(report: ConvertReport) -> None:
    """The exit status of a convert run: rejected files first, then changed ones."""
    if report.rejected:
        raise FilesRejected(f"{len(report.rejected)} file(s) rejected; fix them and run convert again")
    if report.changed:
        raise SourceChanged(
            f"{len(report.changed)} converted file(s) changed since; rerun with --replace-changed to replace "
            "their output"
        )
