"""A bounded load test of `duckwifi serve` on loopback: N clients for S seconds, mixing the data endpoints.

    flock /work/bench.lock .venv/bin/python -m benchmarks.serve_load --warehouse W --clients 16 --seconds 30 \\
        [--convert-during CSV_DIR LAKE | --convert-beside W2 CSV_DIR LAKE] [--out docs/benchmarks]

The server runs as its own process (`duckwifi serve --port 0`); the clients are threads of this process, each
with one keep-alive connection, sending only to 127.0.0.1. Requests are drawn at random (metric, stat, filters,
range start), so most miss the server's answer cache and reach the query library. ``--convert-during`` writes
one more hour with `tick` before the load starts and converts it while the load runs. ``--convert-beside``
converts CSV_DIR (hours already written, e.g. one 20M-device hour) into another warehouse W2 while the load
runs: the served data does not change, but the server shares the cores with a convert of that size. Every national count
time series is checked to hold whole hours only (each hour's count equal to the fleet's), so a reader that saw
a source's rollups in part would be counted. Reports p50, p95, p99 per endpoint, requests per second, errors.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlparse

METRICS = [f"metric_{k}" for k in range(1, 21)]
STATS = ["count", "avg", "min", "max", "stddev", "p50", "p90", "p99"]
MAP_STATS = ["count", "avg", "min", "max"]
STATES = ["TX", "CA", "NY", "FL", "IL", "PA", "OH", "GA", "WA", "CO"]
REGIONS = ["Midwest", "Northeast", "South", "West"]
FORMAT = "%Y-%m-%dT%H:%M:%S"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("DUCKWIFI_")}


@dataclass
class Plan:
    first: datetime
    last: datetime
    devices: int

    def hour(self, rng: random.Random) -> datetime:
        span = int((self.last - self.first).total_seconds() // 3600)
        return self.first + timedelta(hours=rng.randint(0, span))


def _request(kind: str, plan: Plan, rng: random.Random) -> tuple[str, bool]:
    """(path with query, whether to check the answer for whole hours)."""
    end = plan.last + timedelta(hours=1)
    metric = rng.choice(METRICS)
    if kind == "timeseries":
        if rng.random() < 0.25:
            return "/api/timeseries?" + urlencode({"metric": metric, "stat": "count"}), True
        params: dict[str, str] = {"metric": metric, "stat": rng.choice(STATS)}
        if rng.random() < 0.5:
            params["state"] = rng.choice(STATES)
        params["from"] = plan.hour(rng).strftime(FORMAT)
        return "/api/timeseries?" + urlencode(params), False
    if kind == "breakdown":
        start = plan.hour(rng)
        params = {"metric": metric, "stat": rng.choice(STATS), "by": rng.choice(["state", "region"])}
        params |= {"from": start.strftime(FORMAT), "to": end.strftime(FORMAT)}
        if rng.random() < 0.3:
            params["compare"] = "previous"
        return "/api/breakdown?" + urlencode(params), False
    if kind == "map":
        hours = rng.randint(1, 24)
        params = {"metric": metric, "stat": rng.choice(MAP_STATS)}
        params |= {"from": (end - timedelta(hours=hours)).strftime(FORMAT), "to": end.strftime(FORMAT)}
        return "/api/map?" + urlencode(params), False
    if kind == "distribution":
        params = {"metric": metric, "from": plan.hour(rng).strftime(FORMAT)}
        if rng.random() < 0.5:
            params["region"] = rng.choice(REGIONS)
        return "/api/distribution?" + urlencode(params), False
    return f"/api/devices/{rng.randint(1, plan.devices)}", False


KINDS = ["timeseries", "breakdown", "map", "distribution", "devices"]


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    partial_answers: int = 0
    versions: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _client(url: str, plan: Plan, deadline: float, seed: int, results: Results) -> None:
    parsed = urlparse(url)
    rng = random.Random(seed)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    while time.monotonic() < deadline:
        kind = rng.choice(KINDS)
        path, check_whole = _request(kind, plan, rng)
        started = time.perf_counter()
        try:
            connection.request("GET", path, headers={"Accept-Encoding": "gzip"})
            response = connection.getresponse()
            body = response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
            status, body = 0, b""
        elapsed = time.perf_counter() - started
        bad = status != 200 and not (kind == "devices" and status == 404)
        partial = False
        if check_whole and status == 200:
            import gzip as _gzip

            points = json.loads(_gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body)["points"]
            partial = any(p["count"] != plan.devices for p in points)
        with results.lock:
            results.latencies[kind].append(elapsed)
            results.errors[kind] += int(bad)
            results.partial_answers += int(partial)
    connection.close()


def _percentile(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass(frozen=True)
class Convert:
    """The convert run while the load runs: into ``warehouse``, of ``csv`` (written first when ``tick``)."""

    warehouse: Path
    csv: Path
    lake: Path
    tick: bool


def run(warehouse: Path, clients: int, seconds: float, convert_during: Convert | None) -> dict:
    if convert_during is not None and convert_during.tick:
        subprocess.run(
            [sys.executable, "-m", "duckwifi", "tick", "-w", str(warehouse), "--out", str(convert_during.csv)],
            check=True,
            env=_env(),
            capture_output=True,
        )
    server = subprocess.Popen(
        [sys.executable, "-m", "duckwifi", "serve", "-w", str(warehouse), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_env(),
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        parsed = urlparse(url)
        assert parsed.hostname == "127.0.0.1", url
        probe = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
        probe.request("GET", "/api/meta")
        meta = json.loads(probe.getresponse().read())
        probe.close()
        plan = Plan(
            datetime.strptime(meta["first_hour"], FORMAT),
            datetime.strptime(meta["last_hour"], FORMAT),
            int(meta["last_hour_rows"]),
        )
        results = Results()
        deadline = time.monotonic() + seconds
        threads = [
            threading.Thread(target=_client, args=(url, plan, deadline, seed, results)) for seed in range(clients)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        convert_s = None
        converting = None
        if convert_during is not None:
            time.sleep(min(5.0, seconds / 4))
            t0 = time.monotonic()
            converting = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "duckwifi",
                    "convert",
                    "-w",
                    str(convert_during.warehouse),
                    str(convert_during.csv),
                    str(convert_during.lake),
                ],
                env=_env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        for thread in threads:
            thread.join()
        # Requests per second count the load's own window, not a convert that outlasts it.
        wall = time.monotonic() - started
        if converting is not None:
            _, stderr = converting.communicate()
            if converting.returncode != 0:
                raise RuntimeError(f"the convert during the load failed: {stderr.decode(errors='replace')}")
            convert_s = time.monotonic() - t0
        # The server follows the store by polling it; give it the promised 5 s (and some) to see a convert.
        settle = time.monotonic() + (10 if convert_during is not None and convert_during.tick else 0)
        while True:
            probe = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
            probe.request("GET", "/api/meta")
            after = json.loads(probe.getresponse().read())
            probe.close()
            if after["version"] != meta["version"] or time.monotonic() >= settle:
                break
            time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=30)
    total = sum(len(v) for v in results.latencies.values())
    return {
        "clients": clients,
        "seconds": round(wall, 1),
        "requests": total,
        "requests_per_s": round(total / wall, 1),
        "errors": sum(results.errors.values()),
        "partial_answers": results.partial_answers,
        "convert_s": None if convert_s is None else round(convert_s, 1),
        "version_before": meta["version"],
        "version_after": after["version"],
        "fleet": plan.devices,
        "hours": [meta["first_hour"], after["last_hour"]],
        "endpoints": {
            kind: {
                "requests": len(samples),
                "p50_ms": round(_percentile(samples, 0.50) * 1000, 1),
                "p95_ms": round(_percentile(samples, 0.95) * 1000, 1),
                "p99_ms": round(_percentile(samples, 0.99) * 1000, 1),
                "mean_ms": round(statistics.fmean(samples) * 1000, 1) if samples else None,
                "errors": results.errors[kind],
            }
            for kind, samples in results.latencies.items()
        },
    }


def markdown(result: dict, title: str) -> str:
    lines = [
        f"**{title}**: {result['clients']} clients, {result['seconds']} s, {result['requests']:,} requests, "
        f"{result['requests_per_s']} requests/s, {result['errors']} errors, {result['partial_answers']} partial "
        f"answers" + (f", convert of one hour took {result['convert_s']} s" if result["convert_s"] else ""),
        "",
        "| endpoint | requests | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind, e in result["endpoints"].items():
        lines.append(f"| {kind} | {e['requests']:,} | {e['p50_ms']} | {e['p95_ms']} | {e['p99_ms']} | {e['errors']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30.0)
    converts = parser.add_mutually_exclusive_group()
    converts.add_argument("--convert-during", nargs=2, type=Path, metavar=("CSV_DIR", "LAKE"))
    converts.add_argument("--convert-beside", nargs=3, type=Path, metavar=("WAREHOUSE", "CSV_DIR", "LAKE"))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--label", default="serve load")
    args = parser.parse_args(argv)
    if args.seconds > 120 or args.clients > 64:
        parser.error("the load test is bounded: at most 120 s and 64 clients")
    convert = None
    if args.convert_during:
        convert = Convert(args.warehouse, *args.convert_during, tick=True)
    elif args.convert_beside:
        convert = Convert(*args.convert_beside, tick=False)
    result = run(args.warehouse, args.clients, args.seconds, convert)
    print(markdown(result, args.label))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        target = args.out / "serve_load.json"
        existing = json.loads(target.read_text()) if target.exists() else {}
        existing[args.label] = result
        target.write_text(json.dumps(existing, indent=2) + "\n")


if __name__ == "__main__":
    main()
