-- Lists what the ledger knows of one lake's source files.
-- Parameters: $lake VARCHAR, the lake's absolute path.
-- Output: one row per source (source, byte_count, mtime_ns, sha256, status, outputs, retired,
-- output_bytes, set_aside_rows), by source.
SELECT
    source,
    byte_count,
    mtime_ns,
    sha256,
    status,
    outputs,
    retired,
    output_bytes,
    coalesce(set_aside_rows, 0) AS set_aside_rows
FROM conversions
WHERE lake = $lake
ORDER BY source;
