"""`duckwifi serve` as a real process on a free loopback port: URL, request log, clean stop, exit codes,
read-only behaviour, and fresh data after a convert under the live server."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.serve_support import DEVICES, build_lake, start_server, tick_and_convert


def _open_files(pid: int) -> list[str]:
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            found.append(os.readlink(fd))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_its_url_logs_requests_and_stops_cleanly(served_lake, sig):
    server = start_server("--warehouse", served_lake.warehouse)
    try:
        meta = server.json("/api/meta?metric=ignored")
        assert meta["last_hour_rows"] == DEVICES
        status, headers, _ = server.get("/api/timeseries?metric=metric_1", {"Accept-Encoding": "gzip"})
        assert status == 200
        assert headers["etag"]
        # It never opens the pipeline's state, nor the readers' database.
        opened = _open_files(server.process.pid)
        assert not [f for f in opened if f.endswith((".duckdb", ".duckdb.wal"))], opened
    finally:
        code = server.stop(sig)
    assert code == 0, server.stderr
    log = server.stderr
    assert "GET /api/meta?metric=ignored 200" in log
    assert "GET /api/timeseries?metric=metric_1 200" in log
    assert log.rstrip().endswith("stopped")
    assert "Traceback" not in log


def test_port_in_use_is_exit_16(served_lake):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = run_cli("serve", "--warehouse", served_lake.warehouse, "--port", port, timeout=60)
    assert result.returncode == 16
    assert result.stderr.strip().splitlines() == [
        f"duckwifi: error: port {port} on 127.0.0.1 is already in use; stop what listens there or pick --port"
    ]


def test_an_unreadable_lake_is_exit_17(tmp_path):
    warehouse = tmp_path / "wh"
    warehouse.mkdir()
    (warehouse / "lake.json").write_text(json.dumps({"format": 1, "lake": str(tmp_path / "gone")}))
    result = run_cli("serve", "--warehouse", warehouse, "--port", "0", timeout=60)
    assert result.returncode == 17, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "cannot read the lake" in result.stderr
    (warehouse / "lake.json").write_text("{not json")
    result = run_cli("serve", "--warehouse", warehouse, "--port", "0", timeout=60)
    assert result.returncode == 17, result.stderr


def test_an_empty_folder_at_the_lake_path_is_a_gone_lake(tmp_path):
    """The mount point of a disk that is not mounted: `serve` refuses it as every other command does (exit 17),
    rather than serve the rollups over a lake it calls empty."""
    lake = build_lake(tmp_path, hours=1, devices=50)
    lake.lake.rename(tmp_path / "elsewhere")
    lake.lake.mkdir()
    result = run_cli("serve", "--warehouse", lake.warehouse, "--port", "0", timeout=60)
    assert result.returncode == 17, result.stderr
    assert result.stderr == (
        f"duckwifi: error: the lake {lake.lake} is gone (moved, or on a disk that is not mounted); "
        "`duckwifi convert SRC NEW_PATH` re-points the warehouse to a moved lake\n"
    )


def test_another_lake_is_a_usage_error_and_the_warehouse_must_exist(served_lake, tmp_path):
    result = run_cli("serve", "--warehouse", served_lake.warehouse, "--lake", tmp_path, "--port", "0", timeout=60)
    assert result.returncode == 2
    assert f"is not the lake of {served_lake.warehouse}, which is " in result.stderr
    result = run_cli("serve", "--warehouse", tmp_path / "nowhere", "--port", "0", timeout=60)
    assert result.returncode == 3
    assert result.stderr.startswith("duckwifi: error: no warehouse")


def test_a_non_loopback_host_needs_a_token_or_no_auth(served_lake):
    result = run_cli("serve", "--warehouse", served_lake.warehouse, "--host", "0.0.0.0", "--port", "0", timeout=60)
    assert result.returncode == 2
    assert "--token" in result.stderr
    assert "--no-auth" in result.stderr
    result = run_cli(
        "serve", "--warehouse", served_lake.warehouse, "--token", "t", "--no-auth", "--port", "0", timeout=60
    )
    assert result.returncode == 2


@pytest.mark.parametrize(
    "origin",
    ["foo", "", "http://app.example/", "http://app.example:3000/path", "HTTP://APP.EXAMPLE", "https://app.example:443"],
)
def test_a_cors_origin_a_browser_would_never_send_is_a_usage_error(served_lake, origin):
    result = run_cli("serve", "--warehouse", served_lake.warehouse, "--cors-origin", origin, "--port", "0", timeout=60)
    assert result.returncode == 2
    assert result.stderr == (
        f"duckwifi: error: --cors-origin {origin!r} is not an origin: give it as a browser sends it, "
        "scheme://host[:port] in lower case with no path and without the scheme's default port "
        "(http://localhost:3000), or * for any\n"
    )


def test_on_every_interface_it_prints_a_url_to_open_here(served_lake):
    """Bound to 0.0.0.0, the address to open on this machine is loopback's, not the wildcard."""
    server = start_server("--warehouse", served_lake.warehouse, "--host", "0.0.0.0", "--no-auth", "--cors-origin", "*")
    try:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.get("/api/health")[0] == 200
    finally:
        assert server.stop() == 0


def test_head_answers_as_get_without_a_body(served_lake):
    """Monitors and `curl -I` ask with HEAD, which every general-purpose server must answer (RFC 9110)."""
    server = start_server("--warehouse", served_lake.warehouse)
    try:
        for path in ["/api/health", "/api/meta", "/api/timeseries?metric=metric_2", "/"]:
            get_status, get_headers, get_body = server.get(path)
            assert get_status == 200, path
            status, headers, body = server.get(path, method="HEAD")
            assert (status, body) == (200, b""), path
            assert headers["content-type"] == get_headers["content-type"]
            if path != "/api/health":  # its seconds_since_publish moves between the two requests
                assert int(headers["content-length"]) == len(get_body), path
        assert server.get("/api/timeseries?metric=nope", method="HEAD")[0] == 422
        assert server.get("/api/nothing-here", method="HEAD")[0] == 404
        assert server.get("/api/health", method="POST")[0] == 405
    finally:
        assert server.stop() == 0
    assert "HEAD /api/health 200" in server.stderr


def test_serve_with_a_token_over_http(served_lake):
    server = start_server("--warehouse", served_lake.warehouse, "--token", "s3cret", "--lake", served_lake.lake)
    try:
        assert server.get("/api/meta")[0] == 401
        assert server.get("/api/meta", {"Authorization": "Bearer s3cret"})[0] == 200
        assert server.get("/")[0] == 200
    finally:
        assert server.stop() == 0


def test_a_warehouse_with_nothing_converted_serves_empty_answers(tmp_path):
    warehouse = tmp_path / "wh"
    warehouse.mkdir()
    server = start_server("--warehouse", warehouse)
    try:
        meta = server.json("/api/meta")
        assert (meta["first_hour"], meta["last_hour"]) == (None, None)
        assert server.json("/api/timeseries?metric=metric_1") == {"points": []}
        assert server.get("/api/devices/1")[0] == 404
    finally:
        assert server.stop() == 0


@pytest.mark.slow
def test_a_convert_under_a_live_server_shows_the_new_hour_within_5_seconds(tmp_path):
    lake = build_lake(tmp_path, hours=2, devices=200)
    server = start_server("--warehouse", lake.warehouse)
    try:
        before = server.json("/api/meta")
        assert before["last_hour"] == "2020-01-01T01:00:00"
        _, headers, _ = server.get("/api/timeseries?metric=metric_1")
        etag = headers["etag"]
        assert server.get("/api/timeseries?metric=metric_1", {"If-None-Match": etag})[0] == 304
        tick_and_convert(lake, 1)
        published = time.monotonic()
        while time.monotonic() - published < 5:
            after = server.json("/api/meta")
            if after["version"] != before["version"]:
                break
            time.sleep(0.2)
        assert after["version"] != before["version"]
        assert after["last_hour"] == "2020-01-01T02:00:00"
        points = server.json("/api/timeseries?metric=metric_1")["points"]
        assert points[-1]["time"] == "2020-01-01T02:00:00"
        assert server.get("/api/timeseries?metric=metric_1", {"If-None-Match": etag})[0] == 200
        assert server.json("/api/devices/5")["rows"][-1]["datetime"] == "2020-01-01T02:00:00"
    finally:
        assert server.stop() == 0
