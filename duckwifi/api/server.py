"""Runs the dashboard: finds the lake, binds the address, serves with uvicorn, stops cleanly on a signal.

The command opens nothing of the warehouse but ``lake.json``, the rollup store and Parquet files: never
``state.duckdb`` and never ``warehouse.duckdb``, so it never waits for ``tick`` or ``convert`` nor makes them
wait. The socket is bound here, before uvicorn starts, so a port in use is one line and exit 16.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import logging
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

import uvicorn

from duckwifi.api.app import ServeSettings, create_app
from duckwifi.api.data import DashboardData
from duckwifi.api.devices import DeviceReader, warehouse_lake
from duckwifi.converter.identity import lake_missing
from duckwifi.errors import BadArgument, LakeUnreadable, PortInUse, WarehouseCorrupt, WarehouseMissing
from duckwifi.warehouse import Warehouse, registered_lake

log = logging.getLogger("duckwifi.serve")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# Seconds that open connections get to finish after Ctrl-C or SIGTERM.
GRACEFUL_SHUTDOWN_S = 5


@dataclass(frozen=True)
class ServeOptions:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    lake: Path | None = None
    token: str | None = None
    no_auth: bool = False
    cors_origins: list[str] = field(default_factory=list)


def resolve_lake(warehouse: Warehouse, asked: Path | None) -> Path | None:
    """The warehouse's lake (from ``lake.json``), checked readable; None before the first convert."""
    if not warehouse.root.is_dir():
        raise WarehouseMissing.at(warehouse.root, "`duckwifi tick` and `duckwifi convert`")
    try:
        lake = registered_lake(warehouse)
    except WarehouseCorrupt as error:
        raise LakeUnreadable(str(error)) from None
    if asked is not None:
        if lake is None:
            raise BadArgument(f"--lake {asked}: the warehouse {warehouse.root} has no lake yet; convert into it first")
        if asked.resolve() != lake.resolve():
            raise BadArgument(f"--lake {asked} is not the lake of {warehouse.root}, which is {lake}")
    if lake is not None:
        try:
            next(iter(lake.iterdir()), None)
        except OSError as error:
            raise LakeUnreadable(f"cannot read the lake {lake}: {error.strerror or error}") from None
        if lake_missing(warehouse, lake):
            # An empty folder at the lake's path: the mount point of a disk that is not mounted.
            raise LakeUnreadable.gone(lake)
    return lake


def is_loopback(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


def check_exposure(options: ServeOptions) -> None:
    if options.token is not None and options.no_auth:
        raise BadArgument("--token and --no-auth contradict each other; give one")
    if options.token is not None and not options.token.strip():
        raise BadArgument("--token must not be empty")
    if not is_loopback(options.host) and options.token is None and not options.no_auth:
        raise BadArgument(
            f"--host {options.host} is reachable from other machines: give --token TOKEN (bearer authentication "
            "on /api/*) or --no-auth to serve without it"
        )


def check_cors_origins(origins: Sequence[str]) -> None:
    """Each ``--cors-origin`` is what a browser sends in its Origin header (scheme://host[:port], in lower case,
    nothing after), or ``*`` for any: anything else would never match, and the front end would fail silently."""
    for origin in origins:
        if origin == "*":
            continue
        parts = urlsplit(origin)
        try:
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number from 0 to 65535
        except ValueError:
            parts = urlsplit("")
        default_port = {"http": 80, "https": 443}.get(parts.scheme)
        if (
            default_port is None
            or not parts.hostname
            or origin != f"{parts.scheme}://{parts.netloc}".lower()
            # A browser leaves the scheme's own port out of the Origin it sends.
            or parts.port == default_port
        ):
            raise BadArgument(
                f"--cors-origin {origin!r} is not an origin: give it as a browser sends it, scheme://host[:port] "
                "in lower case with no path and without the scheme's default port (http://localhost:3000), or * for "
                "any"
            )


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0 picks a free one)."""
    if not 0 <= port <= 65535:
        raise BadArgument(f"--port must be from 0 to 65535, not {port}")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as error:
        raise BadArgument(f"--host {host}: {error.strerror}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise PortInUse(
                f"port {port} on {host} is already in use; stop what listens there or pick --port"
            ) from None
        raise BadArgument(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    return sock


def url_of(sock: socket.socket) -> str:
    """The URL to open: on a wildcard address (every interface), this machine's loopback one."""
    host, port = sock.getsockname()[:2]
    address = ipaddress.ip_address(host)
    if address.is_unspecified:
        host = "::1" if address.version == 6 else "127.0.0.1"
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


class _Server(uvicorn.Server):
    """uvicorn, stopping gracefully on SIGINT or SIGTERM and then returning (uvicorn would re-raise the signal)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def stop(signum: int, _frame: FrameType | None) -> None:
            if self.should_exit:
                self.force_exit = True
            self.should_exit = True

        handled = (signal.SIGINT, signal.SIGTERM)
        original: dict[int, Callable[..., object] | int | None] = {sig: signal.signal(sig, stop) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


def _log_to_stderr() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%Y-%m-%dT%H:%M:%S"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def serve(warehouse: Warehouse, options: ServeOptions, *, on_ready: Callable[[str], None]) -> None:
    """Serve until a signal; ``on_ready`` gets the URL once the socket listens and the data is loaded."""
    check_exposure(options)
    check_cors_origins(options.cors_origins)
    lake = resolve_lake(warehouse, options.lake)
    sock = bind(options.host, options.port)
    try:
        _log_to_stderr()
        # A month of rollups takes minutes to load into memory; say so rather than sit silent.
        log.info("loading the rollup store of %s into memory", warehouse.root)
        started = time.monotonic()
        data = DashboardData(warehouse)
        log.info("loaded in %.1f s", time.monotonic() - started)
        devices = DeviceReader(warehouse_lake(warehouse, lake), warehouse.devices_parquet)
        settings = ServeSettings(token=options.token, cors_origins=list(options.cors_origins))
        app = create_app(data, devices, settings)
        if data.newest_hour() is None and devices.newest_hour() is not None:
            log.warning(
                "the lake has data but the rollup store has none (a lake converted before rollups existed): "
                "run `duckwifi rollup --rebuild` to fill it; the dashboard follows the store once it is published"
            )
        config = uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
            server_header=False,
        )
        server = _Server(config)
        on_ready(url_of(sock))
        server.run(sockets=[sock])
        data.close()
        devices.close()
    finally:
        sock.close()
