-- Re-points a converted source to its new path after the file was moved (same content, same SHA-256),
-- so that later runs find it by the cheap (size, mtime) test and `check --repair` can read it there.
-- Parameters: $lake VARCHAR; $old_source, $new_source VARCHAR; $mtime_ns BIGINT, the new file's mtime.
-- Output: the conversions row carries the new path and mtime.
UPDATE conversions
SET source = $new_source, mtime_ns = $mtime_ns
WHERE lake = $lake AND source = $old_source;
