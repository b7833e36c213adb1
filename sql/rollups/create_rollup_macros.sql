-- Defines the two functions that place a value in the rollups: its quantile-sketch bucket and its map
-- cell. Both are part of the stable store format (docs/rollups.md); changing them changes the format.
-- Sketch: DDSketch-style logarithmic buckets with gamma = (1 + a) / (1 - a), a = 0.02. A value x > 0 falls
-- in bucket i = ceil(ln(x) / ln(gamma)), so gamma^(i - 1) < x <= gamma^i, and the bucket's representative
-- 2 gamma^i / (gamma + 1) is within a = 2% of every value in it. Keys: 2000 + i for x > 0,
-- -(2000 + i) for x < 0 (by |x|), 0 for x = 0, so keys sort in the order of the values. No range is
-- assumed: the offset of 2000 covers |x| from about 1e-35 to 1e35, far beyond DECIMAL(9, 4).
-- Map cell: an equal-area grid. Rows are 0.3 degrees of latitude (about 33 km); each row is cut into
-- round(360 cos(lat) / 0.3) columns, so every cell is about 33 km by 33 km wherever it lies.
-- Parameters: none.
-- Output: temporary macros rollup_bucket(x), rollup_bucket_value(key), rollup_bucket_lower(key),
-- rollup_bucket_upper(key), rollup_cell_row(lat), rollup_cell_col(cell_row, lon), rollup_cell_id,
-- rollup_cell_lat(cell_row), rollup_cell_lon(cell_row, cell_col).
CREATE OR REPLACE TEMP MACRO rollup_gamma() AS 1.02 / 0.98;

CREATE OR REPLACE TEMP MACRO rollup_bucket(X) AS
CASE
    WHEN x > 0 THEN 2000 + cast(ceil(ln(cast(x AS DOUBLE)) / ln(rollup_gamma())) AS INTEGER)
    WHEN x < 0 THEN -2000 - cast(ceil(ln(-cast(x AS DOUBLE)) / ln(rollup_gamma())) AS INTEGER)
    ELSE 0
END;

CREATE OR REPLACE TEMP MACRO rollup_bucket_value(KEY) AS
CASE
    WHEN key > 0 THEN 2 * pow(rollup_gamma(), key - 2000) / (rollup_gamma() + 1)
    WHEN key < 0 THEN -2 * pow(rollup_gamma(), -key - 2000) / (rollup_gamma() + 1)
    ELSE 0.0
END;

-- The bucket's edges: (lower, upper] for positive keys, [lower, upper) for negative ones.
CREATE OR REPLACE TEMP MACRO rollup_bucket_lower(KEY) AS
CASE
    WHEN key > 0 THEN pow(rollup_gamma(), key - 2001)
    WHEN key < 0 THEN -pow(rollup_gamma(), -key - 2000)
    ELSE 0.0
END;

CREATE OR REPLACE TEMP MACRO rollup_bucket_upper(KEY) AS
CASE
    WHEN key > 0 THEN pow(rollup_gamma(), key - 2000)
    WHEN key < 0 THEN -pow(rollup_gamma(), -key - 2001)
    ELSE 0.0
END;

CREATE OR REPLACE TEMP MACRO rollup_cell_step() AS 0.3;

CREATE OR REPLACE TEMP MACRO rollup_cell_row(LAT) AS
cast(floor((cast(lat AS DOUBLE) + 90) / rollup_cell_step()) AS INTEGER);

CREATE OR REPLACE TEMP MACRO rollup_cell_lat(CELL_ROW) AS
-90 + (cell_row + 0.5) * rollup_cell_step();

CREATE OR REPLACE TEMP MACRO rollup_cell_cols(CELL_ROW) AS
greatest(1, cast(round(360 * cos(radians(rollup_cell_lat(cell_row))) / rollup_cell_step()) AS INTEGER));

CREATE OR REPLACE TEMP MACRO rollup_cell_col(CELL_ROW, LON) AS
least(
    rollup_cell_cols(cell_row) - 1,
    cast(floor((cast(lon AS DOUBLE) + 180) * rollup_cell_cols(cell_row) / 360) AS INTEGER)
);

CREATE OR REPLACE TEMP MACRO rollup_cell_lon(CELL_ROW, CELL_COL) AS
-180 + (cell_col + 0.5) * 360 / rollup_cell_cols(cell_row);

CREATE OR REPLACE TEMP MACRO rollup_cell_id(CELL_ROW, CELL_COL) AS
format('{}-{}', cell_row, cell_col);
