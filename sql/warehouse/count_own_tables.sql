-- Counts duckwifi's bookkeeping tables in the open database, to tell a warehouse from any other DuckDB file.
-- Parameters: none.
-- Output: one row (tables), 4 for a duckwifi warehouse.
SELECT count(*) AS tables
FROM duckdb_tables()
WHERE
    database_name = current_database()
    AND table_name IN ('generator', 'hours', 'conversions', 'rejections');
