"""Shared fixtures. Every test runs isolated from the user's environment and from the others' files."""

from __future__ import annotations

import os
import subprocess
import sys
import zlib
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from typer.testing import CliRunner

from duckwifi.cli import app

settings.register_profile(
    "duckwifi", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=25
)
settings.load_profile("duckwifi")

# A sample of the slow cases runs by default, a different one each day; --run-slow runs them all.
SLOW_SAMPLE_ONE_IN = 3


def in_slow_sample(nodeid: str, day: date) -> bool:
    """Whether the slow test ``nodeid`` is in the sample of ``day`` (UTC): each slow test runs every
    SLOW_SAMPLE_ONE_IN-th day, so every one of them runs at least once in any week of daily CI runs."""
    return (zlib.crc32(nodeid.encode()) + day.toordinal()) % SLOW_SAMPLE_ONE_IN == 0


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="run every test marked slow")
    parser.addoption(
        "--slow-sample-day",
        type=date.fromisoformat,
        default=None,
        help="run the slow sample of this day (YYYY-MM-DD) instead of today's (UTC)",
    )
    parser.addoption(
        "--fault-rounds", type=int, default=3, help="random kill instants per fault test (issue asks >= 10)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    day = config.getoption("--slow-sample-day") or datetime.now(timezone.utc).date()
    skip = pytest.mark.skip(reason=f"slow: not in the sample of {day} (use --run-slow)")
    for item in items:
        if "slow" in item.keywords and not in_slow_sample(item.nodeid, day):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("DUCKWIFI_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def invoke(runner: CliRunner, *args: str):
    """Run the CLI in-process; exceptions propagate so a bug is never mistaken for an exit code."""
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def converted_sources(stdout: str) -> list[str]:
    """The source paths of `convert`'s stdout: each line is SOURCE, a tab, then what it wrote."""
    return [line.split("\t", 1)[0] for line in stdout.splitlines()]


def run_cli(*args: str | Path, env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
    """Run ``python -m duckwifi`` as a real process."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DUCKWIFI_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "duckwifi", *map(str, args)],
        capture_output=True,
        text=True,
        env=full_env,
        check=False,
        **kwargs,
    )


def popen_cli(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DUCKWIFI_")}
    full_env.update(env or {})
    return subprocess.Popen(
        [sys.executable, "-m", "duckwifi", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
    )


@pytest.fixture
def warehouse_dir(tmp_path: Path, runner: CliRunner) -> Path:
    """A warehouse with a small fleet of 500 devices, seed 7."""
    root = tmp_path / "wh"
    result = invoke(runner, "init", "--warehouse", root, "--devices", "500", "--seed", "7")
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture(scope="session")
def served_lake(tmp_path_factory: pytest.TempPathFactory):
    """A real small lake for the serve tests (read-only: tests that convert more build their own)."""
    from tests.serve_support import build_lake

    return build_lake(tmp_path_factory.mktemp("served"))
