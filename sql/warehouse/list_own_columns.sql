-- Lists the columns of the tables in the open database, to tell a warehouse made by an older duckwifi.
-- Parameters: none.
-- Output: one row per column (table_name, column_name).
SELECT
    table_name,
    column_name
FROM duckdb_columns()
WHERE database_name = current_database() AND schema_name = 'main';
