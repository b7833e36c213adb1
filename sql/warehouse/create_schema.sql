-- Creates the warehouse's bookkeeping tables where they are missing; safe to run on every open.
-- Parameters: none.
-- Output: tables generator (one row: seed, device count, clock), hours (one row per CSV hour written),
-- conversions (one row per converted source file), rejections (source files convert refused), identity
-- (who this warehouse is and where its one lake is) and forgetting (lake files of forgotten sources still
-- to delete).
CREATE TABLE IF NOT EXISTS generator (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seed BIGINT NOT NULL,
    devices BIGINT NOT NULL,
    start_hour TIMESTAMP NOT NULL,
    -- The clock: the hour the next tick writes.
    next_hour TIMESTAMP NOT NULL,
    devices_parquet_bytes BIGINT NOT NULL,
    initialized_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS hours (
    hour TIMESTAMP PRIMARY KEY,
    path VARCHAR NOT NULL,
    row_count BIGINT NOT NULL,
    byte_count BIGINT NOT NULL,
    written_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS conversions (
    lake VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    byte_count BIGINT NOT NULL,
    -- With byte_count, the cheap test for "unchanged"; the checksum decides when either moved.
    mtime_ns BIGINT NOT NULL,
    sha256 VARCHAR NOT NULL,
    row_count BIGINT NOT NULL,
    -- Lake-relative paths of the Parquet files this source produced.
    outputs VARCHAR[] NOT NULL,
    -- Outputs of an earlier version of the source, deleted once the new ones are published.
    retired VARCHAR[] NOT NULL,
    -- 'publishing' while staged files are being renamed into the lake, then 'done'.
    status VARCHAR NOT NULL CHECK (status IN ('publishing', 'done')),
    converted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (lake, source)
);

-- The size of each output, in the order of outputs, so that `duckwifi check` can tell a damaged file.
-- Added by ALTER so that a warehouse created before it gets the column too (NULL for its older rows).
ALTER TABLE conversions ADD COLUMN IF NOT EXISTS output_bytes BIGINT[];

CREATE TABLE IF NOT EXISTS rejections (
    lake VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    byte_count BIGINT NOT NULL,
    line BIGINT,
    reason VARCHAR NOT NULL,
    rejected_at TIMESTAMP NOT NULL,
    PRIMARY KEY (lake, source)
);

CREATE TABLE IF NOT EXISTS identity (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    -- Written into the lake's marker file, so that another warehouse can tell the lake is not its own.
    warehouse_id VARCHAR NOT NULL,
    -- The lake's own identity (also in its marker) and its absolute path; NULL before the first convert.
    lake_id VARCHAR,
    lake VARCHAR
);

-- A forgotten source leaves the ledger and lands here in one transaction; its files are deleted next, then
-- the row. A kill in between is finished by the next run from this row.
CREATE TABLE IF NOT EXISTS forgetting (
    lake VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    outputs VARCHAR[] NOT NULL,
    PRIMARY KEY (lake, source)
);
