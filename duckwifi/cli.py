"""The ``duckwifi`` command line: a thin layer that parses arguments, calls the library and reports.

Data (paths written, status fields) goes to stdout; messages and errors go to stderr. Every expected failure is
one ``duckwifi: error: ...`` line and an exit code from :class:`duckwifi.errors.ExitCode`.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from typer.core import TyperGroup

from duckwifi import adhoc, readers
from duckwifi.adhoc import OutputFormat
from duckwifi.contract import DATETIME_FORMAT, DEFAULT_START
from duckwifi.converter.lake import convert as convert_folder
from duckwifi.converter.lake import list_sources, raise_for_outcome
from duckwifi.errors import BadArgument, DuckwifiError, ExitCode, WarehouseMissing, translate
from duckwifi.fsutil import publish, temp_path_for
from duckwifi.generator.fleet import DEFAULT_DEVICES, DEFAULT_SEED, Fleet, initialize, is_initialized
from duckwifi.generator.hours import HourWritten, write_hours
from duckwifi.warehouse import Warehouse, exclusive, read_status

stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(message: str, code: int) -> None:
    typer.echo(f"duckwifi: error: {message}", err=True)
    sys.exit(code)


class _OneLineErrors(TyperGroup):
    """Turns every expected failure, usage errors included, into one stderr line and its exit code."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        try:
            result = super().main(*args, standalone_mode=False, **kwargs)
        except typer.TyperException as error:
            if type(error).__name__ == "NoArgsIsHelpError":
                typer.echo(error.format_message(), err=True)
                sys.exit(ExitCode.USAGE)
            _fail(error.format_message().replace("\n", " "), ExitCode.USAGE)
        except DuckwifiError as error:
            _fail(str(error).replace("\n", " "), error.exit_code)
        except (typer.Abort, KeyboardInterrupt):
            _fail("interrupted", 130)
        code = result if isinstance(result, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    cls=_OneLineErrors,
    name="duckwifi",
    help="Hourly wifi-modem telemetry on DuckDB: generate dummy CSVs, convert CSVs to a Parquet lake.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

WarehouseOption = Annotated[
    Path,
    typer.Option(
        "--warehouse",
        "-w",
        envvar="DUCKWIFI_WAREHOUSE",
        help="Warehouse folder (holds warehouse.duckdb and devices.parquet).",
        file_okay=True,
        dir_okay=True,
    ),
]
DEFAULT_WAREHOUSE = Path("warehouse")


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
    )


@contextlib.contextmanager
def _maybe(progress: Progress | None) -> Iterator[None]:
    if progress is None:
        yield
    else:
        with progress:
            yield


@app.command()
def init(
    warehouse: WarehouseOption = DEFAULT_WAREHOUSE,
    devices: Annotated[int, typer.Option(help="Number of devices in the fleet.")] = DEFAULT_DEVICES,
    seed: Annotated[int, typer.Option(help="Seed for placement, IDs and metrics.")] = DEFAULT_SEED,
    start: Annotated[
        datetime,
        typer.Option(help="The clock's first hour.", formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d"]),
    ] = DEFAULT_START,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing fleet (new IDs, clock restarts).")
    ] = False,
) -> None:
    """Create the warehouse: sample the devices on U.S. land and set the clock."""
    target = Warehouse(warehouse)
    with exclusive(target, "tick"):
        fleet = initialize(target, Fleet(devices, seed, start), force=force)
        readers.refresh(target)
    stderr.print(
        f"initialised {target.root} with {fleet.devices:,} devices (seed {fleet.seed}), "
        f"clock at {fleet.start_hour:{DATETIME_FORMAT}}"
    )


@app.command()
def tick(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the hourly CSV files into.")],
    warehouse: WarehouseOption = DEFAULT_WAREHOUSE,
    hours: Annotated[int, typer.Option(help="How many hours to generate.")] = 1,
) -> None:
    """Write the next hour(s) of telemetry as CSV, one file per hour; prints each file's path."""
    target = Warehouse(warehouse)
    with exclusive(target, "tick"):
        if not is_initialized(target):
            stderr.print(f"no fleet in {target.root} yet: initialising it with the defaults")
            initialize(target, Fleet(DEFAULT_DEVICES, DEFAULT_SEED, DEFAULT_START))
        progress = _progress(hours, "tick")
        task = progress.add_task("hours", total=hours) if progress else None

        def report(result: HourWritten) -> None:
            typer.echo(str(result.path))
            if progress is not None and task is not None:
                progress.advance(task)

        with _maybe(progress):
            write_hours(target, out, hours, on_hour=report)
        readers.refresh(target)


@app.command()
def convert(
    src: Annotated[Path, typer.Argument(help="Folder of CSV files (only *.csv directly inside it are read).")],
    lake: Annotated[Path, typer.Argument(help="Root folder of the Parquet lake.")],
    warehouse: WarehouseOption = DEFAULT_WAREHOUSE,
    replace_changed: Annotated[
        bool,
        typer.Option("--replace-changed", help="Re-convert files that changed since they were converted."),
    ] = False,
) -> None:
    """Convert new CSV files into the Hive-partitioned Parquet lake; prints each converted file's path."""
    target = Warehouse(warehouse)
    with exclusive(target, "convert"):
        total = len(list_sources(src))
        progress = _progress(total, "convert")
        task = progress.add_task("files", total=total) if progress else None

        def advance(_: Path) -> None:
            if progress is not None and task is not None:
                progress.advance(task)

        with _maybe(progress):
            report = convert_folder(target, src, lake, replace_changed=replace_changed, on_file=advance)
    for converted in report.converted:
        typer.echo(str(converted.source))
    for rejection in report.rejected:
        typer.echo(f"duckwifi: {rejection}", err=True)
    for changed in report.changed:
        typer.echo(f"duckwifi: changed since it was converted: {changed} (use --replace-changed)", err=True)
    rows = sum(c.rows for c in report.converted)
    stderr.print(
        f"converted {len(report.converted)} file(s), {rows:,} rows; {len(report.unchanged)} already converted; "
        f"{len(report.rejected)} rejected; {len(report.changed)} changed"
        + (f"; finished {report.recovered} interrupted" if report.recovered else "")
    )
    raise_for_outcome(report)


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="One SELECT (or EXPLAIN) over telemetry, telemetry_between, devices.")],
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
    target = Warehouse(warehouse)
    if not target.exists():
        raise WarehouseMissing(f"no warehouse at {target.root}; run `duckwifi init` (or `duckwifi tick`) first")
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
    staged = temp_path_for(target)
    try:
        with staged.open("w", encoding="utf-8", newline="") as out:
            write(out)
        publish(staged, target)
    except OSError as error:
        raise translate(error, target=str(target)) from None
    finally:
        staged.unlink(missing_ok=True)


@app.command()
def rollup(
    warehouse: WarehouseOption = DEFAULT_WAREHOUSE,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Rebuild every rollup from the lake's Parquet files.")
    ] = False,
) -> None:
    """The serving store (rollups): `--rebuild` remakes it from the warehouse's lake; prints the version."""
    from duckwifi.rollups.rebuild import rebuild as rebuild_rollups

    if not rebuild:
        raise BadArgument("nothing to do: use `duckwifi rollup --rebuild`")
    target = Warehouse(warehouse)
    with exclusive(target, "convert"):
        report = rebuild_rollups(target)
    typer.echo(report.manifest.version)
    stderr.print(f"rebuilt the rollups of {report.sources} source(s), {report.rows:,} rows, from {report.lake}")


@app.command()
def status(warehouse: WarehouseOption = DEFAULT_WAREHOUSE) -> None:
    """Show the fleet, the clock, the hours generated and the conversions, as ``key: value`` lines."""
    report = read_status(Warehouse(warehouse))
    lines = [f"warehouse: {report.root.resolve()}"]
    if report.generator is None:
        lines.append("devices: 0")
    else:
        g = report.generator
        lines += [
            f"devices: {g.devices}",
            f"seed: {g.seed}",
            f"start: {g.start_hour:{DATETIME_FORMAT}}",
            f"clock: {g.next_hour:{DATETIME_FORMAT}}",
            f"hours_generated: {g.hours_written}",
        ]
    lines += [
        f"converted_files: {report.converted_files}",
        f"converted_rows: {report.converted_rows}",
        f"rejected_files: {len(report.rejections)}",
    ]
    for rejection in report.rejections:
        where = f"line {rejection.line}: " if rejection.line is not None else ""
        lines.append(f"rejected: {rejection.source}: {where}{rejection.reason}")
    typer.echo("\n".join(lines))


@app.command()
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

    run_server(Warehouse(warehouse), options, on_ready=ready)
    stderr.print("stopped")


def main() -> None:
    app()
