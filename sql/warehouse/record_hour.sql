-- Records one written hour. Replacing is allowed: a tick killed after its rename but before this record
-- rewrites the same hour byte for byte, and records it then.
-- Parameters: $hour TIMESTAMP, $path VARCHAR, $row_count BIGINT, $byte_count BIGINT.
-- Output: one row in hours.
INSERT OR REPLACE INTO hours
VALUES ($hour, $path, $row_count, $byte_count, current_localtimestamp());
