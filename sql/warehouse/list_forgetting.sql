-- Lists the forgotten sources of one lake whose lake files may not all be deleted yet.
-- Parameters: $lake VARCHAR.
-- Output: one row per source (source, outputs).
SELECT
    source,
    outputs
FROM forgetting
WHERE lake = $lake
ORDER BY source;
