-- Writes one source's map rollup: per (hour, region, state, map cell, metric) the row count, sum, min
-- and max. The cell comes from each row's own latitude and longitude (rollup_cell_row and rollup_cell_col
-- in create_rollup_macros.sql: an equal-area grid of about 33 km), computed in SQL, so nothing depends on
-- the generator's devices table. The cell's id and centre are made after grouping, once per cell. The hour
-- is grouped by the Hive folder's keys (date and hour are constant in each file), not by date_trunc of
-- every row's datetime.
-- Parameters: $files VARCHAR[], the source's Parquet files; $target VARCHAR, the file to write.
-- Needs: rollup_cell_row, rollup_cell_col, rollup_cell_id, rollup_cell_lat, rollup_cell_lon, state_regions.
-- Output: Parquet file $target with columns hour TIMESTAMP, region, state, cell VARCHAR, lat DECIMAL(15, 2),
-- lon DOUBLE (the cell's centre), metric TINYINT, n BIGINT, s1 DECIMAL(38, 4), lo, hi DECIMAL(9, 4).
COPY (
    WITH placed AS (
        SELECT
            t.*,  -- noqa: AM04
            rollup_cell_row(t.latitude) AS cell_row
        FROM read_parquet(
            $files,
            hive_partitioning = TRUE,
            hive_types = { 'date': 'VARCHAR', 'hour': 'INTEGER', 'region': 'VARCHAR', 'state': 'VARCHAR' }
        ) AS t
    ),

    wide AS (
        SELECT
            t.date,
            t.hour,
            t.state,
            t.cell_row,
            rollup_cell_col(t.cell_row, t.longitude) AS cell_col,
            -- Every row of a date=/hour= folder lies in the same hour: its start, found once per group.
            date_trunc('hour', min(t.datetime)) AS hour_start,
            count(*) AS n,
            sum(t.metric_1) AS s1_1,
            min(t.metric_1) AS lo_1,
            max(t.metric_1) AS hi_1,
            sum(t.metric_2) AS s1_2,
            min(t.metric_2) AS lo_2,
            max(t.metric_2) AS hi_2,
            sum(t.metric_3) AS s1_3,
            min(t.metric_3) AS lo_3,
            max(t.metric_3) AS hi_3,
            sum(t.metric_4) AS s1_4,
            min(t.metric_4) AS lo_4,
            max(t.metric_4) AS hi_4,
            sum(t.metric_5) AS s1_5,
            min(t.metric_5) AS lo_5,
            max(t.metric_5) AS hi_5,
            sum(t.metric_6) AS s1_6,
            min(t.metric_6) AS lo_6,
            max(t.metric_6) AS hi_6,
            sum(t.metric_7) AS s1_7,
            min(t.metric_7) AS lo_7,
            max(t.metric_7) AS hi_7,
            sum(t.metric_8) AS s1_8,
            min(t.metric_8) AS lo_8,
            max(t.metric_8) AS hi_8,
            sum(t.metric_9) AS s1_9,
            min(t.metric_9) AS lo_9,
            max(t.metric_9) AS hi_9,
            sum(t.metric_10) AS s1_10,
            min(t.metric_10) AS lo_10,
            max(t.metric_10) AS hi_10,
            sum(t.metric_11) AS s1_11,
            min(t.metric_11) AS lo_11,
            max(t.metric_11) AS hi_11,
            sum(t.metric_12) AS s1_12,
            min(t.metric_12) AS lo_12,
            max(t.metric_12) AS hi_12,
            sum(t.metric_13) AS s1_13,
            min(t.metric_13) AS lo_13,
            max(t.metric_13) AS hi_13,
            sum(t.metric_14) AS s1_14,
            min(t.metric_14) AS lo_14,
            max(t.metric_14) AS hi_14,
            sum(t.metric_15) AS s1_15,
            min(t.metric_15) AS lo_15,
            max(t.metric_15) AS hi_15,
            sum(t.metric_16) AS s1_16,
            min(t.metric_16) AS lo_16,
            max(t.metric_16) AS hi_16,
            sum(t.metric_17) AS s1_17,
            min(t.metric_17) AS lo_17,
            max(t.metric_17) AS hi_17,
            sum(t.metric_18) AS s1_18,
            min(t.metric_18) AS lo_18,
            max(t.metric_18) AS hi_18,
            sum(t.metric_19) AS s1_19,
            min(t.metric_19) AS lo_19,
            max(t.metric_19) AS hi_19,
            sum(t.metric_20) AS s1_20,
            min(t.metric_20) AS lo_20,
            max(t.metric_20) AS hi_20
        FROM placed AS t
        GROUP BY ALL
    )

    SELECT
        u.hour_start AS hour,
        sr.region,
        u.state,
        rollup_cell_id(u.cell_row, u.cell_col) AS cell,
        rollup_cell_lat(u.cell_row) AS lat,
        rollup_cell_lon(u.cell_row, u.cell_col) AS lon,
        cast(u.metric AS TINYINT) AS metric,
        u.n,
        u.s1,
        u.lo,
        u.hi
    FROM (
        UNPIVOT wide ON
        (s1_1, lo_1, hi_1) AS '1',  -- noqa: RF02, RF03
        (s1_2, lo_2, hi_2) AS '2',  -- noqa: RF02, RF03
        (s1_3, lo_3, hi_3) AS '3',  -- noqa: RF02, RF03
        (s1_4, lo_4, hi_4) AS '4',  -- noqa: RF02, RF03
        (s1_5, lo_5, hi_5) AS '5',  -- noqa: RF02, RF03
        (s1_6, lo_6, hi_6) AS '6',  -- noqa: RF02, RF03
        (s1_7, lo_7, hi_7) AS '7',  -- noqa: RF02, RF03
        (s1_8, lo_8, hi_8) AS '8',  -- noqa: RF02, RF03
        (s1_9, lo_9, hi_9) AS '9',  -- noqa: RF02, RF03
        (s1_10, lo_10, hi_10) AS '10',  -- noqa: RF02, RF03
        (s1_11, lo_11, hi_11) AS '11',  -- noqa: RF02, RF03
        (s1_12, lo_12, hi_12) AS '12',  -- noqa: RF02, RF03
        (s1_13, lo_13, hi_13) AS '13',  -- noqa: RF02, RF03
        (s1_14, lo_14, hi_14) AS '14',  -- noqa: RF02, RF03
        (s1_15, lo_15, hi_15) AS '15',  -- noqa: RF02, RF03
        (s1_16, lo_16, hi_16) AS '16',  -- noqa: RF02, RF03
        (s1_17, lo_17, hi_17) AS '17',  -- noqa: RF02, RF03
        (s1_18, lo_18, hi_18) AS '18',  -- noqa: RF02, RF03
        (s1_19, lo_19, hi_19) AS '19',  -- noqa: RF02, RF03
        (s1_20, lo_20, hi_20) AS '20'  -- noqa: RF02, RF03
        INTO NAME metric VALUE s1, lo, hi
    ) AS u
    INNER JOIN state_regions AS sr ON u.state = sr.state
    ORDER BY u.metric, u.hour_start, cell, u.state
) TO $target (FORMAT parquet, COMPRESSION zstd);
