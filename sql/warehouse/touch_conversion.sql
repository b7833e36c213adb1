-- Notes a converted source's new modification time when its checksum shows the content is unchanged.
-- Parameters: $lake VARCHAR, $source VARCHAR, $mtime_ns BIGINT.
-- Output: the conversions row carries the new mtime.
UPDATE conversions
SET mtime_ns = $mtime_ns
WHERE lake = $lake AND source = $source;
