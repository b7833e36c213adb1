"""Per-thread cursors belong to their owner, not to the threads: a thread's end never destroys one (which at
interpreter shutdown aborts the process, duckdb/duckdb#13904); ``close()`` or a live thread does."""

from __future__ import annotations

import threading

import duckdb
import pytest

from duckwifi.cursors import ThreadCursor, ThreadCursors


def in_thread(cursors: ThreadCursors) -> ThreadCursor:
    got: list[ThreadCursor] = []
    worker = threading.Thread(target=lambda: got.append(cursors.get()))
    worker.start()
    worker.join()
    return got[0]


def test_each_thread_has_its_own_cursor_and_keeps_it():
    db = duckdb.connect()
    cursors = ThreadCursors(db.cursor)
    mine = cursors.get()
    assert cursors.get() is mine
    assert in_thread(cursors) is not mine
    db.close()


def test_a_cursor_outlives_its_thread_until_close_which_closes_every_one():
    db = duckdb.connect()
    cursors = ThreadCursors(db.cursor)
    theirs = in_thread(cursors)
    # The thread has ended; its cursor is still held, and still works.
    assert len(cursors) == 1
    assert theirs.connection.execute("SELECT 42").fetchone() == (42,)
    mine = cursors.get()
    cursors.close()
    assert len(cursors) == 0
    for cursor in (theirs, mine):
        with pytest.raises(duckdb.ConnectionException):
            cursor.connection.execute("SELECT 1")
    db.close()


def test_a_gone_threads_cursor_is_closed_by_the_next_thread_that_needs_one():
    db = duckdb.connect()
    cursors = ThreadCursors(db.cursor)
    theirs = in_thread(cursors)
    cursors.get()
    assert len(cursors) == 1
    with pytest.raises(duckdb.ConnectionException):
        theirs.connection.execute("SELECT 1")
    cursors.close()
    db.close()
