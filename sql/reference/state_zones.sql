-- Creates state_zones: each USPS state code (50 states and DC) with a fixed index and its standard time zone.
-- The zone is the one that covers most of the state's people (the panhandles and western counties of split
-- states keep their state's zone); Arizona and Hawaii do not observe daylight saving time.
-- Parameters: none.
-- Output: temporary table state_zones(state VARCHAR, state_index SMALLINT, utc_offset TINYINT,
-- observes_dst BOOLEAN), 51 rows; state_index is 0 to 50 in alphabetical order of the code.
CREATE OR REPLACE TEMP TABLE state_zones AS
SELECT
    t.state,
    (row_number() OVER (ORDER BY t.state) - 1)::SMALLINT AS state_index,
    t.utc_offset::TINYINT AS utc_offset,
    t.state NOT IN ('AZ', 'HI') AS observes_dst
FROM (
    VALUES
    ('CT', -5), ('ME', -5), ('MA', -5), ('NH', -5), ('RI', -5), ('VT', -5), ('NJ', -5), ('NY', -5),
    ('PA', -5), ('DE', -5), ('DC', -5), ('FL', -5), ('GA', -5), ('MD', -5), ('NC', -5), ('SC', -5),
    ('VA', -5), ('WV', -5), ('OH', -5), ('MI', -5), ('IN', -5), ('KY', -5),
    ('IL', -6), ('WI', -6), ('IA', -6), ('KS', -6), ('MN', -6), ('MO', -6), ('NE', -6), ('ND', -6),
    ('SD', -6), ('AL', -6), ('MS', -6), ('TN', -6), ('AR', -6), ('LA', -6), ('OK', -6), ('TX', -6),
    ('AZ', -7), ('CO', -7), ('ID', -7), ('MT', -7), ('NM', -7), ('UT', -7), ('WY', -7),
    ('CA', -8), ('NV', -8), ('OR', -8), ('WA', -8),
    ('AK', -9), ('HI', -10)
) AS t (state, utc_offset);
