-- Forgets every hour written, for init --force: the new fleet's clock starts over.
-- Parameters: none.
-- Output: the hours table is empty.
DELETE FROM hours;
