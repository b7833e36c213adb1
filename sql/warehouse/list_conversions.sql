-- Lists what the ledger knows of one lake's source files.
-- Parameters: $lake VARCHAR, the lake's absolute path.
-- Output: one row per source (source, byte_count, mtime_ns, sha256, status, outputs, retired,
-- output_bytes), by source.
SELECT
    source,
    byte_count,
    mtime_ns,
    sha256,
    status,
    outputs,
    retired,
    output_bytes
FROM conversions
WHERE lake = $lake
ORDER BY source;
