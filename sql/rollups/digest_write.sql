-- Writes a day digest's files: the serving store's derived rows of one day, as a scratch serving store holds
-- them after replace_hours.sql and replace_days.sql ran for that day's hours (duckwifi/rollups/digests.py).
-- Sorted by metric, level and time like the serving tables, so a load keeps their order.
-- Parameters: $stats_hour, $stats_day, $sketch_hour, $sketch_day, $quantile_hour, $quantile_day,
-- $cells_day, $cell_centres, $hour_rows VARCHAR: the Parquet file to write for each table.
-- Output: nine Parquet files (zstd), one per table of the scratch store; each table's own columns, hence
-- SELECT * and the noqa.
-- noqa: disable=AM04
COPY (
    SELECT * FROM stats_hour
    ORDER BY metric, level, t
) TO $stats_hour (FORMAT parquet, COMPRESSION zstd);

COPY (
    SELECT * FROM stats_day
    ORDER BY metric, level, t
) TO $stats_day (FORMAT parquet, COMPRESSION zstd);

COPY (
    SELECT * FROM sketch_hour
    ORDER BY metric, level, t
) TO $sketch_hour (FORMAT parquet, COMPRESSION zstd);

COPY (
    SELECT * FROM sketch_day
    ORDER BY metric, level, t
) TO $sketch_day (FORMAT parquet, COMPRESSION zstd);

COPY (
    SELECT * FROM quantile_hour
    ORDER BY metric, level, t
) TO $quantile_hour (FORMAT parquet, COMPRESSION zstd);

COPY (
    SELECT * FROM quantile_day
    ORDER BY metric, level, t
) TO $quantile_day (FORMAT parquet, COMPRESSION zstd);

COPY (
    SELECT * FROM cells_day
    ORDER BY metric, t
) TO $cells_day (FORMAT parquet, COMPRESSION zstd);

COPY (
    SELECT * FROM cell_centres
    ORDER BY cell
) TO $cell_centres (FORMAT parquet, COMPRESSION zstd);

COPY (
    SELECT * FROM hour_rows
    ORDER BY t
) TO $hour_rows (FORMAT parquet, COMPRESSION zstd);
