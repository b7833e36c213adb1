-- Forgets a source's rejection once a corrected version of it has converted.
-- Parameters: $lake VARCHAR, $source VARCHAR.
-- Output: no rejections row for the source.
DELETE FROM rejections
WHERE lake = $lake AND source = $source;
