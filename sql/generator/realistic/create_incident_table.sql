-- Creates the empty table of the incidents a tick applies (scheduled from the seed, or planted by a test).
-- Parameters: none.
-- Output: temporary table incidents, with the columns of schedule_incidents.sql.
CREATE OR REPLACE TEMP TABLE incidents (
    incident_id BIGINT,
    scope VARCHAR NOT NULL CHECK (scope IN ('sector', 'area', 'state')),
    kind VARCHAR NOT NULL,
    severity DOUBLE NOT NULL CHECK (severity BETWEEN 0 AND 1),
    start_hour TIMESTAMP NOT NULL,
    end_hour TIMESTAMP NOT NULL,
    state VARCHAR,
    area SMALLINT,
    cell TINYINT,
    sector TINYINT,
    latitude DECIMAL(8, 6),
    longitude DECIMAL(9, 6)
);
