-- Marks a source's output as published (forget_rejection.sql clears its old rejection beside it).
-- Parameters: $lake VARCHAR, $source VARCHAR.
-- Output: the conversions row is 'done' with nothing retired.
UPDATE conversions
SET status = 'done', retired = []
WHERE lake = $lake AND source = $source;
