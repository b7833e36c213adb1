"""The big answer: a map over the whole range, as JSON and as Arrow IPC, with its encoding costs.

    flock /work/bench.lock .venv/bin/python -m benchmarks.serve_encoding --warehouse W [--repeat 5]

Times, for ``/api/map?metric=metric_1&stat=avg`` over all data and over the newest 24 hours: the query library,
the answer's JSON text, gzip of it (as served, and by the standard library), the Arrow IPC stream, gzip of that;
and the bytes of each.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson

from duckwifi.api import encoding
from duckwifi.api.app import _cells_schema
from duckwifi.api.data import DashboardData
from duckwifi.api.params import DataQuery, Range
from duckwifi.warehouse import Warehouse


def _median_ms(work: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    samples, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = work()
        samples.append(time.perf_counter() - t0)
    return round(statistics.median(samples) * 1000, 1), result


def measure(data: DashboardData, query: DataQuery, repeat: int) -> dict[str, Any]:
    """The map's costs as the server pays them: the library's rows, their JSON (orjson, as served) and the
    Arrow stream, each gzipped as served (ISA-L) and, for comparison in the same run, by the standard library."""
    library_ms, cells = _median_ms(lambda: data.map_cells(query, None), repeat)
    json_ms, body = _median_ms(lambda: orjson.dumps({"cells": cells}), repeat)
    json_gzip_ms, json_gz = _median_ms(lambda: encoding.compressed(body, encoding.JSON).gzipped, repeat)
    stdlib_ms, stdlib_gz = _median_ms(lambda: gzip.compress(body, compresslevel=encoding.GZIP_LEVEL, mtime=0), repeat)
    arrow_ms, arrow = _median_ms(
        lambda: encoding.arrow_answer(encoding.arrow_rows(cells, _cells_schema(False))), repeat
    )
    return {
        "cells": len(cells),
        "library_ms": library_ms,
        "json": {
            "encode_ms": json_ms,
            "bytes": len(body),
            "gzip_ms": json_gzip_ms,
            "gzip_bytes": len(json_gz or b""),
            "stdlib_gzip_ms": stdlib_ms,
            "stdlib_gzip_bytes": len(stdlib_gz),
        },
        "arrow": {
            "encode_and_gzip_ms": arrow_ms,
            "bytes": len(arrow.body),
            "gzip_bytes": len(arrow.gzipped or b""),
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    data = DashboardData(Warehouse(args.warehouse))
    newest = data.newest_hour()
    assert newest is not None, "nothing published"
    end = newest + timedelta(hours=1)
    result = {
        "all data": measure(data, DataQuery("metric_1", "avg", Range(None, None)), args.repeat),
        "newest 24 hours": measure(
            data, DataQuery("metric_1", "avg", Range(end - timedelta(hours=24), end)), args.repeat
        ),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
