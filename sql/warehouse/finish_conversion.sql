-- Marks a source's output as published, and forgets any rejection of an earlier version of it.
-- Parameters: $lake VARCHAR, $source VARCHAR.
-- Output: the conversions row is 'done' with nothing retired; no rejections row for the source.
UPDATE conversions
SET status = 'done', retired = []
WHERE lake = $lake AND source = $source;
