-- Lists the converted sources of which convert --max-bad-rows set rows aside (in <warehouse>/rejects/).
-- Parameters: none.
-- Output: one row per such source (lake, source, set_aside_rows), by source.
SELECT
    lake,
    source,
    set_aside_rows
FROM conversions
WHERE set_aside_rows > 0
ORDER BY lake, source;
