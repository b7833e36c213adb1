"""A progress bar on stderr when several hours or files are processed in a terminal; none when piped."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from tests.conftest import run_cli


def _run_with_terminal_stderr(*args: str | Path) -> tuple[int, str, str]:
    """Run the CLI with stderr on a pseudo-terminal (stdout stays a pipe); return (code, stdout, terminal text)."""
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUCKWIFI_")}
    env.update({"TERM": "xterm", "COLUMNS": "100"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "duckwifi", *map(str, args)], stdout=subprocess.PIPE, stderr=follower, env=env
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    stdout, _ = proc.communicate()
    os.close(leader)
    return proc.returncode, stdout.decode(), b"".join(chunks).decode(errors="replace")


def test_tick_and_convert_show_progress_in_a_terminal(tmp_path: Path) -> None:
    wh = tmp_path / "wh"
    assert run_cli("init", "--warehouse", wh, "--devices", "200").returncode == 0
    code, stdout, terminal = _run_with_terminal_stderr(
        "tick", "--warehouse", wh, "--out", tmp_path / "csv", "--hours", "3"
    )
    assert code == 0
    assert "3/3" in terminal
    assert len(stdout.split()) == 3, "stdout keeps only the paths, parseable"
    code, stdout, terminal = _run_with_terminal_stderr(
        "convert", tmp_path / "csv", tmp_path / "lake", "--warehouse", wh
    )
    assert code == 0
    assert "3/3" in terminal
    assert len(stdout.splitlines()) == 3


def test_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    wh = tmp_path / "wh"
    assert run_cli("init", "--warehouse", wh, "--devices", "200").returncode == 0
    result = run_cli("tick", "--warehouse", wh, "--out", tmp_path / "csv", "--hours", "3")
    assert result.returncode == 0
    assert result.stderr == ""
    assert "\x1b[" not in result.stdout
