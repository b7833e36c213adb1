"""``duckwifi convert SRC LAKE``: each CSV file, independently, into the partitioned Parquet lake, exactly once.

One source file is the unit of work, so a distributed scheduler can later spread files over machines:

1. **Check** the file cheaply (not empty, exact header, ends with a newline) and fingerprint it (size, mtime,
   SHA-256). Unchanged files already in the ledger are skipped.
2. **Stage** (staging.py): one COPY, in an in-memory DuckDB connection (never the warehouse's), writes the
   file's partitions to ``LAKE/_staging/<key>/`` as ``*.parquet.partial``. A bad row aborts the COPY: nothing
   of the file reaches the lake. Neither ``_staging`` nor the ``.partial`` suffix matches ``LAKE/**/*.parquet``.
   With ``--max-bad-rows`` the COPY sets malformed rows aside instead, into ``set_aside.csv`` in the same
   staging folder. The source's rollup unit is then written from the staged files, complete but unlisted.
   Staging runs wherever the run's stager puts it: here, or on a Dask worker.
3. **Record** (ledger.py) the staged outputs in the warehouse as 'publishing', after the checks against the
   lake; the set-aside rows become ``rejects/<key>.csv`` in the warehouse just before.
4. **Publish** (publishing.py): rename each staged file to its final name (atomic per file), delete outputs of
   an older version of the source, list its rollup unit in the manifest, then mark the ledger row 'done'
   (with the run's next ledger write).

A kill before 3 leaves only staging, which the next run deletes; a kill during 4 is finished by the next run
from the ledger. Output names derive from the source, so re-converting a source only ever replaces its own files.
This module only orchestrates the steps.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

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
    held_while_staging,
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
from duckwifi.fsutil import fsync_file, temp_path_for
from duckwifi.fsutil import publish as publish_file
from duckwifi.queries import GLOB_CHARACTERS
from duckwifi.rollups import hooks as rollup_hooks
from duckwifi.rollups.store import Unit
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
    # Converted files found under a new path (their old one is gone): (new path, old path).
    moved: list[tuple[Path, Path]] = field(default_factory=list)
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
    temporaries) excluded. A link is followed to its file; a broken link is listed under its own name, so that
    convert rejects it rather than skip it in silence."""
    if not src.is_dir():
        raise BadArgument(f"source folder {src} does not exist or is not a folder")
    found = {p for pattern in SOURCE_PATTERNS for p in src.glob(pattern) if not p.name.startswith(".")}
    files = {p.resolve() for p in found if p.is_file()}
    broken_links = {p.absolute() for p in found if p.is_symlink() and not p.exists()}
    return sorted(files | broken_links)


def convert(
    warehouse: Warehouse,
    src: Path,
    lake: Path,
    *,
    replace_changed: bool = False,
    min_age_s: float = 0.0,
    max_bad_rows: int = 0,
    on_file: Callable[[Path], None] | None = None,
    on_converted: Callable[[Converted], None] | None = None,
    stage_sources: SourceStagerFactory | None = None,
) -> ConvertReport:
    """Convert every new CSV file in ``src`` into ``lake``; the caller holds the warehouse's "convert" lock.

    Staging runs wherever ``stage_sources`` runs it (here by default; on Dask workers for ``--workers``, see
    duckwifi.distributed); checking, recording and publishing always run here, as each staging completes.
    ``on_converted`` hears of each source as soon as its files are published (in the order stagings complete),
    so a run stopped midway has reported every source it published.
    """
    sources = list_sources(src)
    check_lake_folder(warehouse, lake.resolve(), src)
    claim = claim_lake(warehouse, lake)
    lake = claim.lake
    # After the claim: a moved lake is re-pointed first, so that the `rollup --rebuild` this may ask for finds it.
    rollup_hooks.refuse_damaged(warehouse)
    with connect(warehouse) as con:
        converted_before = len(read_ledger(con, lake))
    rollup_hooks.open_store(warehouse, lake, converted_sources=converted_before)  # rollups (issue 12)
    report = ConvertReport(moved_from=claim.moved_from)
    # Also publishes the rollup units of sources a killed run left 'publishing', and deletes unlisted ones.
    report.recovered = recover(warehouse, lake)
    with connect(warehouse) as con:
        entries = read_ledger(con, lake)

    ledger = Ledger(warehouse, lake)
    # One reader for the whole run: starting a DuckDB instance costs about 30 ms, which a folder of many
    # small files would pay per file.
    with (
        contract_reader(warehouse) as reader,
        (stage_sources or stage_sources_here(warehouse))(lake, reader) as stager,
    ):
        newest_mtime_ns = time.time_ns() - int(min_age_s * 1e9) if min_age_s > 0 else None
        run = _Run(ledger, reader, entries, report, replace_changed, max_bad_rows, newest_mtime_ns, on_converted)
        for source in sources:
            try:
                job = run.plan(source)
            except (InputRejected, OSError) as error:
                run.reject(source, error)
                job = None
            if job is not None:
                stager.submit(job)
            elif on_file is not None:
                on_file(source)
            run.finish_each(stager.completed(wait=False), on_file)
        run.finish_each(stager.completed(wait=True), on_file)
    # Every staging has completed: units left unlisted (a worker killed mid-task, a rejected source) go.
    rollup_hooks.remove_unpublished(warehouse)  # rollups (issue 12)
    # Workers finish in any order; the report lists sources in the order a local run converts them.
    report.converted.sort(key=lambda converted: converted.source)
    report.rejected.sort(key=lambda rejection: rejection.path)

    ledger.flush()
    readers.refresh(warehouse, lake)
    rollup_hooks.write_digests(warehouse)  # rollups (issue 12): day digests of complete days
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
        on_converted: Callable[[Converted], None] | None = None,
    ) -> None:
        self.on_converted = on_converted
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

    def plan(self, source: Path) -> StagingJob | None:
        """The staging ``source`` needs, or None when it is skipped (unchanged, too new, same content...)."""
        entry = self.entries.get(str(source))
        report = self.report
        if source.is_symlink() and not source.exists():
            raise InputRejected(source, f"a link to {os.readlink(source)}, which does not exist")
        stat = source.stat()
        if self.newest_mtime_ns is not None and stat.st_mtime_ns > self.newest_mtime_ns:
            report.too_new.append(source)
            return None
        if entry is not None and (entry.byte_count, entry.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
            report.unchanged.append(source)
            self._note_missing_outputs(source, entry)
            return None
        check_shape(source, stat.st_size)
        if set(source.name) & GLOB_CHARACTERS:
            raise InputRejected(source, "its name holds a character DuckDB reads as a file pattern; rename it")
        if entry is None:
            twin = self._same_content(source, stat.st_size)
            if twin is not None:
                self._skip_same_content(source, twin, stat.st_mtime_ns)
                return None
            return StagingJob(source, stat.st_size, stat.st_mtime_ns, max_bad_rows=self.max_bad_rows)
        sha256 = sha256_of(source)
        if entry.sha256 == sha256:
            self.ledger.touch(source, stat.st_mtime_ns)
            report.unchanged.append(source)
            return None
        if not self.replace_changed:
            report.changed.append(source)
            return None
        return StagingJob(
            source, stat.st_size, stat.st_mtime_ns, previous_outputs=entry.outputs, max_bad_rows=self.max_bad_rows
        )

    def reject(self, source: Path, error: InputRejected | OSError) -> None:
        rejection = _as_rejection(error, source, self.ledger.lake)
        self.report.rejected.append(rejection)
        self.ledger.record_rejection(rejection)

    def finish_each(
        self, completed: Iterator[tuple[StagingJob, StageOutcome]], on_file: Callable[[Path], None] | None
    ) -> None:
        """Check, record and publish each staged source as its staging completes."""
        for job, outcome in completed:
            try:
                self.finish(job, outcome)
            except (InputRejected, OSError) as error:
                self.reject(job.source, error)
            finally:
                if on_file is not None:
                    on_file(job.source)

    def finish(self, job: StagingJob, outcome: StageOutcome) -> None:
        if isinstance(outcome, StagingRejected):
            raise InputRejected(job.source, outcome.reason, outcome.line)
        twin = self.by_content.get(outcome.sha256)
        if twin is not None and str(job.source) not in self.entries:
            # Two files with one content staged side by side (on workers): the later one is a copy, as a
            # local run, which converts them one after the other, finds before staging it.
            shutil.rmtree(self.ledger.lake / STAGING_DIR / source_key(job.source), ignore_errors=True)
            rollup_hooks.discard(self.ledger.warehouse, outcome.rollup_unit)  # rollups (issue 12)
            self._skip_same_content(job.source, twin, job.mtime_ns)
            return
        converted, entry = finish_source(self.ledger, self.reader, job, outcome, owner_of=self.owner_of)
        self.report.converted.append(converted)
        if self.on_converted is not None:
            self.on_converted(converted)
        self.owner_of.update(dict.fromkeys(entry.outputs, str(job.source)))
        self.entries[str(job.source)] = entry
        self.by_content[entry.sha256] = str(job.source)

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
        """A file already converted under another path: a copy is skipped; a moved file takes over the record
        (and its rollup unit, issue 12)."""
        if Path(twin).exists():
            self.report.same_content.append((source, Path(twin)))
            return
        self.report.moved.append((source, Path(twin)))
        self.ledger.move(twin, source, mtime_ns)
        rollup_hooks.move_source(self.ledger.warehouse, twin, str(source))  # rollups (issue 12)
        entry = self.entries.pop(twin)
        self.entries[str(source)] = LedgerEntry(
            entry.byte_count, mtime_ns, entry.sha256, entry.status, entry.outputs, entry.retired
        )
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
    job = StagingJob(source, byte_count, mtime_ns, previous_outputs, max_bad_rows)
    outcome = stage_source(ledger.warehouse, reader, ledger.lake, job)
    if isinstance(outcome, StagingRejected):
        raise InputRejected(source, outcome.reason, outcome.line)
    return finish_source(ledger, reader, job, outcome, owner_of=owner_of)


@dataclass(frozen=True)
class StagingJob:
    """A source file to convert, with the size and mtime it had when the run looked at it, and how many
    malformed rows its staging may set aside (--max-bad-rows; 0: a malformed row rejects the file)."""

    source: Path
    byte_count: int
    mtime_ns: int
    previous_outputs: tuple[str, ...] = ()
    max_bad_rows: int = 0


@dataclass(frozen=True)
class Staged:
    """A source's Parquet files, checked and fsynced under ``LAKE/_staging/<key>/``, with the rows it set
    aside (in ``set_aside.csv`` beside them when there are any)."""

    rows: int
    sha256: str
    outputs: tuple[str, ...]
    output_bytes: tuple[int, ...]
    set_aside: int = 0
    # Rollups (issue 12): the source's unit, written complete in the store but not listed; None without rows.
    rollup_unit: Unit | None = None


@dataclass(frozen=True)
class StagingRejected:
    """Staging found the source breaks the contract: a value, not an exception, so no scheduler retries it."""

    reason: str
    line: int | None


StageOutcome = Staged | StagingRejected


class SourceStager(Protocol):
    """Runs stage_source for submitted jobs, somewhere, and hands back their outcomes as they complete."""

    def submit(self, job: StagingJob) -> None: ...

    def completed(self, *, wait: bool) -> Iterator[tuple[StagingJob, StageOutcome]]:
        """The jobs finished so far (``wait``: every submitted job, waiting for each), in any order."""
        ...


SourceStagerFactory = Callable[[Path, duckdb.DuckDBPyConnection], AbstractContextManager[SourceStager]]


class _StageHere:
    """The local stager: a job is staged in this process when its outcome is asked for, right after it is
    submitted, so a local run stages, records and publishes one file before it looks at the next."""

    def __init__(self, warehouse: Warehouse, lake: Path, reader: duckdb.DuckDBPyConnection) -> None:
        self.warehouse, self.lake, self.reader = warehouse, lake, reader
        self.pending: list[StagingJob] = []

    def submit(self, job: StagingJob) -> None:
        self.pending.append(job)

    def completed(self, *, wait: bool) -> Iterator[tuple[StagingJob, StageOutcome]]:
        while self.pending:
            job = self.pending.pop(0)
            yield job, stage_source(self.warehouse, self.reader, self.lake, job)


def stage_sources_here(warehouse: Warehouse) -> SourceStagerFactory:
    @contextlib.contextmanager
    def open_stager(lake: Path, reader: duckdb.DuckDBPyConnection) -> Iterator[SourceStager]:
        yield _StageHere(warehouse, lake, reader)

    return open_stager


# The rows a lenient staging set aside, beside its Parquet files; finish_source moves them into the warehouse.
SET_ASIDE_FILE = "set_aside.csv"


def stage_source(warehouse: Warehouse, reader: duckdb.DuckDBPyConnection, lake: Path, job: StagingJob) -> StageOutcome:
    """Stage one source under ``LAKE/_staging/<key>/``, checksum it, check its own keys, set its malformed
    rows aside (``job.max_bad_rows``) and write its rollup unit (unlisted); the local path and Dask workers
    both run this, holding a lock on the source. A source that breaks the contract, or cannot be read, comes
    back as a StagingRejected value with its staging removed; any other failure (disk full, a bug) is raised."""
    with held_while_staging(job.source):
        return _stage_held(warehouse, reader, lake, job)


def _stage_held(warehouse: Warehouse, reader: duckdb.DuckDBPyConnection, lake: Path, job: StagingJob) -> StageOutcome:
    source = job.source
    key = source_key(source)
    staging = lake / STAGING_DIR / key
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        # A source gone since the run listed it is "cannot read", as when the run finds it gone itself.
        source.stat()
        # The checksum reads the file while DuckDB converts it: hashlib releases the GIL, and the second
        # read comes from the page cache, so it costs almost no wall time.
        with ThreadPoolExecutor(max_workers=1) as pool:
            checksum = pool.submit(sha256_of, source)
            rows = stage(warehouse, reader, source, staging, key, lenient=job.max_bad_rows > 0)
            sha256 = checksum.result()
        staged = sorted(staging.rglob(f"*{STAGED_SUFFIX}"))
        refuse_repeated_keys(warehouse, reader, source, staged)
        # DuckDB's reject tables live in this reader, so the rows are written here; the warehouse's rejects
        # file is only replaced once the client's checks against the lake pass (finish_source).
        set_aside = (
            set_aside_rows(reader, source, job.max_bad_rows, staging / SET_ASIDE_FILE) if job.max_bad_rows > 0 else 0
        )
        for path in staged:
            fsync_file(path)
        output_bytes = tuple(path.stat().st_size for path in staged)
        # Rollups (issue 12): the unit is made here too, where the staged files are (a worker's page cache).
        rollup_unit = rollup_hooks.stage(warehouse, reader, source, key, staged, sha256)
    except BaseException as error:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(error, InputRejected | OSError):
            rejection = _as_rejection(error, source, lake)
            return StagingRejected(rejection.reason, rejection.line)
        raise
    outputs = tuple(str(p.relative_to(staging))[: -len(STAGED_SUFFIX)] for p in staged)
    return Staged(rows, sha256, outputs, output_bytes, set_aside, rollup_unit)


def finish_source(
    ledger: Ledger,
    reader: duckdb.DuckDBPyConnection,
    job: StagingJob,
    staged: Staged,
    *,
    owner_of: Mapping[str, str],
) -> tuple[Converted, LedgerEntry]:
    """Check against the lake, record and publish one staged source; always in the process holding the ledger."""
    source, lake = job.source, ledger.lake
    key = source_key(source)
    staging = lake / STAGING_DIR / key
    rejects_file = ledger.warehouse.rejects_dir / f"{key}.csv"
    rollup_unit = staged.rollup_unit  # rollups (issue 12): made with the staging, published here
    try:
        after = source.stat()
        if (after.st_size, after.st_mtime_ns) != (job.byte_count, job.mtime_ns):
            raise InputRejected(source, "the file changed while it was being converted; it will be retried")
        refuse_overlaps(reader, source, lake, staging, staged.outputs, owner_of)
        if staged.set_aside:
            # After every other check, so that a source rejected for another reason leaves no rejects file.
            _keep_set_aside_rows(staging / SET_ASIDE_FILE, rejects_file)
        retired = tuple(sorted(set(job.previous_outputs) - set(staged.outputs)))
        recorded = LedgerEntry(
            job.byte_count,
            job.mtime_ns,
            staged.sha256,
            "publishing",
            staged.outputs,
            retired,
            staged.output_bytes,
            staged.set_aside,
        )
        ledger.record_conversion(source, recorded, staged.rows)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        rollup_hooks.discard(ledger.warehouse, rollup_unit)  # rollups (issue 12)
        raise
    publish(staging, lake, staged.outputs, retired)
    rollup_hooks.publish(ledger.warehouse, lake, source, rollup_unit)  # rollups (issue 12)
    shutil.rmtree(staging, ignore_errors=True)
    if not staged.set_aside:
        # An earlier version of this source may have set rows aside; this one has none.
        rejects_file.unlink(missing_ok=True)
    ledger.published(source)
    return Converted(source, staged.rows, staged.outputs, staged.set_aside), recorded


def _keep_set_aside_rows(staged_rows: Path, rejects_file: Path) -> None:
    """Copy the staged set-aside rows to the warehouse's rejects folder, by temp file and rename: LAKE and the
    warehouse may be on different filesystems, and the file is small (at most --max-bad-rows rows)."""
    rejects_file.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path_for(rejects_file)
    try:
        shutil.copyfile(staged_rows, temp)
        publish_file(temp, rejects_file)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def raise_for_outcome(report: ConvertReport) -> None:
    """The exit status of a convert run: rejected files first, then changed ones."""
    if report.rejected:
        raise FilesRejected(f"{len(report.rejected)} file(s) rejected; fix them and run convert again")
    if report.changed:
        raise SourceChanged(
            f"{len(report.changed)} converted file(s) changed since; rerun with --replace-changed to replace "
            "their output"
        )
