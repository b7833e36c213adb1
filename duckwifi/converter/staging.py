"""Staging one source: the cheap shape check, the contract reader, the COPY into ``LAKE/_staging/<key>/``, and
the explanation of a rejection (which line, which rule)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import gzip
import hashlib
import os
import re
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path

import duckdb

from duckwifi import queries
from duckwifi.contract import HEADER_LINE
from duckwifi.errors import DuckwifiError, InputRejected, translate_reader_error
from duckwifi.fsutil import publish, temp_path_for
from duckwifi.warehouse import Warehouse, work_connection

STAGING_DIR = "_staging"
STAGED_SUFFIX = ".partial"
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")
_HEADER_BYTES = HEADER_LINE.encode()
# A UTF-8 byte-order mark some tools put before the header (DuckDB's reader skips it too).
_UTF8_BOM = b"\xef\xbb\xbf"
GZIP_SUFFIX = ".gz"
_READ_CHUNK = 8 * 1024 * 1024
# Enough of line 1 to describe any plausible wrong header, without reading a headerless file whole.
_HEADER_READ_LIMIT = 64 * 1024
# Each thread buffers rows per partition until this many, then writes them out. DuckDB's default (524,288)
# buffers a whole 20M-row hour across 49 states and spills it to disk; 32,768 kept one such hour at 1.4 GB
# peak and cut its conversion from 60 s to 47 s on 2 cores (row groups still come out at 122,880 rows).
CONVERT_SETTINGS = {"partitioned_write_flush_threshold": 32_768}


def source_key(source: Path) -> str:
    """A file-name-safe key derived from the source: its stem, and a hash of its absolute path.

    It names the source's staging folder and its output files, so re-converting a source only ever replaces
    its own files."""
    stem = _UNSAFE_NAME_CHARS.sub("_", source.stem)[:80] or "source"
    digest = hashlib.sha256(str(source).encode()).hexdigest()[:10]
    return f"{stem}-{digest}"


def check_shape(source: Path, byte_count: int) -> None:
    """Reject, before any parsing, a file that is empty, has another header, or ends mid-line.

    For a gzip'd file only the header is checked here: its end cannot be read without inflating it all, and
    a cut gzip stream fails in the reader anyway ("Unexpected end of GZIP stream")."""
    if byte_count == 0:
        raise InputRejected(source, "empty file", line=1)
    compressed = source.name.endswith(GZIP_SUFFIX)
    try:
        with gzip.open(source, "rb") if compressed else source.open("rb") as handle:
            first = handle.readline(_HEADER_READ_LIMIT)
            if not compressed:
                handle.seek(-1, os.SEEK_END)
                last_byte = handle.read(1)
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise InputRejected(source, f"not a readable gzip file ({error})") from None
    header = first.removeprefix(_UTF8_BOM).rstrip(b"\r\n")
    if header != _HEADER_BYTES:
        raise InputRejected(source, _describe_header(header), line=1)
    if not compressed and last_byte != b"\n":
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
        parts.append("missing " + _first_few(missing))
    if extra:
        parts.append("unexpected " + _first_few([repr(c) for c in extra]))
    if not parts:
        parts.append("columns out of order")
    return "header does not match the contract: " + "; ".join(parts)


def _first_few(names: list[str], shown: int = 5) -> str:
    """The first ``shown`` names, and how many more there are: a wrong file can miss the whole header."""
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")


def sha256_of(source: Path) -> str:
    digest = hashlib.sha256()
    with source.open("rb") as handle:
        while chunk := handle.read(_READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def contract_reader(
    warehouse: Warehouse, *, in_file_order: bool = False, threads: int | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB that knows the contract (state_regions and checked_telemetry).

    Row order inside a Parquet file carries no meaning, so the reader converts on every thread (or on
    ``threads``, when several readers share a machine); ``in_file_order`` gives one thread and the file's
    row order instead, so that rows can be numbered.
    """
    settings: dict[str, int] = {"threads": 1} if in_file_order else dict(CONVERT_SETTINGS)
    if threads is not None and not in_file_order:
        settings["threads"] = threads
    with work_connection(warehouse, preserve_insertion_order=in_file_order, settings=settings) as reader:
        reader.execute(queries.load("reference/state_regions.sql"))
        reader.execute(queries.load("converter/create_reader_macros.sql"))
        yield reader


def stage(
    warehouse: Warehouse,
    reader: duckdb.DuckDBPyConnection,
    source: Path,
    staging: Path,
    key: str,
    *,
    lenient: bool = False,
) -> int:
    """Run the conversion COPY into ``staging``; returns the rows written or raises a rejection.

    ``lenient`` skips the rows the reader cannot parse into DuckDB's reject tables (see set_aside_rows)."""
    if lenient:
        reader.execute(queries.load("converter/clear_set_aside_rows.sql"))
    try:
        result = reader.execute(
            queries.load("converter/convert_file.sql"),
            {
                "source": str(source),
                "staging": str(staging),
                "filename_pattern": f"{key}_{{i}}",
                "lenient": lenient,
            },
        ).fetchone()
    except duckdb.Error as error:
        raise explain_rejection(warehouse, source, error, writing=staging) from None
    return int(result[0]) if result is not None else 0


def explain_rejection(warehouse: Warehouse, source: Path, error: duckdb.Error, *, writing: Path) -> DuckwifiError:
    rejection = translate_reader_error(error, source, writing=writing)
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


def refuse_repeated_keys(
    warehouse: Warehouse, reader: duckdb.DuckDBPyConnection, source: Path, staged: list[Path]
) -> None:
    """Reject a source that holds two rows for one (site, datetime), naming the key and both lines."""
    if not staged:
        return
    row = reader.execute(
        queries.load("converter/count_repeated_keys.sql"), {"staged": [str(p) for p in staged]}
    ).fetchone()
    if row is None or row[0] == 0:
        return
    with contract_reader(warehouse, in_file_order=True) as ordered:
        found = ordered.execute(
            queries.load("converter/find_first_repeated_key.sql"), {"source": str(source)}
        ).fetchone()
    if found is None:
        raise InputRejected(source, f"{row[0]} row(s) repeat a (site, datetime) key")
    site, when, first_line, second_line = found
    raise InputRejected(
        source,
        f"repeated key: site {site} at {when:%Y-%m-%d %H:%M:%S} is on lines {first_line} and {second_line}",
        line=int(second_line),
    )


def hour_folder(relative: str) -> str:
    """``date=01-01-20/hour=0`` of a lake-relative output path."""
    return "/".join(relative.split("/")[:2])


def refuse_overlaps(
    reader: duckdb.DuckDBPyConnection,
    source: Path,
    lake: Path,
    staging: Path,
    outputs: tuple[str, ...],
    owner_of: Mapping[str, str],
) -> None:
    """Reject a source whose (site, datetime) keys are already in the lake from another source.

    Only the hours the source touches that already hold another source's files are read, so a new hour
    costs nothing here."""
    hours = {hour_folder(relative) for relative in outputs}
    lake_files = {
        str(lake / relative): owner
        for relative, owner in owner_of.items()
        if owner != str(source) and hour_folder(relative) in hours and (lake / relative).is_file()
    }
    if not lake_files:
        return
    busy_hours = {hour_folder(str(Path(path).relative_to(lake))) for path in lake_files}
    staged = [str(staging / f"{r}{STAGED_SUFFIX}") for r in outputs if hour_folder(r) in busy_hours]
    rows = reader.execute(
        queries.load("converter/count_overlaps.sql"), {"lake_files": sorted(lake_files), "staged": staged}
    ).fetchall()
    per_source: dict[str, int] = {}
    for lake_file, overlapping in rows:
        owner = lake_files[lake_file]
        per_source[owner] = per_source.get(owner, 0) + int(overlapping)
    if not per_source:
        return
    other, count = max(per_source.items(), key=lambda item: (item[1], item[0]))
    more = f" (and rows of {len(per_source) - 1} other source(s))" if len(per_source) > 1 else ""
    raise InputRejected(
        source,
        f"{count} row(s) overlap rows already in the lake from {other}{more} (same site and datetime); "
        "`duckwifi forget` that source first to replace it",
    )


def set_aside_rows(reader: duckdb.DuckDBPyConnection, source: Path, max_bad_rows: int, rejects_file: Path) -> int:
    """After a lenient stage: reject the source if it had more than ``max_bad_rows`` malformed rows, else write
    them (source, line, reason, raw text) to ``rejects_file`` by temp file and rename; returns how many."""
    row = reader.execute(queries.load("converter/count_set_aside_rows.sql")).fetchone()
    count, first_line, first_reason = row if row is not None else (0, None, None)
    if count == 0:
        rejects_file.unlink(missing_ok=True)
        return 0
    if count > max_bad_rows:
        reason = str(first_reason).strip().splitlines()[0]
        raise InputRejected(
            source, f"{count} malformed rows, more than --max-bad-rows {max_bad_rows}; the first: {reason}", first_line
        )
    rejects_file.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path_for(rejects_file)
    reader.execute(queries.load("converter/write_set_aside_rows.sql"), {"source": str(source), "target": str(temp)})
    publish(temp, rejects_file)
    return int(count)


@contextlib.contextmanager
def held_while_staging(source: Path) -> Iterator[None]:
    """An exclusive lock on the source while it is staged, locally or on a Dask worker.

    A worker orphaned by a killed client or a lost scheduler can still be staging a source for a while; the
    next run's staging of the same source (local or distributed) waits for it here instead of sharing its
    staging folder or rollup unit."""
    try:
        fd = os.open(source, os.O_RDONLY)
    except OSError:
        yield  # staging will report the unreadable source as a rejection
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as error:
            # Some network filesystems refuse flock on a file opened read-only; staging goes on unlocked.
            if error.errno not in {errno.EBADF, errno.ENOLCK, errno.EOPNOTSUPP}:
                raise
        yield
    finally:
        os.close(fd)
