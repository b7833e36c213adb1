-- Re-points the rejections from the lake's old path to its new one after the lake moved (with the ledger).
-- Parameters: $old_lake, $new_lake VARCHAR.
-- Output: rejections rows name the new path.
UPDATE rejections
SET lake = $new_lake
WHERE lake = $old_lake;
