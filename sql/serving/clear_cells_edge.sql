-- Empties this cursor's cells_edge (the next map question needs no hours older than the window).
-- Parameters: none.
-- Output: cells_edge emptied.
DELETE FROM cells_edge;
