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
from duckwifi.errors import BadArgument
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
