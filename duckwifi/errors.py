"""The one exception tree of duckwifi, its exit codes, and the one place DuckDB errors are translated."""

from __future__ import annotations

import errno
import os
import re
import threading
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
    FOREIGN_LAKE = 10  # the lake's marker names another warehouse, or a warehouse this one is a copy of
    SECOND_LAKE = 11  # the warehouse already has another lake
    CHECK_FOUND_PROBLEMS = 12  # `check` found missing, damaged or orphan lake files, or damaged rollups
    REPAIR_INCOMPLETE = 13  # `check --repair` could not repair everything (a source CSV is gone or changed)
    STATEMENT_REFUSED = 14  # `duckwifi sql` refused a statement that writes
    READ_ONLY = 15  # the warehouse, the lake or an output folder is on a read-only filesystem
    PORT_IN_USE = 16  # `serve` could not bind its address
    LAKE_UNREADABLE = 17  # `serve` found no readable lake or rollups; `sql`, `convert`, `forget`: the lake is gone
    EXTRA_MISSING = 18  # an optional extra (such as duckwifi[distributed]) is not installed
    SCHEDULER_UNREACHABLE = 19  # the Dask scheduler cannot be reached
    WORKERS_GONE = 20  # every Dask worker left mid-run
    WORKER_CANNOT_SEE_PATH = 21  # a Dask worker cannot see SRC or write to LAKE
    OUTPUT_CLOSED = 141  # stdout was closed early (`| head`), as a shell reports a death by SIGPIPE
    INTERRUPTED = 130  # Ctrl-C or SIGTERM: temporary files removed, the clock and ledger as they were


class DuckwifiError(Exception):
    """Root of every expected failure; the CLI prints ``str(error)`` as one line and exits with ``exit_code``."""

    exit_code: ExitCode = ExitCode.INTERNAL


class BadArgument(DuckwifiError):
    exit_code = ExitCode.USAGE


class WarehouseMissing(DuckwifiError):
    exit_code = ExitCode.NOT_INITIALIZED

    @classmethod
    def at(cls, root: object, first: str = "`duckwifi init` (or `duckwifi tick`)") -> WarehouseMissing:
        """The one wording of "no warehouse here", with what to run ``first``."""
        return cls(f"no warehouse at {root}; run {first} first")


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
    """`serve` cannot read the warehouse's lake or its rollup store, or the recorded lake folder is gone."""

    exit_code = ExitCode.LAKE_UNREADABLE

    @classmethod
    def gone(cls, lake: object) -> LakeUnreadable:
        """The one wording of "the recorded lake folder is not there" (`sql`, `convert` into it, `forget`)."""
        return cls(
            f"the lake {lake} is gone (moved, or on a disk that is not mounted); "
            "`duckwifi convert SRC NEW_PATH` re-points the warehouse to a moved lake"
        )


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


class OutputClosed(DuckwifiError):
    """The reader of stdout went away (a pipe into `head`) before everything was written."""

    exit_code = ExitCode.OUTPUT_CLOSED


class ReadOnlyFilesystem(DuckwifiError):
    """The warehouse, the lake or an output folder lies on a filesystem mounted read-only (EROFS)."""

    exit_code = ExitCode.READ_ONLY


class PermissionDenied(BadArgument):
    """The user may not write (or read) a path given on the command line."""


class Interrupted(DuckwifiError):
    """Ctrl-C or SIGTERM; whatever was in flight has been undone."""

    exit_code = ExitCode.INTERRUPTED


class LakeHoldsOtherFiles(BadArgument):
    """The lake folder holds Parquet files that are not the lake's own, or the warehouse itself."""


class ClockExhausted(BadArgument):
    """Writing the hours asked for would go past the last hour that can be written (2068-12-31 23:00)."""


class OutputInTheWay(BadArgument):
    """An hour's CSV name is taken by a file that this warehouse did not write."""


# --- Signals -----------------------------------------------------------------------------------------------
# DuckDB turns a Ctrl-C that arrives while a query runs into a RuntimeError("Query interrupted") (not even a
# duckdb.Error), so the type of what surfaces cannot say "interrupted". The CLI's signal handler records the
# signal here instead, and translate() asks.
_interrupted = threading.Event()


def note_interrupt() -> None:
    """Called by the CLI's SIGINT/SIGTERM handler before it raises KeyboardInterrupt."""
    _interrupted.set()


def was_interrupted() -> bool:
    return _interrupted.is_set()


# --- The operating system's condition behind an error --------------------------------------------------------
_DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})
_PERMISSION_ERRNOS = frozenset({errno.EACCES, errno.EPERM})
_KNOWN_ERRNOS = (*_DISK_FULL_ERRNOS, errno.EROFS, *_PERMISSION_ERRNOS)
# DuckDB reports a failed system call as text: sometimes with a structured "errno" field, otherwise with the C
# library's strerror() text appended. Recovering the errno from those two is the only place duckwifi reads a
# DuckDB I/O message; everything after works on the number.
_DUCKDB_ERRNO_FIELD = re.compile(r'"errno":\s*"?(\d+)')
# DuckDB's one report of a short write that names no errno: it happens when the disk fills mid-write.
_DUCKDB_SHORT_WRITE = "could not write all bytes"


def os_errno(error: BaseException) -> int | None:
    """The errno behind an OSError, or behind a DuckDB I/O error that reports a failed system call."""
    if isinstance(error, OSError):
        return error.errno
    # Only the types that report system calls: a CSV reader error quotes input values, which could say anything.
    if not isinstance(error, duckdb.IOException | duckdb.OutOfMemoryException):
        return None
    message = str(error)
    if field := _DUCKDB_ERRNO_FIELD.search(message):
        return int(field[1])
    for code in _KNOWN_ERRNOS:
        if os.strerror(code) in message:
            return code
    if _DUCKDB_SHORT_WRITE in message.lower():
        return errno.ENOSPC
    return None


class ForeignLake(DuckwifiError):
    """The lake's marker names another warehouse."""

    exit_code = ExitCode.FOREIGN_LAKE


class SecondLake(DuckwifiError):
    """The warehouse already has its one lake elsewhere."""

    exit_code = ExitCode.SECOND_LAKE


class CheckFoundProblems(DuckwifiError):
    """`duckwifi check` found missing, damaged or orphan lake files."""

    exit_code = ExitCode.CHECK_FOUND_PROBLEMS


class RepairIncomplete(DuckwifiError):
    """`duckwifi check --repair` left problems it could not repair (a source CSV gone or changed)."""

    exit_code = ExitCode.REPAIR_INCOMPLETE


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
    """True for ENOSPC/EFBIG/EDQUOT, whether raised by the OS or reported by DuckDB."""
    return os_errno(error) in _DISK_FULL_ERRNOS


def is_lock_conflict(error: BaseException) -> bool:
    """DuckDB's refusal to open a database file another process holds.

    DuckDB gives this condition no exception type or errno of its own (it is an IOException like any other), so
    its wording is matched here, in the one module that translates DuckDB errors."""
    text = str(error)
    return isinstance(error, duckdb.IOException) and ("Could not set lock" in text or "Conflicting lock" in text)


def is_interrupt(error: BaseException) -> bool:
    return was_interrupted() or isinstance(error, KeyboardInterrupt | duckdb.InterruptException)


def first_line(error: BaseException) -> str:
    """The first line of an error's message (DuckDB's run on with context lines), or its type's name."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def translate(error: BaseException, *, target: str) -> DuckwifiError:
    """Map a DuckDB or OS error met while working on ``target`` to the duckwifi error named for its condition.

    An error with no known condition becomes a plain :class:`DuckwifiError` (callers may refine it)."""
    if isinstance(error, DuckwifiError):
        return error
    if is_interrupt(error):
        return Interrupted("interrupted")
    code = os_errno(error)
    shown = printable(target)
    if code in _DISK_FULL_ERRNOS:
        return DiskFull(f"disk full while writing {shown}; free some space and run the command again")
    if code == errno.EROFS:
        return ReadOnlyFilesystem(
            f"read-only file system: cannot write {shown}; remount it read-write or choose a writable folder"
        )
    if code in _PERMISSION_ERRNOS:
        filename = getattr(error, "filename", None)
        return PermissionDenied(f"permission denied: {printable(str(filename or target))}")
    if is_lock_conflict(error):
        return WarehouseBusy(f"warehouse busy: {shown} is held by another process; try again when it finishes")
    first = first_line(error)
    if isinstance(error, duckdb.Error | OSError):
        return DuckwifiError(f"{shown}: {printable(first)}")
    return DuckwifiError(f"{shown}: {type(error).__name__}: {printable(first)}")


# --- Text from input files -------------------------------------------------------------------------------
# Control characters (C0, DEL, C1) and Unicode's line and paragraph separators: any of them echoed raw could
# end a line of output early, or rewrite the terminal, and so forge a line of `status`.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """``text`` with every control character escaped (``\\n``, ``\\x1b``...), safe to show on one line."""
    return _UNPRINTABLE.sub(lambda match: match[0].encode("unicode_escape").decode("ascii"), text)


_CSV_LINE = re.compile(r"CSV Error on Line: (\d+)")
_CONVERSION = re.compile(r'Error when converting column "([^"]+)"\. (Could not convert string "(.*?)" to \'(\w+)\')')
_COLUMN_COUNT = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")


def translate_reader_error(error: Exception, source: Path, *, writing: Path) -> DuckwifiError:
    """Turn DuckDB's CSV reader error for ``source`` into a rejection naming the line and the reason; a full
    disk is not the source's fault, and names ``writing``, where the rows were going.

    DuckDB's CSV reader gives one exception type (a ConversionException or InvalidInputException) for every
    kind of bad input, and the line and column only in its text: naming the reason needs its wording. This is
    the one place duckwifi reads it; whether a file is rejected at all never depends on it."""
    if is_disk_full(error):
        return translate(error, target=str(writing))
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
        reason = re.sub(r"^[\w ]+Error: ", "", first_line(error))
    return InputRejected(source, reason, line)


class StatementRefused(DuckwifiError):
    """`duckwifi sql` runs queries only: a statement that would write or change settings is refused."""

    exit_code = ExitCode.STATEMENT_REFUSED


class ExtraMissing(DuckwifiError):
    """An optional feature was asked for, but the extra that provides it is not installed."""

    exit_code = ExitCode.EXTRA_MISSING


class SchedulerUnreachable(DuckwifiError):
    exit_code = ExitCode.SCHEDULER_UNREACHABLE


class WorkersGone(DuckwifiError):
    """No Dask worker is left to run the remaining tasks (or they kept dying on the same task)."""

    exit_code = ExitCode.WORKERS_GONE


class WorkerCannotSeePath(DuckwifiError):
    """A Dask worker cannot read SRC or write LAKE (or an out folder, or the warehouse): not a shared filesystem."""

    exit_code = ExitCode.WORKER_CANNOT_SEE_PATH
