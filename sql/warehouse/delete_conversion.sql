-- Removes a forgotten source from the ledger (start_forgetting.sql has journalled its outputs).
-- Parameters: $lake VARCHAR, $source VARCHAR.
-- Output: no conversions row for the source.
DELETE FROM conversions
WHERE lake = $lake AND source = $source;
