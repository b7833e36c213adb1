-- Converts one CSV file into Hive-partitioned Parquet under a staging folder: date=dd-mm-yy/hour=H/
-- region=R/state=SS/<pattern>.parquet.partial. Python then renames each file into the lake.
-- The datetime stays a typed TIMESTAMP column, so time-range queries never parse strings; date and hour
-- are computed once here and live only in the folder names.
-- Compression: zstd (level 3), about a third smaller than snappy on these metrics for little extra CPU.
-- Row groups: DuckDB's default of 122,880 rows (vector-aligned); a state-hour file of a 20M-device fleet
-- holds a few of them, enough for pruning by row-group statistics on site and datetime.
-- Dictionaries: at most 4,096 bytes. cell, sector, band and datetime (a few values each) stay
-- dictionary-encoded, while a metric, with a million possible values, gives up its dictionary at once
-- instead of building a large one first: 10% less CPU for the Parquet write, the same lake size.
-- Rows are sorted by site inside every file (ORDER_BY, DuckDB's sorted write: an ORDER BY in the query
-- would not survive the partitioned write), so a device lookup prunes row groups by their site statistics.
-- A row that breaks a rule of checked_telemetry aborts the whole COPY: a file is converted whole or not
-- at all.
-- Parameters: $source VARCHAR, the CSV file; $staging VARCHAR, an empty staging folder;
-- $filename_pattern VARCHAR, the output name derived from the source, with DuckDB's {i} counter;
-- $lenient BOOLEAN, TRUE to skip rows the reader cannot parse into reject_errors (--max-bad-rows).
-- Needs: checked_telemetry (create_reader_macros.sql).
-- Output: the Parquet files; the statement returns the number of rows written.
-- Lint: the linter's DuckDB grammar lacks FILE_EXTENSION and ORDER_BY, hence the noqa on the options.
COPY (
    SELECT
        -- Every column of the contract in its order (read_csv in checked_telemetry fixes it); region and
        -- state move to the partition folders. The linter cannot see that the star's columns are fixed
        -- and reads EXCLUDE's names as references, hence the noqa.
        c.* EXCLUDE (region, state, problem),  -- noqa: AM04, RF03
        strftime(c.datetime, '%d-%m-%y') AS date,
        hour(c.datetime) AS hour,
        c.region,
        CASE WHEN c.problem IS NULL THEN c.state ELSE error(c.problem) END AS state
    FROM checked_telemetry($source, lenient := $lenient) AS c
) TO $staging (  -- noqa: PRS
    FORMAT parquet,
    PARTITION_BY (date, hour, region, state),
    FILENAME_PATTERN $filename_pattern,
    FILE_EXTENSION 'parquet.partial',
    COMPRESSION zstd,
    DICTIONARY_SIZE_LIMIT 4096,
    ORDER_BY (site)
);
