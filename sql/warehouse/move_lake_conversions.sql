-- Re-points the ledger from the lake's old path to its new one after the lake moved (found by its marker).
-- Parameters: $old_lake, $new_lake VARCHAR.
-- Output: conversions rows name the new path.
UPDATE conversions
SET lake = $new_lake
WHERE lake = $old_lake;
