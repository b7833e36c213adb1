-- Records that a source file broke the contract, so that status can list it until it converts.
-- Parameters: $lake, $source VARCHAR; $byte_count BIGINT; $line BIGINT (NULL when no line applies);
-- $reason VARCHAR.
-- Output: one row in rejections.
INSERT OR REPLACE INTO rejections
VALUES ($lake, $source, $byte_count, $line, $reason, current_localtimestamp());
