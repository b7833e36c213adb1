-- Creates state_regions: every USPS state code (50 states and DC) with its U.S. Census Bureau region.
-- Parameters: none.
-- Output: temporary table state_regions(state VARCHAR, region VARCHAR), 51 rows. It is the allow-list for
-- the state and region partition values, and the generator labels devices by it.
CREATE OR REPLACE TEMP TABLE state_regions AS
SELECT
    t.state,
    t.region
FROM (
    VALUES
    ('CT', 'Northeast'), ('ME', 'Northeast'), ('MA', 'Northeast'), ('NH', 'Northeast'),
    ('RI', 'Northeast'), ('VT', 'Northeast'), ('NJ', 'Northeast'), ('NY', 'Northeast'),
    ('PA', 'Northeast'),
    ('IL', 'Midwest'), ('IN', 'Midwest'), ('MI', 'Midwest'), ('OH', 'Midwest'), ('WI', 'Midwest'),
    ('IA', 'Midwest'), ('KS', 'Midwest'), ('MN', 'Midwest'), ('MO', 'Midwest'), ('NE', 'Midwest'),
    ('ND', 'Midwest'), ('SD', 'Midwest'),
    ('DE', 'South'), ('DC', 'South'), ('FL', 'South'), ('GA', 'South'), ('MD', 'South'),
    ('NC', 'South'), ('SC', 'South'), ('VA', 'South'), ('WV', 'South'), ('AL', 'South'),
    ('KY', 'South'), ('MS', 'South'), ('TN', 'South'), ('AR', 'South'), ('LA', 'South'),
    ('OK', 'South'), ('TX', 'South'),
    ('AZ', 'West'), ('CO', 'West'), ('ID', 'West'), ('MT', 'West'), ('NV', 'West'),
    ('NM', 'West'), ('UT', 'West'), ('WY', 'West'), ('AK', 'West'), ('CA', 'West'),
    ('HI', 'West'), ('OR', 'West'), ('WA', 'West')
) AS t (state, region);
