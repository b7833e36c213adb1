"""The code base stays clean: ruff, sqlfluff, SQL headers, help on every command, quoting."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from duckwifi import queries
from duckwifi.cli import app
from duckwifi.errors import BadArgument, ExitCode
from tests.conftest import invoke

ROOT = Path(__file__).resolve().parent.parent
SQL_FILES = sorted((ROOT / "sql").rglob("*.sql"))


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    assert found, f"{name} is not installed beside {sys.executable}; install the dev extras"
    return found


def test_ruff_finds_nothing() -> None:
    result = subprocess.run(
        [_tool("ruff"), "check", "duckwifi", "tests", "benchmarks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_changes_nothing() -> None:
    result = subprocess.run(
        [_tool("ruff"), "format", "--check", "duckwifi", "tests", "benchmarks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_sqlfluff_finds_nothing() -> None:
    result = subprocess.run([_tool("sqlfluff"), "lint", "sql/"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("sql_file", SQL_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_sql_file_has_a_header_saying_purpose_parameters_output(sql_file: Path) -> None:
    text = sql_file.read_text()
    header = text.split("\n\n")[0]
    assert header.startswith("-- "), "the file must open with a comment saying what it does"
    assert "Parameters:" in header
    assert "Output:" in header


def test_every_sql_file_loads_through_the_package() -> None:
    for sql_file in SQL_FILES:
        name = sql_file.relative_to(ROOT / "sql").as_posix()
        assert queries.load(name) == sql_file.read_text()


def test_every_command_has_help(runner) -> None:
    import typer.main

    group = typer.main.get_command(app)
    commands = list(group.commands)  # type: ignore[attr-defined]
    assert {"init", "tick", "convert", "status"} <= set(commands)
    for name in commands:
        result = invoke(runner, name, "--help")
        assert result.exit_code == 0
        assert "Usage" in result.output


def test_python_dash_m_works(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "duckwifi", "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert "tick" in result.stdout


@pytest.mark.parametrize(
    "path", ["/tmp/a'b", "/tmp/x\n", "/tmp/\\x", "/tmp/a;b", '/tmp/a"b', "/d/(x) & y #1 $z", "/data/lake 1/été"]
)
def test_quote_path_gives_a_literal_that_reads_back_as_the_path(path: str) -> None:
    with duckdb.connect() as con:
        assert con.execute(f"SELECT {queries.quote_path(path)}").fetchone() == (path,)


def test_quote_path_doubles_quotes() -> None:
    assert queries.quote_path("/o'neil/lake") == "'/o''neil/lake'"


@pytest.mark.parametrize("path", ["/tmp/br[1]", "/tmp/a*b", "/tmp/q?", "/tmp/back\\slash"])
def test_glob_characters_are_refused(path: str) -> None:
    with pytest.raises(BadArgument):
        queries.refuse_glob_characters(path, "lake path")


def test_quote_path_quotes_ordinary_paths() -> None:
    assert queries.quote_path("/data/lake 1/été") == "'/data/lake 1/été'"


def test_version(runner) -> None:
    import duckwifi

    result = invoke(runner, "--version")
    assert result.exit_code == 0
    assert result.stdout == f"duckwifi {duckwifi.__version__}\n"


def test_help_text_is_clean(runner) -> None:
    for args in ([], ["init"], ["tick"], ["convert"], ["status"]):
        result = invoke(runner, *args, "--help")
        assert result.exit_code == 0
        for stray in ("<bool>", "``", "%Y", "U.S.\n"):
            assert stray not in result.stdout, (args, stray, result.stdout)


def test_no_command_shows_the_help_as_a_usage_error(runner) -> None:
    result = invoke(runner)
    assert result.exit_code == ExitCode.USAGE
    assert "Usage" in result.stderr
    assert "Commands" in result.stderr
    assert result.stdout == ""


def test_every_slow_test_runs_at_least_once_a_week() -> None:
    from datetime import date, timedelta

    from tests.conftest import SLOW_SAMPLE_ONE_IN, in_slow_sample

    ids = [f"tests/test_{n}.py::test_case_{n}[{n % 7}]" for n in range(300)]
    for start in (date(2026, 1, 1), date(2026, 11, 29), date(2027, 2, 27)):
        week = [start + timedelta(days=k) for k in range(7)]
        assert all(any(in_slow_sample(nodeid, day) for day in week) for nodeid in ids)
        # Each day runs about one in SLOW_SAMPLE_ONE_IN of them, not all and not none.
        share = sum(in_slow_sample(nodeid, start) for nodeid in ids) / len(ids)
        assert abs(share - 1 / SLOW_SAMPLE_ONE_IN) < 0.1
