-- Empties the reader's reject tables before a lenient read (convert --max-bad-rows): a read that sets nothing
-- aside leaves them as the previous read left them, so a clean file converted after a bad one on the same
-- reader would otherwise be counted with the bad file's rows. The next lenient read creates them again.
-- Parameters: none.
-- Output: none; reject_errors and reject_scans no longer exist.
DROP TABLE IF EXISTS reject_errors;
DROP TABLE IF EXISTS reject_scans;
