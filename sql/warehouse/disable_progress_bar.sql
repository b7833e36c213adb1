-- Turns off DuckDB's progress bar for this connection. The Python client draws it on stdout for statements
-- over 2 s whenever it believes it is interactive (a Dask worker process is), and stdout carries data.
-- Parameters: none.
-- Output: none; a session setting.
SET enable_progress_bar = FALSE;
