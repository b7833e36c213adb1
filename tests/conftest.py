"""Shared fixtures. Every test runs isolated from the user's environment and from the others' files."""

from __future__ import annotations

import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from typer.testing import CliRunner

from duckwifi.cli import app

settings.register_profile(
    "duckwifi", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=25
)
settings.load_profile("duckwifi")

# A small sample of the slow cases runs by default; --run-slow runs them all.
SLOW_SAMPLE_ONE_IN = 3


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="run every test marked slow")
    parser.addoption(
        "--fault-rounds", type=int, default=3, help="random kill instants per fault test (issue asks >= 10)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: not in this run's sample (use --run-slow)")
    for item in items:
        if "slow" in item.keywords and zlib.crc32(item.nodeid.encode()) % SLOW_SAMPLE_ONE_IN != 0:
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


def popen_cli(*args: str | Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUCKWIFI_")}
    return subprocess.Popen(
        [sys.executable, "-m", "duckwifi", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
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
