"""The converter: a folder of hourly CSV files into a Hive-partitioned Parquet lake, exactly once."""
