-- Reads the warehouse's identity and its lake, plus the lakes the ledger names (from before lakes had
-- identities, one warehouse could convert into several).
-- Parameters: none.
-- Output: one row (warehouse_id, lake_id, lake, ledger_lakes); the first three NULL before any convert.
SELECT
    (SELECT i.warehouse_id FROM identity AS i) AS warehouse_id,
    (SELECT i.lake_id FROM identity AS i) AS lake_id,
    (SELECT i.lake FROM identity AS i) AS lake,
    (SELECT list(DISTINCT c.lake ORDER BY c.lake) FROM conversions AS c) AS ledger_lakes;
