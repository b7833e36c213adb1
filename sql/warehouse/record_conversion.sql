-- Records a source whose output is staged and about to be renamed into the lake ('publishing').
-- After a crash, the next convert finishes the renames from this row, so nothing is lost or doubled.
-- Parameters: $lake, $source VARCHAR; $byte_count, $mtime_ns BIGINT; $sha256 VARCHAR; $row_count BIGINT;
-- $outputs VARCHAR[] (lake-relative); $retired VARCHAR[] (older outputs to delete after publishing);
-- $output_bytes BIGINT[], the size of each output.
-- Output: one row in conversions.
INSERT OR REPLACE INTO conversions (
    lake, source, byte_count, mtime_ns, sha256, row_count, outputs, retired, status, converted_at,
    output_bytes
)
VALUES (
    $lake, $source, $byte_count, $mtime_ns, $sha256, $row_count, $outputs, $retired, 'publishing',
    current_localtimestamp(), $output_bytes
);
