-- Records the warehouse's identity and its lake (first convert, or a lake found at a new path).
-- Parameters: $warehouse_id, $lake_id, $lake VARCHAR.
-- Output: the identity table holds exactly this row.
INSERT OR REPLACE INTO identity
VALUES (1, $warehouse_id, $lake_id, $lake);
