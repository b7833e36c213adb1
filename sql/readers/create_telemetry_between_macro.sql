-- Creates telemetry_between, the telemetry view's time-range macro, which reads only the hour partitions
-- of the range. It follows whichever telemetry view is defined: the lake's, or the empty one.
-- The hour_start bounds prune the partitions; the datetime bounds keep the answer exact should a row's
-- datetime ever fall inside its hour rather than on it. The linter reads the macro's parameters as
-- columns, hence the noqa.
-- Parameters: none (range_start and range_end are the macro's own).
-- Output: table macro telemetry_between(range_start, range_end), the rows of telemetry with
-- range_start <= datetime < range_end.
CREATE OR REPLACE MACRO telemetry_between(range_start, range_end) AS TABLE  -- noqa: CP05
    SELECT tl.*  -- noqa: AM04
    FROM telemetry AS tl
    WHERE
        tl.hour_start >= date_trunc('hour', range_start::TIMESTAMP)  -- noqa: RF03
        AND tl.hour_start < range_end::TIMESTAMP  -- noqa: RF03
        AND tl.datetime >= range_start::TIMESTAMP  -- noqa: RF03
        AND tl.datetime < range_end::TIMESTAMP;  -- noqa: RF03
