"""duckwifi: hourly wifi-modem telemetry on DuckDB, from dummy CSVs to a partitioned Parquet lake."""

__version__ = "0.1.0"
