"""Publishing staged files into the lake: renames (atomic per file), retirement of an older version's files,
and finishing what a killed run had recorded but not yet renamed."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import duckdb

from duckwifi.converter.ledger import finish_forgetting, list_forgetting, mark_published, read_ledger
from duckwifi.converter.staging import STAGED_SUFFIX, STAGING_DIR, source_key
from duckwifi.fsutil import fsync_dir
from duckwifi.rollups import hooks as rollup_hooks
from duckwifi.rollups.store import remove_sources as remove_rollup_sources
from duckwifi.warehouse import Warehouse, connect


def publish(staging: Path, lake: Path, outputs: tuple[str, ...], retired: tuple[str, ...]) -> None:
    """Rename staged files into the lake (idempotent: a file already moved is skipped), then drop retired ones."""
    touched_dirs: set[Path] = set()
    for relative in outputs:
        staged = staging / f"{relative}{STAGED_SUFFIX}"
        final = lake / relative
        if staged.exists():
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, final)
            touched_dirs.add(final.parent)
    touched_dirs |= remove_files(lake, retired)
    for folder in touched_dirs:
        fsync_dir(folder)


def remove_files(lake: Path, relatives: tuple[str, ...]) -> set[Path]:
    """Unlink lake files (each disappears atomically; one already gone is skipped); returns their folders."""
    touched: set[Path] = set()
    for relative in relatives:
        with contextlib.suppress(FileNotFoundError):
            (lake / relative).unlink()
            touched.add((lake / relative).parent)
    return touched


def finish_interrupted(warehouse: Warehouse, con: duckdb.DuckDBPyConnection, lake: Path) -> int:
    """Complete the publishing of sources a killed run had staged and recorded; returns how many.

    Lake files first, then the sources' rollup units, then the ledger says 'done': a kill anywhere in between
    leaves the rows 'publishing', and the next run does it all again (each step is idempotent)."""
    interrupted = {source: entry for source, entry in read_ledger(con, lake).items() if entry.status == "publishing"}
    for source, entry in interrupted.items():
        staging = lake / STAGING_DIR / source_key(Path(source))
        publish(staging, lake, entry.outputs, entry.retired)
    rollup_hooks.finish_interrupted(  # rollups (issue 12)
        warehouse, lake, {source: (entry.sha256, entry.outputs) for source, entry in interrupted.items()}, source_key
    )
    for source in interrupted:
        mark_published(con, lake, source)
    return len(interrupted)


def forget_files(
    warehouse: Warehouse, con: duckdb.DuckDBPyConnection, lake: Path, source: str, outputs: tuple[str, ...]
) -> None:
    """Withdraw a forgotten source's rollup unit, delete its lake files (each atomically), then close its
    journal entry. Each step is idempotent, so a run that finds the entry still open simply does it again."""
    remove_rollup_sources(warehouse, [source])
    for folder in remove_files(lake, outputs):
        fsync_dir(folder)
    finish_forgetting(con, lake, source)


def recover(warehouse: Warehouse, lake: Path) -> int:
    """Finish what killed runs left: publishing recorded but not done, forgetting journalled but not done,
    and staging never recorded, lake files and rollup units alike (deleted). Returns how many sources were
    finished. Only while nothing is being staged: the caller holds the warehouse's "convert" lock."""
    with connect(warehouse, create=True) as con:
        finished = finish_interrupted(warehouse, con, lake)
        for source, outputs in list_forgetting(con, lake):
            forget_files(warehouse, con, lake, source, outputs)
            finished += 1
    shutil.rmtree(lake / STAGING_DIR, ignore_errors=True)
    rollup_hooks.remove_unpublished(warehouse)  # rollups (issue 12)
    return finished
