-- The lakes the conversions ledger knows, newest conversion first (a warehouse has one lake; older
-- ledgers may name more).
-- Parameters: none.
-- Output: rows (lake VARCHAR, sources BIGINT).
SELECT
    c.lake,
    count(*) AS sources
FROM conversions AS c
GROUP BY c.lake
ORDER BY max(c.converted_at) DESC;
