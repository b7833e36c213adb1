"""Shared parts of the serve tests: a real small lake (tick + convert, which writes the rollups) and a real
``duckwifi serve`` process on a free loopback port."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

DEVICES = 400
SEED = 11
HOURS = 26


@dataclass(frozen=True)
class ServedLake:
    warehouse: Path
    lake: Path
    csv: Path


def _cli(*args: object) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUCKWIFI_")}
    result = subprocess.run(
        [sys.executable, "-m", "duckwifi", *map(str, args)], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    return result


def build_lake(root: Path, *, hours: int = HOURS, devices: int = DEVICES) -> ServedLake:
    """A warehouse of ``devices`` devices, ``hours`` hours ticked and converted (with their rollups)."""
    lake = ServedLake(root / "wh", root / "lake", root / "csv")
    _cli("init", "--warehouse", lake.warehouse, "--devices", devices, "--seed", SEED)
    tick_and_convert(lake, hours)
    return lake


def tick_and_convert(lake: ServedLake, hours: int) -> None:
    _cli("tick", "--warehouse", lake.warehouse, "--out", lake.csv, "--hours", hours)
    _cli("convert", "--warehouse", lake.warehouse, lake.csv, lake.lake)


@dataclass
class ServerProcess:
    """``duckwifi serve`` in its own process; ``url`` is what it printed."""

    process: subprocess.Popen
    url: str
    stderr_lines: list[str] = field(default_factory=list)

    def get(
        self, path: str, headers: dict[str, str] | None = None, *, method: str = "GET"
    ) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.url.rstrip("/") + path, headers=headers or {}, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
        except urllib.error.HTTPError as error:
            return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()

    def json(self, path: str) -> dict:
        status, _, body = self.get(path)
        assert status == 200, (status, body)
        return json.loads(body)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)

    @property
    def stderr(self) -> str:
        return "".join(self.stderr_lines)


def start_server(*args: object, timeout: float = 60) -> ServerProcess:
    """Start ``duckwifi serve --port 0 ARGS`` and wait for the URL it prints."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUCKWIFI_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "duckwifi", "serve", "--port", "0", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    server = ServerProcess(process, url="")
    assert process.stderr is not None
    assert process.stdout is not None

    def drain() -> None:
        for line in process.stderr:  # type: ignore[union-attr]
            server.stderr_lines.append(line)

    threading.Thread(target=drain, daemon=True).start()
    deadline = time.monotonic() + timeout
    line = process.stdout.readline()
    if not re.fullmatch(r"http://127\.0\.0\.1:\d+/\n", line):
        process.kill()
        process.wait()
        raise AssertionError(f"serve printed {line!r}; stderr: {server.stderr}")
    server.url = line.strip()
    while time.monotonic() < deadline:
        try:
            server.get("/")
            return server
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"serve did not answer; stderr: {server.stderr}")
