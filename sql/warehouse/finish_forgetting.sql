-- Closes a forgotten source's journal entry once its lake files are deleted.
-- Parameters: $lake VARCHAR, $source VARCHAR.
-- Output: no forgetting row for the source.
DELETE FROM forgetting
WHERE lake = $lake AND source = $source;
