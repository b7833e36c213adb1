-- Lists the source files that convert rejected and that have not converted since.
-- Parameters: none.
-- Output: one row per rejected file (lake, source, line, reason), by source path.
SELECT
    lake,
    source,
    line,
    reason
FROM rejections
ORDER BY lake, source;
