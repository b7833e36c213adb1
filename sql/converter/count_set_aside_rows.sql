-- Counts the rows the last lenient read (convert --max-bad-rows) set aside, and finds the first of them.
-- Parameters: none. Needs: reject_errors and reject_scans, written by read_csv's store_rejects.
-- Output: one row (set_aside, first_line, first_reason); set_aside 0 and NULLs when none.
SELECT
    count(DISTINCT e.line) AS set_aside,
    min(e.line) AS first_line,
    arg_min(e.error_message, e.line) AS first_reason
FROM reject_errors AS e
WHERE e.scan_id = (SELECT max(s.scan_id) FROM reject_scans AS s);
