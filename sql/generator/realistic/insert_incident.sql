-- Adds one incident to the incidents a tick applies.
-- Parameters: $incident_id BIGINT, $scope VARCHAR, $kind VARCHAR, $severity DOUBLE, $start_hour TIMESTAMP,
-- $end_hour TIMESTAMP, $state VARCHAR, $area SMALLINT, $cell TINYINT, $sector TINYINT, $latitude and
-- $longitude DECIMAL (NULL where unused).
-- Output: one row in incidents.
INSERT INTO incidents
VALUES (
    $incident_id, $scope, $kind, $severity, $start_hour, $end_hour, $state, $area, $cell, $sector, $latitude,
    $longitude
);
