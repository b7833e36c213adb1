"""Scale-out on Dask distributed: where `convert` and `tick` stage their work, and nothing more.

The single-machine path is the default and does not import Dask: this module imports ``distributed`` only
when ``--workers`` or a scheduler is asked for, so the hourly commands start as fast as before.

Division of labour (the same code path as the local run; Dask only decides where staging runs):

- **Workers stage.** A task per source file runs :func:`duckwifi.converter.lake.stage_source` (DuckDB on the
  worker, writing under ``LAKE/_staging/``, then the source's rollup unit, unlisted); a task per hour runs
  :func:`duckwifi.generator.hours.stage_hour`
  (the hour's CSV under its hidden temporary name). A source that breaks the contract comes back as a value,
  never as an exception, so Dask never retries it as if it were a crash; Dask reruns a task only when the
  worker running it dies, and staging is idempotent (a rerun starts from an empty staging folder).
- **The client publishes.** Only the client opens ``state.duckdb``: it checks, records and publishes each
  source (lake files, then its rollup unit) as its task completes, and publishes hours (rename, then the
  clock) strictly in hour order.

Assumption: SRC, LAKE, the tick output folder and the warehouse folder are on a filesystem every worker sees
at the same path (NFS, a shared volume). Each worker checks that before any work (:func:`require_paths`).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import duckdb

from duckwifi.contract import HOUR_FILE_NAME
from duckwifi.converter.lake import (
    SourceStager,
    SourceStagerFactory,
    StageOutcome,
    StagingJob,
    stage_source,
)
from duckwifi.converter.publishing import recover
from duckwifi.converter.staging import STAGING_DIR, contract_reader, source_key
from duckwifi.errors import (
    BadArgument,
    DuckwifiError,
    ExtraMissing,
    SchedulerUnreachable,
    WorkerCannotSeePath,
    WorkersGone,
    translate,
)
from duckwifi.fsutil import remove_temps
from duckwifi.generator.hours import HourStager, StagedHour, prepare_hours, stage_hour
from duckwifi.warehouse import GeneratorState, Warehouse, work_connection

if TYPE_CHECKING:
    import distributed

SCHEDULER_ENV = "DUCKWIFI_SCHEDULER"
INSTALL_HINT = "pip install 'duckwifi[distributed]'"
# How long to wait for a scheduler to answer, and for a first worker to join it.
CONNECT_TIMEOUT_S = 10.0
# How long a worker process that outlived its cluster's close gets to end on SIGTERM before SIGKILL.
_WORKER_STOP_S = 5.0
# How long the run tolerates having no worker at all before it stops. A local cluster's nanny restarts a
# killed worker within about a second, so only a cluster that has really lost its workers waits this long.
WORKERS_GONE_AFTER_S = 10.0
# How often the client looks at the scheduler's worker list while it waits for tasks.
_WATCH_INTERVAL_S = 1.0
# Hours staged ahead of the one being published, per worker thread: enough to keep every worker busy while
# the client publishes in order, few enough that out-of-order hours do not pile up as temporary files.
_HOURS_AHEAD_PER_THREAD = 2


@dataclass(frozen=True)
class ClusterChoice:
    """Where staging runs: a local cluster of ``workers`` processes, or an existing ``scheduler``."""

    workers: int | None = None
    scheduler: str | None = None

    @property
    def description(self) -> str:
        if self.scheduler:
            return f"the Dask scheduler at {self.scheduler}"
        return f"a local cluster of {self.workers} worker(s)"


def choose(workers: int | None, scheduler: str | None) -> ClusterChoice | None:
    """The cluster asked for on the command line (``scheduler`` already merged with DUCKWIFI_SCHEDULER)."""
    scheduler = scheduler.strip() if scheduler else None
    if workers is not None and scheduler:
        raise BadArgument(f"give either --workers or a scheduler (--scheduler or {SCHEDULER_ENV}), not both")
    if workers is not None and workers < 1:
        raise BadArgument(f"--workers must be 1 or more, not {workers}")
    if workers is None and not scheduler:
        return None
    return ClusterChoice(workers=workers, scheduler=scheduler)


@dataclass
class Cluster:
    """A connected Dask client, and how many threads each task's DuckDB may use (None: all the machine's)."""

    client: distributed.Client
    duckdb_threads: int | None
    choice: ClusterChoice

    def worker_threads(self) -> int:
        try:
            return max(1, sum(self.client.nthreads().values()))
        except Exception as error:
            raise _lost(self, error) from None


def _import_distributed() -> Any:
    try:
        import distributed  # imported only when a cluster is asked for
    except ImportError:
        raise ExtraMissing(f"--workers and --scheduler need Dask; install it with: {INSTALL_HINT}") from None
    return distributed


def _silence_dask_logs() -> None:
    """Dask's own logs (a restarted worker, a lost scheduler: an ERROR with a traceback from
    ``distributed.client``) would break the one-line error rule; what matters reaches the user as a duckwifi
    error instead. Dask gives its child loggers levels of their own, so the handlers are what is silenced."""
    dask_logger = logging.getLogger("distributed")
    dask_logger.setLevel(logging.ERROR)
    for handler in dask_logger.handlers:
        handler.setLevel(logging.CRITICAL + 1)


@contextlib.contextmanager
def open_cluster(choice: ClusterChoice) -> Iterator[Cluster]:
    """Start a local cluster or connect to a scheduler; wait for a first worker; close everything at the end."""
    dask = _import_distributed()
    _silence_dask_logs()
    with contextlib.ExitStack() as stack:
        if choice.workers is not None:
            # Runs after the cluster's own close (the stack unwinds in reverse).
            stack.callback(_stop_worker_processes, set(multiprocessing.active_children()))
            # One task at a time per worker process: DuckDB parallelises inside a task, so the machine's
            # cores are shared between the processes' DuckDBs rather than between Dask threads. Dask's
            # memory manager is off (memory_limit=0): DuckDB bounds its own memory (DUCKWIFI_MEMORY_LIMIT)
            # and a nanny killing a worker at a Python-side threshold would only turn into reruns.
            try:
                cluster = stack.enter_context(
                    _ignoring_ctrl_c_in_workers(dask.LocalCluster)(
                        n_workers=choice.workers,
                        threads_per_worker=1,
                        processes=True,
                        host="127.0.0.1",
                        dashboard_address=None,
                        # The scheduler serves a few HTTP routes even without a dashboard, on port 8787 by
                        # default; a second cluster on the machine would then warn on stderr that the port is
                        # taken. Any free loopback port will do.
                        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                        memory_limit=0,
                        silence_logs=logging.ERROR,
                    )
                )
            except (OSError, TimeoutError) as error:
                raise WorkersGone(f"cannot start {choice.description}: {error}") from None
            client = stack.enter_context(dask.Client(cluster))
            duckdb_threads: int | None = max(1, (os.cpu_count() or 1) // choice.workers)
        else:
            address = str(choice.scheduler)
            try:
                client = stack.enter_context(dask.Client(address, timeout=CONNECT_TIMEOUT_S))
            except ValueError as error:
                raise BadArgument(
                    f"the scheduler {address!r} (--scheduler or {SCHEDULER_ENV}) is not a scheduler address: {error}"
                ) from None
            except (OSError, TimeoutError) as error:
                raise SchedulerUnreachable(
                    f"cannot reach the Dask scheduler at {address} within {CONNECT_TIMEOUT_S:g} s "
                    f"({type(error).__name__}); is it running, and is the address right?"
                ) from None
            # Remote workers run one per machine (`dask worker --nthreads 1` is the recommended start), so
            # each task's DuckDB takes all of its machine's cores.
            duckdb_threads = None
        cluster_handle = Cluster(client, duckdb_threads, choice)
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
        except TimeoutError:
            raise WorkersGone(f"no Dask worker joined {choice.description} within {CONNECT_TIMEOUT_S:g} s") from None
        except Exception as error:
            raise _lost(cluster_handle, error) from None
        yield cluster_handle


def _ignoring_ctrl_c_in_workers(start: Callable[..., Any]) -> Callable[..., Any]:
    """``start`` (a local cluster) with SIGINT ignored while it spawns its worker processes, which keep that
    disposition: a terminal's Ctrl-C reaches the whole process group, and each worker would otherwise print a
    traceback of its own. The command stops them itself (``_stop_worker_processes``). A Ctrl-C in the second or
    two the start takes is lost; the next one is not."""

    def started(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread() is not threading.main_thread():
            return start(*args, **kwargs)  # only the main thread may set a signal's handler
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            return start(*args, **kwargs)
        finally:
            signal.signal(signal.SIGINT, previous)

    return started


def _stop_worker_processes(before: set[multiprocessing.process.BaseProcess]) -> None:
    """Stop the local cluster's worker processes that outlive its close: Dask's close can return while a
    worker still runs a task (after a Ctrl-C, say), which would write its temporary file after the command's
    cleanup had run. Stopped here, whatever they leave is removed by that cleanup."""
    for child in set(multiprocessing.active_children()) - before:
        child.terminate()
        child.join(_WORKER_STOP_S)
        if child.is_alive():
            child.kill()
            child.join()


# ---------------------------------------------------------------------------------------------------------
# The shared-filesystem check, run on every worker before any work.


@dataclass(frozen=True)
class PathNeed:
    """A path a worker must see: a folder to read, a file to read, or a folder to write (or create)."""

    path: str
    role: str
    access: Literal["read folder", "read file", "write folder"]


def check_paths_here(needs: Sequence[PathNeed]) -> tuple[str, list[str]]:
    """Run on a worker: its host name and one line per path it cannot use (nothing is left behind)."""
    problems = [problem for need in needs if (problem := _check_one(need)) is not None]
    return socket.gethostname(), problems


def _check_one(need: PathNeed) -> str | None:
    path = Path(need.path)
    try:
        if need.access == "read folder":
            if not path.is_dir():
                return f"cannot see {need.role} {path}: no such folder"
            os.listdir(path)
        elif need.access == "read file":
            with path.open("rb") as handle:
                handle.read(1)
        elif path.is_dir():
            probe = path / f".duckwifi-worker-probe-{socket.gethostname()}-{os.getpid()}"
            probe.touch()
            probe.unlink()
        elif path.exists():
            return f"cannot write {need.role} {path}: it is not a folder"
        else:
            parent = next(p for p in path.parents if p.exists())
            if not os.access(parent, os.W_OK | os.X_OK):
                return f"cannot create {need.role} {path}: {parent} is not writable"
    except OSError as error:
        verb = "see" if need.access.startswith("read") else "write"
        return f"cannot {verb} {need.role} {path}: {error.strerror or error}"
    return None


def require_paths(cluster: Cluster, needs: Sequence[PathNeed]) -> None:
    """Every worker checks every path; the first worker that cannot is named with the path."""
    try:
        answers = cluster.client.run(check_paths_here, list(needs))
    except Exception as error:
        raise _lost(cluster, error) from None
    for address, (host, problems) in sorted(answers.items()):
        if problems:
            raise WorkerCannotSeePath(
                f"worker {address} (host {host}) {problems[0]}; SRC, LAKE, the --out folder and the warehouse "
                "must be on a filesystem every worker sees at the same path"
            )


# ---------------------------------------------------------------------------------------------------------
# convert: one task per source file.


@contextlib.contextmanager
def source_stager(
    choice: ClusterChoice | None, warehouse: Warehouse, src: Path, lake: Path
) -> Iterator[SourceStagerFactory | None]:
    """The stager `convert` uses for ``choice`` (None: the local one), after every worker checked the paths."""
    if choice is None:
        yield None
        return
    warehouse = Warehouse(warehouse.root.resolve())
    try:
        with open_cluster(choice) as cluster:
            require_paths(
                cluster,
                [
                    PathNeed(str(src.resolve()), "source folder", "read folder"),
                    PathNeed(str(lake.resolve()), "lake folder", "write folder"),
                    PathNeed(str(warehouse.root), "warehouse folder", "write folder"),
                ],
            )
            yield stage_sources_on(cluster, warehouse)
    except BaseException:
        _clean_up_stopped_convert(warehouse, lake.resolve())
        raise


def _clean_up_stopped_convert(warehouse: Warehouse, lake: Path) -> None:
    """After a convert stopped early (Ctrl-C, an error) and its workers are stopped: what the next run would
    clean first (recover: staged files, unlisted units, a publish cut short finished), so that an interrupted
    run removes its temporary files as the exit code promises. The caller still holds the "convert" lock.
    Whatever stopped the run is what is reported; what cannot be cleaned now, the next run cleans."""
    if not (lake / STAGING_DIR).is_dir() or not warehouse.exists():
        return
    with contextlib.suppress(DuckwifiError, OSError, duckdb.Error):
        recover(warehouse, lake)


def stage_sources_on(cluster: Cluster, warehouse: Warehouse) -> SourceStagerFactory:
    @contextlib.contextmanager
    def open_stager(lake: Path, _reader: duckdb.DuckDBPyConnection) -> Iterator[SourceStager]:
        stager = _StageOnWorkers(cluster, warehouse, lake)
        try:
            yield stager
        finally:
            stager.cancel()

    return open_stager


class _StageOnWorkers:
    """Submits each job as a task as soon as the client has planned it; hands back outcomes as tasks finish."""

    def __init__(self, cluster: Cluster, warehouse: Warehouse, lake: Path) -> None:
        self.cluster, self.warehouse, self.lake = cluster, warehouse, lake
        self.run = uuid.uuid4().hex[:8]
        self.pending: dict[distributed.Future, StagingJob] = {}

    def submit(self, job: StagingJob) -> None:
        future = self.cluster.client.submit(
            stage_source_on_worker,
            self.warehouse,
            self.lake,
            job,
            self.cluster.duckdb_threads,
            key=f"duckwifi-stage-{source_key(job.source)}-{self.run}",
            pure=False,
        )
        self.pending[future] = job

    def completed(self, *, wait: bool) -> Iterator[tuple[StagingJob, StageOutcome]]:
        finished = _as_completed(self.cluster, list(self.pending)) if wait else self._done_now()
        for future in finished:
            job = self.pending.pop(future)
            yield job, _result(self.cluster, future, job.source)

    def _done_now(self) -> list[distributed.Future]:
        return [future for future in self.pending if future.done()]

    def cancel(self) -> None:
        if self.pending:
            with contextlib.suppress(Exception):
                self.cluster.client.cancel(list(self.pending))


def stage_source_on_worker(warehouse: Warehouse, lake: Path, job: StagingJob, threads: int | None) -> StageOutcome:
    """The task: the local path's staging, on a worker. Rejections come back as values."""
    with contract_reader(warehouse, threads=threads) as reader:
        return stage_source(warehouse, reader, lake, job)


# ---------------------------------------------------------------------------------------------------------
# tick: one task per hour, published in hour order.


@contextlib.contextmanager
def hour_stager(choice: ClusterChoice | None, warehouse: Warehouse, out_dir: Path) -> Iterator[Any]:
    """The stager `tick` uses for ``choice`` (None: the local one), after every worker checked the paths."""
    if choice is None:
        yield None
        return
    warehouse = Warehouse(warehouse.root.resolve())
    try:
        with open_cluster(choice) as cluster:
            needs = [
                PathNeed(str(out_dir.resolve()), "--out folder", "write folder"),
                PathNeed(str(warehouse.root), "warehouse folder", "write folder"),
            ]
            if warehouse.devices_parquet.exists():
                needs.append(PathNeed(str(warehouse.devices_parquet), "devices file", "read file"))
            require_paths(cluster, needs)
            yield stage_hours_on(cluster, warehouse)
    finally:
        # Once the workers are stopped (the caller still holds the tick lock): the hours they staged ahead of
        # a Ctrl-C or an error, and the temporary of a worker killed after writing it, whose task was rerun
        # elsewhere. Whatever stopped the run is what is reported; what cannot be removed now, the next tick
        # removes.
        with contextlib.suppress(OSError):
            remove_temps(out_dir, HOUR_FILE_NAME)


def stage_hours_on(cluster: Cluster, warehouse: Warehouse) -> Any:
    @contextlib.contextmanager
    def open_stager(state: GeneratorState, out_dir: Path) -> Iterator[HourStager]:
        def stage(wanted: Sequence[datetime]) -> Iterator[StagedHour]:
            run = uuid.uuid4().hex[:8]
            ahead = _HOURS_AHEAD_PER_THREAD * cluster.worker_threads()
            remaining = iter(wanted)
            # Every task prepares its connection for the tick's whole range, as the local stager does once.
            hours_range = (wanted[0], wanted[-1] + timedelta(hours=1)) if wanted else None
            queue: collections.deque[distributed.Future] = collections.deque()

            def submit_next() -> None:
                hour = next(remaining, None)
                if hour is not None and hours_range is not None:
                    future = cluster.client.submit(
                        stage_hour_on_worker,
                        warehouse,
                        state,
                        hours_range,
                        hour,
                        out_dir,
                        cluster.duckdb_threads,
                        key=f"duckwifi-hour-{hour:%Y%m%d%H}-{run}",
                        pure=False,
                    )
                    queue.append(future)

            for _ in range(ahead):
                submit_next()
            try:
                while queue:
                    future = queue[0]
                    for _done in _as_completed(cluster, [future]):
                        pass
                    staged = _result(cluster, future, out_dir)
                    queue.popleft()
                    submit_next()
                    yield staged
            finally:
                cluster.client.cancel(list(queue))

        yield stage

    return open_stager


def stage_hour_on_worker(
    warehouse: Warehouse,
    state: GeneratorState,
    hours_range: tuple[datetime, datetime],
    hour: datetime,
    out_dir: Path,
    threads: int | None,
) -> StagedHour:
    """The task: the local path's staging of one hour, on a worker."""
    settings = {"threads": threads} if threads is not None else None
    with work_connection(warehouse, settings=settings) as work:
        prepare_hours(warehouse, work, state, *hours_range)
        return stage_hour(warehouse, work, state, hour, out_dir)


# ---------------------------------------------------------------------------------------------------------
# Waiting for tasks, and what their failures mean.


def _as_completed(cluster: Cluster, futures: list[distributed.Future]) -> Iterator[distributed.Future]:
    """Yield futures as they finish; stop with WorkersGone when the cluster has had no worker for a while."""
    dask = _import_distributed()
    pending = set(futures)
    no_workers_since: float | None = None
    while pending:
        try:
            done, pending = dask.wait(pending, timeout=_WATCH_INTERVAL_S, return_when="FIRST_COMPLETED")
        except TimeoutError:
            done = set()
        except Exception as error:
            # Futures cancelled under us (FuturesCancelledError): the client lost the scheduler, which dropped
            # every task; nothing else cancels the futures this run waits for.
            raise _lost(cluster, error) from None
        yield from done
        if done or not pending:
            no_workers_since = None
            continue
        try:
            workers = len(cluster.client.nthreads())
        except Exception as error:
            raise _lost(cluster, error) from None
        if workers:
            no_workers_since = None
        elif no_workers_since is None:
            no_workers_since = time.monotonic()
        elif time.monotonic() - no_workers_since > WORKERS_GONE_AFTER_S:
            raise WorkersGone(
                f"every worker of {cluster.choice.description} is gone, with {len(pending)} task(s) left; "
                "what was published stays published; run the command again to finish"
            )


def _result(cluster: Cluster, future: distributed.Future, subject: Path) -> Any:
    dask = _import_distributed()
    try:
        return future.result()
    except DuckwifiError:
        raise
    except dask.KilledWorker:
        raise WorkersGone(
            f"the workers of {cluster.choice.description} kept dying while staging {subject}; "
            "what was published stays published; run the command again to finish"
        ) from None
    except Exception as error:
        if cluster.client.status != "running" or type(error).__name__ in {"CancelledError", "FutureCancelledError"}:
            raise _lost(cluster, error) from None
        raise translate(error, target=str(subject)) from None


def _lost(cluster: Cluster, error: BaseException) -> DuckwifiError:
    """The scheduler stopped answering mid-run."""
    return SchedulerUnreachable(
        f"lost {cluster.choice.description} ({type(error).__name__}); what was published stays published; "
        "run the command again to finish"
    )
