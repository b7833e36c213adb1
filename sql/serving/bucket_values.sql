-- Every sketch key's representative value and edges, from the rollup macros (the one definition of the
-- sketch's buckets), one row per SMALLINT key in key order. The store reads this once; a question then
-- looks up the buckets its ranking picks (serving/ranking.py) rather than computing three powers for every
-- merged bucket (2 ms of a 30-day state breakdown's 12,000 buckets, docs/benchmarks.md). Keys no value of
-- the lake can have give 0 or infinity: no sketch holds them.
-- Parameters: none.
-- Needs: rollup_bucket_value, rollup_bucket_lower, rollup_bucket_upper (rollups/create_rollup_macros.sql).
-- Output: rows (bucket SMALLINT, value DOUBLE, lower DOUBLE, upper DOUBLE), bucket -32768 to 32767 in order.
SELECT
    cast(k.key AS SMALLINT) AS bucket,
    rollup_bucket_value(k.key) AS value,
    rollup_bucket_lower(k.key) AS lower,
    rollup_bucket_upper(k.key) AS upper
FROM range(-32768, 32768) AS k (key)
ORDER BY k.key;
