"""The one exception tree of duckwifi, its exit codes, and the one place DuckDB errors are translated."""

from __future__ import annotations

import errno
import re
from enum import IntEnum
from pathlib import Path

import duckdb


class ExitCode(IntEnum):
    """Process exit codes; documented in the README and in docs/reliability.md."""

    OK = 0
    INTERNAL = 1  # a bug: anything not anticipated below
    USAGE = 2  # bad arguments (the same code click uses for its own usage errors)
    NOT_INITIALIZED = 3  # the warehouse is missing or has no devices yet
    BUSY = 4  # another duckwifi process holds the warehouse
    CORRUPT = 5  # warehouse.duckdb or devices.parquet cannot be read
    REJECTED = 6  # convert rejected at least one input file
    DISK_FULL = 7  # no space left (or the file-size limit was hit)
    ALREADY_INITIALIZED = 8  # init on an existing warehouse without --force
    SOURCE_CHANGED = 9  # convert found converted files that changed since, and --replace-changed was not given
    FOREIGN_LAKE = 10  # the lake's marker names another warehouse
    SECOND_LAKE = 11  # the warehouse already has another lake
    CHECK_FOUND_PROBLEMS = 12  # `check` found missing, damaged or orphan lake files
    REPAIR_INCOMPLETE = 13  # `check --repair` could not repair everything (a source CSV is gone or changed)
    STATEMENT_REFUSED = 14  # `duckwifi sql` refused a statement that writes
    READ_ONLY = 15  # the warehouse, the lake or an output folder is on a read-only filesystem
    PORT_IN_USE = 16  # `serve` could not bind its address
    LAKE_UNREADABLE = 17  # `serve` found no readable lake or rollups
    EXTRA_MISSING = 18  # an optional extra (such as duckwifi[distributed]) is not installed
    SCHEDULER_UNREACHABLE = 19  # the Dask scheduler cannot be reached
    WORKERS_GONE = 20  # every Dask worker left mid-run
    WORKER_CANNOT_SEE_PATH = 21  # a Dask worker cannot see SRC or write to LAKE
    INTERRUPTED = 130  # Ctrl-C or SIGTERM: temporary files removed, the clock and ledger as they were


class DuckwifiError(Exception):
    """Root of every expected failure; the CLI prints ``str(error)`` as one line and exits with ``exit_code``."""

    exit_code: ExitCode = ExitCode.INTERNAL


class BadArgument(DuckwifiError):
    exit_code = ExitCode.USAGE


class WarehouseMissing(DuckwifiError):
    exit_code = ExitCode.NOT_INITIALIZED


class WarehouseExists(DuckwifiError):
    exit_code = ExitCode.ALREADY_INITIALIZED


class WarehouseBusy(DuckwifiError):
    exit_code = ExitCode.BUSY


class WarehouseCorrupt(DuckwifiError):
    exit_code = ExitCode.CORRUPT


class DevicesCorrupt(DuckwifiError):
    exit_code = ExitCode.CORRUPT


class DiskFull(DuckwifiError):
    exit_code = ExitCode.DISK_FULL


class PortInUse(DuckwifiError):
    """`serve` could not bind its address (another process listens there)."""

    exit_code = ExitCode.PORT_IN_USE


class LakeUnreadable(DuckwifiError):
    """`serve` cannot read the warehouse's lake or its rollup store."""

    exit_code = ExitCode.LAKE_UNREADABLE


class InputRejected(DuckwifiError):
    """One CSV file broke the contract; it is rejected whole."""

    exit_code = ExitCode.REJECTED

    def __init__(self, path: Path, reason: str, line: int | None = None) -> None:
        self.path = path
        self.reason = reason
        self.line = line
        where = f"{path}: line {line}" if line is not None else str(path)
        super().__init__(f"rejected {where}: {reason}")


class FilesRejected(DuckwifiError):
    """The summary of a convert run in which at least one file was rejected."""

    exit_code = ExitCode.REJECTED


class SourceChanged(DuckwifiError):
    exit_code = ExitCode.SOURCE_CHANGED


class RollupsDamaged(DuckwifiError):
    """The rollup store's manifest cannot be read; `duckwifi rollup --rebuild` remakes it from the lake."""

    exit_code = ExitCode.CORRUPT


class InvalidQuery(BadArgument):
    """A serving query with a bad parameter (unknown metric, stat, state...); ``parameter`` names it."""

    def __init__(self, parameter: str, message: str) -> None:
        self.parameter = parameter
        super().__init__(f"{parameter}: {message}")


class QueryNotServed(InvalidQuery):
    """A valid question the serving store does not answer at that grain (e.g. a band quantile over > 24 h)."""


_NO_SPACE_MARKERS = ("no space left", "file too large", "disk quota exceeded", "could not write all bytes")


def is_disk_full(error: BaseException) -> bool:
    """True for ENOSPC/EFBIG/EDQUOT, whether raised by the OS or reported inside a DuckDB message."""
    if isinstance(error, OSError) and error.errno in {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}:
        return True
    text = str(error).lower()
    return any(marker in text for marker in _NO_SPACE_MARKERS)


def is_lock_conflict(error: BaseException) -> bool:
    text = str(error)
    return isinstance(error, duckdb.IOException) and ("Could not set lock" in text or "Conflicting lock" in text)


def translate(error: Exception, *, target: str) -> DuckwifiError:
    """Map a DuckDB or OS error met while working on ``target`` to the duckwifi error named for its condition."""
    if isinstance(error, DuckwifiError):
        return error
    if is_disk_full(error):
        return DiskFull(f"disk full while writing {target}; free some space and run the command again")
    if is_lock_conflict(error):
        return WarehouseBusy(f"warehouse busy: {target} is held by another process; try again when it finishes")
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if isinstance(error, PermissionError):
        return BadArgument(f"permission denied: {error.filename or target}")
    if isinstance(error, duckdb.Error | OSError):
        return DuckwifiError(f"{target}: {first_line}")
    return DuckwifiError(f"{target}: {type(error).__name__}: {first_line}")


_CSV_LINE = re.compile(r"CSV Error on Line: (\d+)")
_CONVERSION = re.compile(r'Error when converting column "([^"]+)"\. (Could not convert string "(.*?)" to \'(\w+)\')')
_COLUMN_COUNT = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")


def translate_reader_error(error: Exception, source: Path) -> DuckwifiError:
    """Turn DuckDB's CSV reader error for ``source`` into a rejection naming the line and the reason."""
    if is_disk_full(error):
        return translate(error, target=str(source))
    message = str(error)
    line_match = _CSV_LINE.search(message)
    line = int(line_match[1]) if line_match else None
    if conversion := _CONVERSION.search(message):
        column, _, value, type_name = conversion.groups()
        reason = f'column {column}: "{value}" is not a valid {type_name}'
    elif count := _COLUMN_COUNT.search(message):
        reason = f"expected {count[1]} columns, found {count[2]}"
    elif "Invalid unicode" in message:
        reason = "invalid UTF-8"
    elif "unterminated quote" in message.lower():
        reason = "unterminated quote"
    elif "state machine reached an invalid state" in message or "RFC 4180" in message:
        reason = "not a well-formed CSV file"
    else:
        first = message.strip().splitlines()[0] if message.strip() else type(error).__name__
        reason = re.sub(r"^[\w ]+Error: ", "", first)
    return InputRejected(source, reason, line)


class StatementRefused(DuckwifiError):
    """`duckwifi sql` runs queries only: a statement that would write or change settings is refused."""

    exit_code = ExitCode.STATEMENT_REFUSED
