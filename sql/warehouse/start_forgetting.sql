-- Moves a source from the ledger to the forgetting journal (its lake files are deleted next). Runs in one
-- transaction with delete_conversion.sql, so a kill leaves the source either converted or being forgotten.
-- Parameters: $lake VARCHAR, $source VARCHAR.
-- Output: one row in forgetting with the source's outputs (and any retired outputs not yet deleted).
INSERT OR REPLACE INTO forgetting
SELECT
    c.lake,
    c.source,
    list_distinct(list_concat(c.outputs, c.retired)) AS outputs
FROM conversions AS c
WHERE c.lake = $lake AND c.source = $source;
