"""The ``duckwifi`` command line: a thin layer that parses arguments, calls the library and reports.

Data (paths written, status fields) goes to stdout; messages and errors go to stderr. Every expected failure is
one ``duckwifi: error: ...`` line and an exit code from :class:`duckwifi.errors.ExitCode`.
"""

from __future__ import annotations

import contextlib
import csv
import os
import signal
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from typer.core import TyperGroup

from duckwifi import __version__, adhoc, distributed, readers
from duckwifi.adhoc import OutputFormat
from duckwifi.contract import DATETIME_FORMAT, DEFAULT_START
from duckwifi.converter.check import check as check_lake
from duckwifi.converter.forget import forget as forget_source
from duckwifi.converter.lake import Converted, list_sources, raise_for_outcome
from duckwifi.converter.lake import convert as convert_folder
from duckwifi.converter.ledger import list_set_aside
from duckwifi.errors import (
    BadArgument,
    CheckFoundProblems,
    DuckwifiError,
    ExitCode,
    Interrupted,
    OutputClosed,
    RepairIncomplete,
    WarehouseMissing,
    note_interrupt,
    printable,
    translate,
)
from duckwifi.fsutil import published
from duckwifi.generator.catalogue import DEFAULT_PROFILE
from duckwifi.generator.fleet import (
    DEFAULT_DEVICES,
    DEFAULT_SEED,
    Fleet,
    initialize,
    is_initialized,
    validate_fleet,
)
from duckwifi.generator.hours import HourWritten, check_hours, check_out_dir_for_a_new_fleet, write_hours
from duckwifi.generator.incidents import INCIDENT_COLUMNS, list_incidents, read_generator_info
from duckwifi.queries import refuse_glob_characters
from duckwifi.warehouse import Warehouse, exclusive, read_status, registered_lake

# Messages hold paths, and a path may hold brackets: never read them as Rich markup.
stderr = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


def _say(message: str) -> None:
    """One line on stderr; control characters that came from input files are escaped, never echoed raw."""
    typer.echo(printable(message), err=True)


def _fail(message: str, code: int) -> None:
    _say(f"duckwifi: error: {message}")
    sys.exit(code)


def _on_signal(signum: int, frame: object) -> None:
    """Ctrl-C and SIGTERM: note the signal (so whatever error DuckDB raises for it reads as "interrupted"),
    then raise KeyboardInterrupt like Python's own handler, so every ``finally`` removes its temporary files."""
    note_interrupt()
    raise KeyboardInterrupt


_OUTPUT_CLOSED = "stdout was closed before everything was written"


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that no later write, nor Python's last flush, fails again."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


class _DataLines:
    """Lines for stdout, written as the work goes, which a reader may stop reading (`| head`): the work must not
    stop half-way for that, so the lines stop and the command ends with exit 141 once the work is done."""

    def __init__(self) -> None:
        self.closed = False

    def echo(self, line: str) -> None:
        if self.closed:
            return
        try:
            typer.echo(line)
        except BrokenPipeError:
            self.closed = True
            _silence_stdout()

    def raise_if_closed(self) -> None:
        if self.closed:
            raise OutputClosed(_OUTPUT_CLOSED)


class _OneLineErrors(TyperGroup):
    """Turns every expected failure, usage errors included, into one stderr line and its exit code."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # The reader of stdout left (`| head`). Click would exit 1 in silence; say so.
            _silence_stdout()
            raise OutputClosed(_OUTPUT_CLOSED) from None
        except KeyboardInterrupt:
            # Typer turns a KeyboardInterrupt into a silent exit 130; as our own error it gets its line in main().
            raise Interrupted("interrupted") from None

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        try:
            result = super().main(*args, standalone_mode=False, **kwargs)
        except typer.TyperException as error:
            _fail(error.format_message().replace("\n", " "), ExitCode.USAGE)
        except (typer.Abort, KeyboardInterrupt, Interrupted):
            _fail("interrupted", ExitCode.INTERRUPTED)

        except DuckwifiError as error:
            _fail(str(error).replace("\n", " "), error.exit_code)
        except Exception as error:
            # An interrupt surfaces from DuckDB as a RuntimeError, and an OS error can come from any file
            # operation: both still get their one line. Anything else is a bug and keeps its traceback.
            translated = translate(error, target=str(getattr(error, "filename", None) or "a file"))
            if type(translated) is DuckwifiError:
                raise
            _fail(str(translated), translated.exit_code)
        code = result if isinstance(result, int) else 0
        if code == ExitCode.INTERRUPTED:
            # A Ctrl-C outside any command (while Click parses), which Typer already made an exit code.
            _fail("interrupted", ExitCode.INTERRUPTED)
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    cls=_OneLineErrors,
    name="duckwifi",
    help="Wifi-modem telemetry on DuckDB: dummy CSVs, a Parquet lake with rollups, the dashboard.",
    invoke_without_command=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"duckwifi {__version__}")
        raise typer.Exit


def _warehouse_path(value: str | Path) -> Path:
    # Parsed from the raw text: Path("") would already read as ".", the current folder.
    if not str(value).strip():
        raise typer.BadParameter("the path is blank")
    # DuckDB reads "?" in a database path as the start of options, and the rollup views glob below the
    # warehouse: such a folder would fail half-way through a command, after it had written.
    try:
        refuse_glob_characters(value, "the folder")
    except BadArgument as error:
        raise typer.BadParameter(str(error)) from None
    return Path(value)


@app.callback()
def _root(
    context: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", callback=_show_version, is_eager=True),
    ] = False,
    warehouse: Annotated[
        Path | None,
        typer.Option(
            "--warehouse",
            "-w",
            help="Warehouse folder for the command (`duckwifi -w DIR status`); the command's own -w wins over it.",
            parser=_warehouse_path,
            metavar="DIR",
        ),
    ] = None,
) -> None:
    """Wifi-modem telemetry on DuckDB: dummy CSVs, a Parquet lake with rollups, the dashboard."""
    if context.invoked_subcommand is None:
        # No command: the help, on stderr, as a usage error (a script that forgot its command must not pass).
        typer.echo(context.get_help(), err=True)
        raise typer.Exit(ExitCode.USAGE)


def _before_the_command(context: typer.Context, value: Path) -> Path:
    """A -w given before the command's name counts unless the command has its own: it wins over
    DUCKWIFI_WAREHOUSE and the default, as a -w after the name does."""
    given = context.parent.params.get("warehouse") if context.parent is not None else None
    source = context.get_parameter_source("warehouse")
    if given is not None and (source is None or source.name != "COMMANDLINE"):
        return Path(given)
    return value


WarehouseOption = Annotated[
    Path,
    typer.Option(
        "--warehouse",
        "-w",
        envvar="DUCKWIFI_WAREHOUSE",
        callback=_before_the_command,
        help="Warehouse folder (holds state.duckdb, the readers' warehouse.duckdb and devices.parquet).",
        file_okay=True,
        dir_okay=True,
        parser=_warehouse_path,
        metavar="DIR",
    ),
]
DEFAULT_WAREHOUSE = Path("warehouse")
WorkersOption = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=1,
        help="Stage on a local Dask cluster of N worker processes (needs duckwifi[distributed]).",
        show_default=False,
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        envvar=distributed.SCHEDULER_ENV,
        help="Stage on an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (needs duckwifi[distributed]).",
        show_default=False,
    ),
]


def _progress(total: int, label: str) -> Progress | None:
    """A progress bar on stderr for multi-step runs in a terminal; nothing when piped or redirected."""
    if total < 2 or not sys.stderr.isatty():
        return None
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=stderr,
        transient=True,
        # Data lines go to the real stdout even while the bar is live (rich would route them to its console).
        redirect_stdout=False,
        redirect_stderr=False,
    )


@contextlib.contextmanager
def _maybe(progress: Progress | None) -> Iterator[None]:
    if progress is None:
        yield
    else:
        with progress:
            yield


def _existing(warehouse: Path) -> Warehouse:
    """The warehouse, refused before any lock file is made when it does not exist (a mistyped --warehouse)."""
    target = Warehouse(warehouse)
    if not target.exists():
        raise WarehouseMissing.at(target.root)
    return target


@app.command(short_help="Create the warehouse: the devices and the clock.")
def init(
    warehouse: WarehouseOption = DEFAULT_WAREHOUSE,
    devices: Annotated[int, typer.Option(help="Number of devices in the fleet.")] = DEFAULT_DEVICES,
    seed: Annotated[int, typer.Option(help="Seed for placement, IDs and metrics.")] = DEFAULT_SEED,
    start: Annotated[
        datetime,
        typer.Option(
            help="The clock's first hour.",
            formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d"],
            metavar='"YYYY-MM-DD[ HH:MM[:SS]]"',
        ),
    ] = DEFAULT_START,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing fleet (new IDs, clock restarts).")
    ] = False,
    profile: Annotated[
        str,
        typer.Option(
            help="realistic: the metric catalogue with cycles, baselines, incidents and faults; "
            "uniform: every metric uniform in [0, 100), for benchmarks against peers."
        ),
    ] = DEFAULT_PROFILE,
) -> None:
    """Create the warehouse: sample the devices on U.S. land and set the clock."""
    target = Warehouse(warehouse)
    validate_fleet(devices, seed, start, profile)  # before the lock makes the folder
    with exclusive(target, "tick"):
        fleet = initialize(target, Fleet(devices, seed, start, profile), force=force)
        readers.refresh(target)
    stderr.print(
        f"initialised {target.root} with {fleet.devices:,} devices (seed {fleet.seed}, {fleet.profile} profile), "
        f"clock at {fleet.start_hour:{DATETIME_FORMAT}}"
    )


@app.command(short_help="Write the next hour(s) of telemetry as CSV.")
def tick(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the hourly CSV files into.")],
    warehouse: WarehouseOption = DEFAULT_WAREHOUSE,
    hours: Annotated[int, typer.Option(help="How many hours to generate.")] = 1,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
) -> None:
    """Write the next hour(s) of telemetry as CSV, one file per hour; prints each file's path."""
    target = Warehouse(warehouse)
    # Before anything is made: a first tick initialises a fleet, which a bad --hours must not leave behind.
    check_hours(hours)
    cluster = distributed.choose(workers, scheduler)
    with exclusive(target, "tick"), distributed.hour_stager(cluster, target, out) as stage_hours:
        if not is_initialized(target):
            # A --out the tick would refuse is refused before a fleet it would leave behind is made.
            check_out_dir_for_a_new_fleet(out, DEFAULT_START)
            stderr.print(f"no fleet in {target.root} yet: initialising it with the defaults")
            initialize(target, Fleet(DEFAULT_DEVICES, DEFAULT_SEED, DEFAULT_START))
        progress = _progress(hours, "tick")
        task = progress.add_task("hours", total=hours) if progress else None

        def report(result: HourWritten) -> None:
            typer.echo(printable(str(result.path)))
            if progress is not None and task is not None:
                progress.advance(task)

        with _maybe(progress):
            write_hours(target, out, hours, on_hour=report, stage_hours=stage_hours)
        readers.refresh(target)


@app.command(short_help="Convert new CSV files into the Parquet lake.")
def convert(
    src: Annotated[
        Path, typer.Argument(metavar="SRC", help="Folder of CSV files (only *.csv and *.csv.gz directly inside it).")
    ],
    lake: Annotated[Path, typer.Argument(metavar="LAKE", help="Root folder of the Parquet lake.")],
    warehouse: WarehouseOption = DEFAULT_WAREHOUSE,
    replace_changed: Annotated[
        bool,
        typer.Option("--replace-changed", help="Re-convert files that changed since they were converted."),
    ] = False,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    min_age: Annotated[
        float,
        typer.Option(
            "--min-age",
            min=0,
            metavar="SECONDS",
            help="Skip files modified less than SECONDS ago (they may still be being copied in).",
        ),
    ] = 0.0,
    max_bad_rows: Annotated[
        int,
        typer.Option(
            "--max-bad-rows",
            min=0,
            metavar="N",
            help="Set aside up to N malformed rows per file in <warehouse>/rejects/ and convert the rest.",
        ),
    ] = 0,
) -> None:
    """Convert new CSV files into the Hive-partitioned Parquet lake; prints one line per converted file.

    Each line is the source's path, a tab, then what it wrote: rows, files, partitions and the hour folders."""
    target = Warehouse(warehouse)
    cluster = distributed.choose(workers, scheduler)
    with exclusive(target, "convert"), distributed.source_stager(cluster, target, src, lake) as stage_sources:
        total = len(list_sources(src))
        progress = _progress(total, "convert")
        task = progress.add_task("files", total=total) if progress else None

        def advance(_: Path) -> None:
            if progress is not None and task is not None:
                progress.advance(task)

        lines = _DataLines()

        def published(converted: Converted) -> None:
            # As each source lands, so that a run stopped midway (Ctrl-C) has reported what it published.
            line = _conversion_line(converted)
            if progress is not None and sys.stdout.isatty():
                # The bar is live on this terminal too: print above it rather than through it.
                progress.console.print(line, markup=False, highlight=False, soft_wrap=True)
            else:
                lines.echo(line)

        with _maybe(progress):
            report = convert_folder(
                target,
                src,
                lake,
                replace_changed=replace_changed,
                min_age_s=min_age,
                max_bad_rows=max_bad_rows,
                on_file=advance,
                on_converted=published,
                stage_sources=stage_sources,
            )
    for rejection in report.rejected:
        _say(f"duckwifi: {rejection}")
    if report.moved_from is not None:
        stderr.print(f"the lake moved from {report.moved_from}; the warehouse now points at its new path")
    for converted in report.converted:
        if converted.set_aside:
            typer.echo(
                f"duckwifi: {converted.source}: {converted.set_aside} malformed row(s) set aside in "
                f"{target.rejects_dir}",
                err=True,
            )
    for recent in report.too_new:
        typer.echo(f"duckwifi: skipped {recent}: modified less than {min_age:g} s ago (--min-age)", err=True)
    if report.missing_outputs:
        typer.echo(
            f"duckwifi: warning: {sum(report.missing_outputs.values())} lake file(s) of "
            f"{len(report.missing_outputs)} already-converted source(s) are missing or damaged; "
            "run `duckwifi check --repair`",
            err=True,
        )
    for copy, original in report.same_content:
        _say(f"duckwifi: {copy}: already converted (same content as {original})")
    for moved, old_path in report.moved:
        _say(f"duckwifi: {moved}: already converted as {old_path}, which is gone; its record follows it")
    for changed in report.changed:
        _say(f"duckwifi: changed since it was converted: {changed} (use --replace-changed)")
    rows = sum(c.rows for c in report.converted)
    skipped = len(report.unchanged) + len(report.same_content) + len(report.moved)
    stderr.print(
        f"converted {len(report.converted)} file(s), {rows:,} rows; {skipped} already converted; "
        f"{len(report.rejected)} rejected; {len(report.changed)} changed"
        + (f"; finished {report.recovered} interrupted" if report.recovered else "")
        + (f"; {len(report.too_new)} too recent" if report.too_new else "")
    )
    lines.raise_if_closed()
    raise_for_outcome(report)


@app.command(short_help="Run a query over the readers' views.")
def sql(
    query: Annotated[
        str,
        typer.Argument(
            help="One SELECT (or EXPLAIN) over telemetry, telemetry_between, devices; put -- before one that "
            "starts with a dash (a comment)."
        ),
    ],
    warehouse: WarehouseOption = DEFAULT_WAREHOUSE,
    output_format: Annotated[
        OutputFormat | None,
        typer.Option("--format", "-f", help="Output format; default: table in a terminal, csv otherwise."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (required for parquet).")
    ] = None,
) -> None:
    """Run an ad-hoc query over the readers' views; statements that write are refused (exit 14)."""
    chosen = output_format or (OutputFormat.table if output is None and sys.stdout.isatty() else OutputFormat.csv)
    if chosen is OutputFormat.parquet and output is None:
        raise BadArgument("--format parquet needs --output FILE")
    if output is not None and (output.is_dir() or not output.parent.is_dir()):
        raise BadArgument(f"--output {output} must name a file in an existing folder")
    target = Warehouse(warehouse)
    if not target.exists():
        raise WarehouseMissing.at(target.root)
    prepared = adhoc.prepare_query(target, query)
    try:
        if chosen is OutputFormat.parquet and output is not None:
            adhoc.write_parquet(prepared, output)
        elif output is not None:
            _write_text_atomically(output, lambda out: _render(prepared, chosen, out))
        else:
            _render(prepared, chosen, sys.stdout)
    finally:
        prepared.close()


def _render(query: adhoc.Query, chosen: OutputFormat, out: TextIO) -> None:
    if chosen is OutputFormat.table:
        out.write(adhoc.render_table(query))
    elif chosen is OutputFormat.json:
        adhoc.write_json(query, out)
    else:
        adhoc.write_csv(query, out)


def _write_text_atomically(target: Path, write: Callable[[TextIO], None]) -> None:
    try:
        with published(target) as staged, staged.open("w", encoding="utf-8", newline="") as out:
            write(out)
    except OSError as error:
        raise translate(error, target=str(target)) from None


def _hour(value: datetime | str) -> str:
    """An hour as YYYY-MM-DD HH:MM:SS; DuckDB hands one beyond year 9999 over as text, shown as it is."""
    return f"{value:{DATETIME_FORMAT}}" if isinstance(value, datetime) else str(value)


def _conversion_line(converted: Converted) -> str:
    """``SOURCE<TAB>500 rows -> 49 file(s) in 49 partition(s) under date=01-01-20/hour=0``: the path stays the
    first tab-separated field, for scripts."""
    partitions = {Path(output).parent for output in converted.outputs}
    hours = sorted({Path(*partition.parts[:2]).as_posix() for partition in partitions if len(partition.parts) >= 2})
    where = ", ".join(hours) if len(hours) <= _HOURS_NAMED else f"{len(hours)} hour folders"
    return (
        f"{printable(str(converted.source))}\t{converted.rows:,} rows -> {len(converted.outputs)} file(s) in "
        f"{len(partitions)} partition(s)" + (f" under {where}" if where else "")
    )


# A source normally holds one hour; beyond this many, the line counts the hour folders instead of naming them.
_HOURS_NAMED = 3


@app.command(short_help="Retire a converted source from the lake.")
def forget(
    source: Annotated[
        Path, typer.Argument(help="A converted source: the path convert recorded, or any file with its content.")
    ],
    warehouse: WarehouseOption = DEFAULT_WAREHOUSE,
) -> None:
    """Retire a converted source: its lake files are removed, and so is its ledger entry; prints its path."""
    target = _existing(warehouse)
    with exclusive(target, "convert"):
        forgotten = forget_source(target, source)
    # Escaped as convert prints it: a newline in a file name must not make two records of one.
    shown = printable(str(forgotten.source))
    typer.echo(shown)
    stderr.print(f"forgot {shown}: removed {len(forgotten.outputs)} lake file(s)")


@app.command(short_help="Compare the lake and its rollups with the ledger; --repair fixes them.")
def check(
    warehouse: WarehouseOption = DEFAULT_WAREHOUSE,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Re-convert sources with missing or damaged files from their unchanged CSV, rebuild damaged "
            "rollups from the lake, remove orphan files.",
        ),
    ] = False,
) -> None:
    """Compare the lake and its rollups with the ledger: prints one line per missing, damaged or orphan file."""
    target = _existing(warehouse)
    with exclusive(target, "convert"):
        report = check_lake(target, repair=repair)
    for problem in report.problems:
        typer.echo(str(problem))
    for source in report.repaired:
        stderr.print(f"repaired: re-converted {source}")
    for source in report.rebuilt_rollups:
        what = f"the rollups of {source} from its lake files" if source else "the rollup store from the lake"
        stderr.print(f"repaired: rebuilt {what}")
    for source in report.withdrawn_rollups:
        stderr.print(f"repaired: withdrew the rollups of {source}, which the ledger does not have")
    for orphan in report.removed_orphans:
        stderr.print(f"repaired: removed orphan {orphan}")
    for folder in report.rewritten_digests:
        stderr.print(f"repaired: wrote the day digest {folder} again")
    for source, reason in report.unrepairable.items():
        typer.echo(f"duckwifi: cannot repair {source}: {reason}", err=True)
    for source, count in list_set_aside(target):
        stderr.print(f"set aside: {source}: {count} malformed row(s) in {target.rejects_dir}")
    if report.lake is None:
        stderr.print(f"nothing to check: {target.root} has no lake yet")
    else:
        stderr.print(f"checked {report.lake}: {len(report.problems)} problem(s)")
    if report.lake_gone:
        gone = (
            f"the lake folder {report.lake} is gone; if it moved, `duckwifi convert SRC NEW_PATH` re-points the "
            "warehouse to it"
        )
        raise RepairIncomplete(gone) if repair else CheckFoundProblems(gone)
    if report.unrepairable:
        raise RepairIncomplete(f"{len(report.unrepairable)} source(s) could not be repaired")
    if report.problems and not repair:
        raise CheckFoundProblems(
            f"{len(report.problems)} problem(s) in the lake or its rollups; `duckwifi check --repair` fixes them"
        )


@app.command(short_help="Rebuild the serving store from the lake.")
def rollup(
    warehouse: WarehouseOption = DEFAULT_WAREHOUSE,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Rebuild every rollup from the lake's Parquet files.")
    ] = False,
    digests: Annotated[
        bool,
        typer.Option(
            "--digests", help="Write the day digests of complete days that lack one (convert writes them too)."
        ),
    ] = False,
) -> None:
    """The serving store (rollups): `--rebuild` remakes it from the warehouse's lake; `--digests` writes the
    day digests `serve` loads quickly; prints the version."""
    from duckwifi.rollups.digests import write_digests
    from duckwifi.rollups.rebuild import rebuild as rebuild_rollups
    from duckwifi.rollups.store import read_manifest

    if not rebuild and not digests:
        raise BadArgument("nothing to do: use `duckwifi rollup --rebuild` or `duckwifi rollup --digests`")
    target = _existing(warehouse)
    if not rebuild:
        with exclusive(target, "convert"):
            done = write_digests(target)
        typer.echo(read_manifest(target).version)
        stderr.print(f"wrote {len(done.written)} day digest(s) in {done.seconds:.1f} s; removed {done.removed}")
        return
    with exclusive(target, "convert"):
        report = rebuild_rollups(target)
        readers.refresh(target)
    typer.echo(report.manifest.version)
    stderr.print(f"rebuilt the rollups of {report.sources} source(s), {report.rows:,} rows, from {report.lake}")


@app.command(short_help="Show the fleet, the clock and the conversions.")
def status(warehouse: WarehouseOption = DEFAULT_WAREHOUSE) -> None:
    """Show the fleet, the clock, the hours generated and the conversions, one "key: value" line each."""
    report = read_status(Warehouse(warehouse))
    lines = [f"warehouse: {report.root.resolve()}"]
    if report.generator is None:
        lines.append("devices: 0")
    else:
        g = report.generator
        lines += [
            f"devices: {g.devices}",
            f"seed: {g.seed}",
            f"start: {_hour(g.start_hour)}",
            f"clock: {_hour(g.next_hour)}",
            f"hours_generated: {g.hours_written}",
            f"csv_rows_written: {report.written.rows}",
            f"csv_bytes_written: {report.written.bytes}",
            f"profile: {g.profile}",
        ]
        lines += [
            f"{m.column_name}: {m.name} ({m.unit}, {m.family}, {m.lower:g} to {m.upper:g})" for m in report.metrics
        ]
        if report.written.last_path is not None:
            lines.append(f"last_csv: {report.written.last_path}")
    lake = registered_lake(Warehouse(warehouse))
    lines += [
        f"lake: {lake if lake is not None else ''}",
        f"converted_files: {report.converted_files}",
        f"converted_rows: {report.converted_rows}",
        f"rejected_files: {len(report.rejections)}",
    ]
    set_aside = list_set_aside(Warehouse(warehouse))
    lines.append(f"set_aside_rows: {sum(count for _, count in set_aside)}")
    lines += [f"set_aside: {source}: {count} row(s)" for source, count in set_aside]
    for rejection in report.rejections:
        where = f"line {rejection.line}: " if rejection.line is not None else ""
        lines.append(f"rejected: {rejection.source}: {where}{rejection.reason}")
    # A rejection's reason may quote the rejected file: escaped, it can never forge a line of its own.
    typer.echo("\n".join(printable(line) for line in lines))


# The API's form (``2020-01-01T00:00:00``) too, so a time copied from the dashboard works here.
_HOUR_FORMATS = [DATETIME_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]


@app.command()
def incidents(
    warehouse: WarehouseOption = DEFAULT_WAREHOUSE,
    first: Annotated[
        datetime | None,
        typer.Option("--from", help="First hour (default: the fleet's start).", formats=_HOUR_FORMATS),
    ] = None,
    last: Annotated[
        datetime | None,
        typer.Option(
            "--to",
            help="End of the range, exclusive (default: the clock, or a day after --from if nothing was written).",
            formats=_HOUR_FORMATS,
        ),
    ] = None,
) -> None:
    """Print the incidents planned from the seed that overlap [--from, --to), as CSV."""
    for option, moment in (("--from", first), ("--to", last)):
        if moment is not None and moment != moment.replace(minute=0, second=0, microsecond=0):
            raise BadArgument(f"{option} {moment:%Y-%m-%d %H:%M:%S} is not a whole hour; incidents are planned by hour")
    target = Warehouse(warehouse)
    info = read_generator_info(target)
    first = first or info.start_hour
    if last is None:
        clock = read_status(target).generator
        last = clock.next_hour if clock is not None and clock.next_hour > first else first + timedelta(days=1)
    found = list_incidents(target, first, last)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(INCIDENT_COLUMNS)
    out.writerows(incident.as_text() for incident in found)
    if info.profile != "realistic":
        stderr.print(f"{target.root} has the {info.profile} profile, which has no incidents")


@app.command(short_help="Serve the dashboard and its HTTP API.")
def serve(
    warehouse: WarehouseOption = DEFAULT_WAREHOUSE,
    lake: Annotated[
        Path | None, typer.Option(help="The lake to serve; must be the warehouse's own (the default).")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on; non-loopback needs --token or --no-auth.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port to listen on (0 picks a free one).")] = 8000,
    token: Annotated[
        str | None,
        typer.Option(envvar="DUCKWIFI_TOKEN", help="Require 'Authorization: Bearer TOKEN' on /api/*."),
    ] = None,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="Serve a non-loopback address without authentication.")
    ] = False,
    cors_origin: Annotated[
        list[str] | None, typer.Option(help="Allow a front end served from this origin (repeatable).")
    ] = None,
) -> None:
    """Serve the dashboard page and its HTTP API (v1) over the warehouse's rollups and lake; prints its URL."""
    from duckwifi.api.server import ServeOptions
    from duckwifi.api.server import serve as run_server

    options = ServeOptions(
        host=host, port=port, lake=lake, token=token, no_auth=no_auth, cors_origins=list(cors_origin or [])
    )

    def ready(url: str) -> None:
        typer.echo(url)
        sys.stdout.flush()
        stderr.print(f"serving the dashboard at {url} (API docs at {url}docs); Ctrl-C stops")
        if token is not None:
            stderr.print(f"the page takes the token as {url}#token=TOKEN")

    if not warehouse.is_dir():
        # A warehouse folder with nothing converted yet serves empty answers; a folder that is not there is a typo.
        raise WarehouseMissing.at(warehouse)
    run_server(Warehouse(warehouse), options, on_ready=ready)
    stderr.print("stopped")


def main() -> None:
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    app()
