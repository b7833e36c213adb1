"""One DuckDB cursor per thread, owned by the object that serves the threads rather than by the threads.

A server answers from a pool of threads, and each needs its own cursor (a DuckDB connection is not safe to
share). Keeping the cursors in ``threading.local`` ties a cursor's end to its thread's: a pool thread that
ends while the interpreter shuts down then destroys its cursor, DuckDB's destructor releases the GIL, the
thread cannot take it back, and the process aborts (exit 134, duckdb/duckdb#13904). Here a cursor is only
ever dropped by ``close()`` or by a live thread that finds its owner gone, never by the owner's exit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb


@dataclass
class ThreadCursor:
    """A thread's cursor and what that thread left in it: for each temporary table it filled (by the statement
    that filled it), the key of what it holds, so that the next question needing the same rows reuses them."""

    connection: duckdb.DuckDBPyConnection
    filled: dict[str, object] = field(default_factory=dict)


class ThreadCursors:
    """Hands each thread its own cursor, made by ``make`` on the thread's first use."""

    def __init__(self, make: Callable[[], duckdb.DuckDBPyConnection]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._by_thread: dict[int, ThreadCursor] = {}

    def get(self) -> ThreadCursor:
        ident = threading.get_ident()
        with self._lock:
            held = self._by_thread.get(ident)
        if held is not None:
            return held
        made = ThreadCursor(self._make())
        with self._lock:
            live = {thread.ident for thread in threading.enumerate()}
            gone = [self._by_thread.pop(owner) for owner in list(self._by_thread) if owner not in live]
            self._by_thread[ident] = made
        _close_all(gone)
        return made

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_thread)

    def close(self) -> None:
        with self._lock:
            held = list(self._by_thread.values())
            self._by_thread.clear()
        _close_all(held)


def _close_all(cursors: list[ThreadCursor]) -> None:
    for cursor in cursors:
        cursor.connection.close()
