-- Empties this cursor's scratch tables (the next question needs no hours older than the window).
-- Parameters: none.
-- Output: cells_edge and sketch_edge emptied.
DELETE FROM cells_edge;

DELETE FROM sketch_edge;
