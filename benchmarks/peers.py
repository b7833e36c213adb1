"""The peers duckwifi is measured against: what a user would write themselves for the same two jobs.

Each peer does the same job as duckwifi: it fsyncs its files before it exits, and produces the same rows,
columns and precision (metrics with exactly four decimals, coordinates with six) and, for conversion, the same
column types (metrics DECIMAL(9, 4), coordinates DECIMAL(8, 6) and DECIMAL(9, 6)) and the same Hive layout
``date=dd-mm-yy/hour=H/region=R/state=SS/*.parquet`` with zstd compression. (pyarrow's writer has no fsync
option; its files are left to the page cache.)

Run one peer in its own process (so its peak memory is its own):

    python -m benchmarks.peers make-polars DEVICES_PARQUET OUT_CSV
    python -m benchmarks.peers convert-polars SRC_CSV LAKE
    python -m benchmarks.peers convert-pyarrow SRC_CSV LAKE
    python -m benchmarks.peers ingest-polars SRC_CSV LAKE       # the lake plus the rollups' statistics

``ingest-polars`` is the whole ingest job of ``duckwifi convert`` with rollups (issue 12): the partitioned
sink above plus, from the same rows, the three rollup tables duckwifi keeps (``LAKE/../<lake>-rollups``):
per (hour, region, state, band, metric) count, sum, sum of squares, min and max; per (hour, region, state,
metric) the log-bucket sketch (the same buckets, gamma = 1.02 / 0.98); per (hour, region, state, map cell,
metric) count, sum, min and max on the same equal-area grid. Sums stay exact decimals, as duckwifi's do.
All four outputs are one lazy query plan run by ``pl.collect_all`` on the streaming engine, so Polars reads
and parses the CSV once and feeds every sink from it (the "single pass"); ``ingest-polars-reread`` writes
the lake first and computes the statistics from its Parquet, as duckwifi does.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import Any

METRICS = [f"metric_{k}" for k in range(1, 21)]


def make_polars(devices_parquet: Path, out_csv: Path, hour: str = "2020-01-01 00:00:00", seed: int = 0) -> None:
    """numpy metrics + Polars ``write_csv``: the fastest hand-written generator we found."""
    import numpy as np
    import polars as pl

    devices = pl.read_parquet(devices_parquet)
    rng = np.random.default_rng(seed)
    n = devices.height
    # Ten-thousandths as Decimal(6, 4): the CSV gets exactly four decimals, like duckwifi's.
    metrics = {name: pl.Series(name, rng.integers(0, 1_000_000, n) / 10_000) for name in METRICS}
    frame = devices.select(
        pl.lit(hour).alias("datetime"), "region", "state", "latitude", "longitude", "site", "cell", "sector", "band"
    ).with_columns(**{name: series.cast(pl.Decimal(6, 4)) for name, series in metrics.items()})
    # duckwifi's hours are durable once written; the peer is made to do the same job.
    with open(out_csv, "wb") as handle:
        frame.write_csv(handle)
        handle.flush()
        os.fsync(handle.fileno())


def _hive_path(args: object) -> str:
    keys = args.keys  # type: ignore[attr-defined]
    parts = [f"{column}={keys[column][0]}" for column in ("date", "hour", "region", "state")]
    return "/".join(parts) + "/part-0.parquet"


def _scan_polars(src_csv: Path) -> Any:
    """The CSV as a typed lazy frame with the partition keys, as every Polars peer reads it."""
    import polars as pl

    schema = {
        "datetime": pl.String,
        "region": pl.String,
        "state": pl.String,
        "latitude": pl.Decimal(8, 6),
        "longitude": pl.Decimal(9, 6),
        "site": pl.Int64,
        "cell": pl.Int8,
        "sector": pl.Int8,
        "band": pl.Int8,
        **dict.fromkeys(METRICS, pl.Decimal(9, 4)),
    }
    ts = pl.col("datetime").str.to_datetime("%Y-%m-%d %H:%M:%S")
    return (
        pl.scan_csv(src_csv, schema=schema)
        .with_columns(ts.alias("datetime"))
        .with_columns(date=pl.col("datetime").dt.strftime("%d-%m-%y"), hour=pl.col("datetime").dt.hour())
    )


def _lake_sink(frame: Any, lake: Path, *, lazy: bool) -> Any:
    import polars as pl

    return frame.sink_parquet(
        pl.PartitionBy(lake, key=["date", "hour", "region", "state"], include_key=False),
        compression="zstd",
        mkdir=True,
        sync_on_close="all",
        lazy=lazy,
    )


def convert_polars(src_csv: Path, lake: Path) -> None:
    """Polars ``scan_csv`` into ``sink_parquet(pl.PartitionBy(...))``, streaming."""
    _lake_sink(_scan_polars(src_csv), lake, lazy=False)


def _rollup_frames(frame: Any) -> dict[str, Any]:
    """duckwifi's three rollup tables as lazy Polars frames over ``frame`` (rows with datetime and metrics)."""
    import polars as pl

    ln_gamma = math.log(1.02 / 0.98)
    step = 0.3
    hour = pl.col("datetime").dt.truncate("1h").alias("hour")
    keys = [hour, "region", "state"]

    def bucket(name: str) -> Any:
        x = pl.col(name).cast(pl.Float64)
        return (
            pl.when(x > 0)
            .then(2000 + (x.log() / ln_gamma).ceil().cast(pl.Int32))
            .when(x < 0)
            .then(-2000 - ((-x).log() / ln_gamma).ceil().cast(pl.Int32))
            .otherwise(0)
            .cast(pl.Int16)
            .alias("bucket")
        )

    def long(wide: Any, index: list[str], fields: list[str]) -> Any:
        # One row per metric, as duckwifi stores them (the wide result is small).
        parts = [
            wide.select(*index, pl.lit(k, pl.Int8).alias("metric"), *[pl.col(f"{f}_{k}").alias(f) for f in fields])
            for k in range(1, len(METRICS) + 1)
        ]
        return pl.concat(parts)

    stats_wide = frame.group_by([*keys, "band"]).agg(
        pl.len().alias("n"),
        *[
            e
            for k, name in enumerate(METRICS, 1)
            for e in (
                pl.col(name).sum().alias(f"s1_{k}"),
                # Polars keeps a product's scale at its inputs' (4), so the square is taken at scale 8 to
                # stay exact, as duckwifi's DECIMAL(18, 8) product is.
                (pl.col(name).cast(pl.Decimal(38, 8)) * pl.col(name).cast(pl.Decimal(38, 8))).sum().alias(f"s2_{k}"),
                pl.col(name).min().alias(f"lo_{k}"),
                pl.col(name).max().alias(f"hi_{k}"),
            )
        ],
    )
    stats = long(stats_wide, ["hour", "region", "state", "band", "n"], ["s1", "s2", "lo", "hi"])
    sketch = pl.concat(
        [
            frame.group_by([*keys, bucket(name)]).agg(pl.len().alias("n")).with_columns(metric=pl.lit(k, pl.Int8))
            for k, name in enumerate(METRICS, 1)
        ]
    )
    cell_row = ((pl.col("latitude").cast(pl.Float64) + 90) / step).floor().cast(pl.Int32)
    centre = -90 + (pl.col("cell_row") + 0.5) * step
    columns = pl.max_horizontal(pl.lit(1), (360 * centre.radians().cos() / step).round().cast(pl.Int32))
    cell_col = pl.min_horizontal(
        columns - 1, ((pl.col("longitude").cast(pl.Float64) + 180) * columns / 360).floor().cast(pl.Int32)
    )
    cells_wide = (
        frame.with_columns(cell_row=cell_row)
        .with_columns(cell_col=cell_col)
        .group_by([*keys, "cell_row", "cell_col"])
        .agg(
            pl.len().alias("n"),
            *[
                e
                for k, name in enumerate(METRICS, 1)
                for e in (
                    pl.col(name).sum().alias(f"s1_{k}"),
                    pl.col(name).min().alias(f"lo_{k}"),
                    pl.col(name).max().alias(f"hi_{k}"),
                )
            ],
        )
        .with_columns(
            cell=pl.format("{}-{}", "cell_row", "cell_col"),
            lat=centre,
            lon=-180 + (pl.col("cell_col") + 0.5) * 360 / columns,
        )
    )
    cells = long(cells_wide, ["hour", "region", "state", "cell", "lat", "lon", "n"], ["s1", "lo", "hi"])
    return {"stats": stats, "sketch": sketch, "cells": cells}


def _rollups_dir(lake: Path) -> Path:
    return lake.parent / f"{lake.name}-rollups"


def ingest_polars(src_csv: Path, lake: Path) -> None:
    """The lake and the rollups in one Polars plan: one CSV scan feeding four sinks (``pl.collect_all``)."""
    import polars as pl

    frame = _scan_polars(src_csv)
    out = _rollups_dir(lake)
    out.mkdir(parents=True, exist_ok=True)
    sinks = [_lake_sink(frame, lake, lazy=True)]
    for name, table in _rollup_frames(frame).items():
        sinks.append(table.sink_parquet(out / f"{name}.parquet", compression="zstd", sync_on_close="all", lazy=True))
    pl.collect_all(sinks, engine="streaming")


def ingest_polars_reread(src_csv: Path, lake: Path) -> None:
    """The lake first, then the rollups from its Parquet files (read back from the page cache)."""
    import polars as pl

    _lake_sink(_scan_polars(src_csv), lake, lazy=False)
    frame = pl.scan_parquet(str(lake / "**" / "*.parquet"), hive_partitioning=True)
    out = _rollups_dir(lake)
    out.mkdir(parents=True, exist_ok=True)
    sinks = [
        table.sink_parquet(out / f"{name}.parquet", compression="zstd", sync_on_close="all", lazy=True)
        for name, table in _rollup_frames(frame).items()
    ]
    pl.collect_all(sinks, engine="streaming")


def convert_pyarrow(src_csv: Path, lake: Path) -> None:
    """``pyarrow.csv`` into ``pyarrow.dataset.write_dataset`` with Hive partitioning."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pyarrow.dataset as ds

    types = {
        "datetime": pa.timestamp("us"),
        "region": pa.string(),
        "state": pa.string(),
        "latitude": pa.decimal128(8, 6),
        "longitude": pa.decimal128(9, 6),
        "site": pa.int64(),
        "cell": pa.int8(),
        "sector": pa.int8(),
        "band": pa.int8(),
        **dict.fromkeys(METRICS, pa.decimal128(9, 4)),
    }
    table = pacsv.read_csv(
        src_csv,
        convert_options=pacsv.ConvertOptions(column_types=types, timestamp_parsers=["%Y-%m-%d %H:%M:%S"]),
    )
    table = table.append_column("date", pc.strftime(table["datetime"], "%d-%m-%y")).append_column(
        "hour", pc.hour(table["datetime"]).cast(pa.int32())
    )
    ds.write_dataset(
        table,
        lake,
        format="parquet",
        partitioning=["date", "hour", "region", "state"],
        partitioning_flavor="hive",
        file_options=ds.ParquetFileFormat().make_write_options(compression="zstd"),
        existing_data_behavior="overwrite_or_ignore",
        max_partitions=100_000,
    )


def main() -> None:
    command, first, second = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    steps = {
        "make-polars": make_polars,
        "convert-polars": convert_polars,
        "convert-pyarrow": convert_pyarrow,
        "ingest-polars": ingest_polars,
        "ingest-polars-reread": ingest_polars_reread,
    }
    steps[command](first, second)


if __name__ == "__main__":
    main()
