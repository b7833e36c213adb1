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
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

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


def convert_polars(src_csv: Path, lake: Path) -> None:
    """Polars ``scan_csv`` into ``sink_parquet(pl.PartitionBy(...))``, streaming."""
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
    frame = (
        pl.scan_csv(src_csv, schema=schema)
        .with_columns(ts.alias("datetime"))
        .with_columns(date=pl.col("datetime").dt.strftime("%d-%m-%y"), hour=pl.col("datetime").dt.hour())
    )
    frame.sink_parquet(
        pl.PartitionBy(lake, key=["date", "hour", "region", "state"], include_key=False),
        compression="zstd",
        mkdir=True,
        sync_on_close="all",
    )


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
    {"make-polars": make_polars, "convert-polars": convert_polars, "convert-pyarrow": convert_pyarrow}[command](
        first, second
    )


if __name__ == "__main__":
    main()
