-- Writes one hour of realistic telemetry as CSV: the same header and rows as write_hour.sql, with the 20
-- metrics of the catalogue (duckwifi/generator/catalogue.py) instead of uniform noise. Per device, the
-- precomputed columns of devices.parquet give the baseline scores and gains, time zone, area, fault and
-- uptime phase; hour_context gives the activity and heat at each local hour of the week and the incident
-- severities; metric_model gives each metric's parameters and noise table. Four hashes of (seed, site,
-- hour) give 20 noise draws of 12 bits each. No value is clipped: the catalogue's test proves from the
-- parameters and the tables' limits that none can leave its physical range. A stuck device (fault 1)
-- hashes hour 0 and ignores the clock and incidents, so it repeats the same values every hour.
-- Parameters: $seed BIGINT; $hour TIMESTAMP, the hour written; $devices_parquet VARCHAR, the devices
-- Parquet file; $target VARCHAR, the CSV path (a temporary name; Python fsyncs it and renames it).
-- Reads: hour_context (create_hour_context.sql), metric_model (create_metric_model.sql).
-- Output: one CSV file with the header datetime,region,state,latitude,longitude,site,cell,sector,band,
-- metric_1..metric_20 and one row per device, in site order.
COPY (
    SELECT
        strftime($hour, '%Y-%m-%d %H:%M:%S') AS datetime,
        v.region,
        v.state,
        v.latitude,
        v.longitude,
        v.site,
        v.cell,
        v.sector,
        v.band,
        -- signal_strength (dBm): normal
        (
            m.metric_1_centre
            + m.metric_1_spread * v.quality_score
            + m.metric_1_incident * v.severity
            + m.metric_1_noise[(v.h1 & 4095)::INTEGER + 1]
        )::DECIMAL(9, 1) AS metric_1,
        -- snr (dB): normal
        (
            m.metric_2_centre
            + m.metric_2_spread * v.quality_score
            + m.metric_2_cycle * v.activity
            + m.metric_2_incident * v.severity
            + m.metric_2_noise[((v.h1 >> 12) & 4095)::INTEGER + 1]
        )::DECIMAL(9, 1) AS metric_2,
        -- noise_floor (dBm): normal
        (
            m.metric_3_centre
            + m.metric_3_spread * v.quality_score
            + m.metric_3_cycle * v.activity
            + m.metric_3_incident * v.severity
            + m.metric_3_noise[((v.h1 >> 24) & 4095)::INTEGER + 1]
        )::DECIMAL(9, 1) AS metric_3,
        -- downstream_throughput (Mbps): lognormal, baseline multiplied by the quality gain
        (
            m.metric_4_centre
            * v.quality_gain
            * (1 + m.metric_4_cycle * v.activity)
            * (1 + m.metric_4_incident * v.severity)
            * m.metric_4_noise[((v.h1 >> 36) & 4095)::INTEGER + 1]
        )::DECIMAL(9, 2) AS metric_4,
        -- upstream_throughput (Mbps): lognormal, baseline multiplied by the quality gain
        (
            m.metric_5_centre
            * v.quality_gain
            * (1 + m.metric_5_cycle * v.activity)
            * (1 + m.metric_5_incident * v.severity)
            * m.metric_5_noise[((v.h1 >> 48) & 4095)::INTEGER + 1]
        )::DECIMAL(9, 2) AS metric_5,
        -- latency (ms): lognormal, baseline divided by the quality gain
        (
            m.metric_6_centre / v.quality_gain
            * (1 + m.metric_6_cycle * v.activity)
            * (1 + m.metric_6_incident * v.severity)
            * m.metric_6_noise[(v.h2 & 4095)::INTEGER + 1]
        )::DECIMAL(9, 1) AS metric_6,
        -- jitter (ms): exponential
        (
            m.metric_7_centre
            * (1 + m.metric_7_cycle * v.activity)
            * (1 + m.metric_7_incident * v.severity)
            * m.metric_7_noise[((v.h2 >> 12) & 4095)::INTEGER + 1]
        )::DECIMAL(9, 2) AS metric_7,
        -- packet_loss (%): exponential
        (
            m.metric_8_centre
            * (1 + m.metric_8_cycle * v.activity)
            * (1 + m.metric_8_incident * v.severity)
            * m.metric_8_noise[((v.h2 >> 24) & 4095)::INTEGER + 1]
        )::DECIMAL(9, 3) AS metric_8,
        -- retransmissions (%): lognormal, baseline divided by the quality gain
        (
            m.metric_9_centre / v.quality_gain
            * (1 + m.metric_9_cycle * v.activity)
            * (1 + m.metric_9_incident * v.severity)
            * m.metric_9_noise[((v.h2 >> 36) & 4095)::INTEGER + 1]
        )::DECIMAL(9, 3) AS metric_9,
        -- reboots (count): bernoulli, 1 in the hour the uptime saw-tooth restarts
        (v.uptime_minutes < 60)::INTEGER AS metric_10,
        -- channel_utilisation (%): normal
        (
            m.metric_11_centre
            + m.metric_11_spread * v.household_score
            + m.metric_11_cycle * v.activity
            + m.metric_11_noise[(v.h3 & 4095)::INTEGER + 1]
        )::DECIMAL(9, 1) AS metric_11,
        -- cpu (%): normal
        (
            m.metric_12_centre
            + m.metric_12_spread * v.household_score
            + m.metric_12_cycle * v.activity
            + m.metric_12_incident * v.severity
            + m.metric_12_noise[((v.h3 >> 12) & 4095)::INTEGER + 1]
        )::DECIMAL(9, 1) AS metric_12,
        -- memory_used (%): normal
        (
            m.metric_13_centre
            + m.metric_13_spread * v.household_score
            + m.metric_13_cycle * v.activity
            + m.metric_13_noise[((v.h3 >> 24) & 4095)::INTEGER + 1]
        )::DECIMAL(9, 1) AS metric_13,
        -- connected_clients (clients): lognormal, baseline multiplied by the household gain
        (
            m.metric_14_centre
            * v.household_gain
            * (1 + m.metric_14_cycle * v.activity)
            * (1 + m.metric_14_incident * v.severity)
            * m.metric_14_noise[((v.h3 >> 36) & 4095)::INTEGER + 1]
        )::DECIMAL(9, 2) AS metric_14,
        -- temperature (°C): normal
        (
            m.metric_15_centre
            + m.metric_15_spread * v.household_score
            + m.metric_15_cycle * v.heat
            + m.metric_15_noise[((v.h3 >> 48) & 4095)::INTEGER + 1]
        )::DECIMAL(9, 1) AS metric_15,
        -- uptime (days): uniform, the saw-tooth in days
        (v.uptime_minutes / 1440)::DECIMAL(9, 4) AS metric_16,
        -- wifi_client_rssi (dBm): normal
        (
            m.metric_17_centre
            + m.metric_17_spread * v.household_score
            + m.metric_17_noise[((v.h4 >> 12) & 4095)::INTEGER + 1]
        )::DECIMAL(9, 1) AS metric_17,
        -- dns_lookup (ms): lognormal, baseline divided by the quality gain
        (
            m.metric_18_centre / v.quality_gain
            * (1 + m.metric_18_cycle * v.activity)
            * (1 + m.metric_18_incident * v.severity)
            * m.metric_18_noise[((v.h4 >> 24) & 4095)::INTEGER + 1]
        )::DECIMAL(9, 1) AS metric_18,
        -- errored_seconds (s): exponential
        (
            m.metric_19_centre
            * (1 + m.metric_19_cycle * v.activity)
            * (1 + m.metric_19_incident * v.severity)
            * m.metric_19_noise[((v.h4 >> 36) & 4095)::INTEGER + 1]
        )::DECIMAL(9, 0) AS metric_19,
        -- tx_power (dBm): normal
        (
            m.metric_20_centre
            + m.metric_20_spread * v.quality_score
            + m.metric_20_incident * v.severity
            + m.metric_20_noise[((v.h4 >> 48) & 4095)::INTEGER + 1]
        )::DECIMAL(9, 1) AS metric_20
    FROM (
        SELECT
            b.region,
            b.state,
            b.latitude,
            b.longitude,
            b.site,
            b.cell,
            b.sector,
            b.band,
            b.quality_score,
            b.quality_gain,
            b.household_score,
            b.household_gain,
            b.severity,
            c.activity[b.local_hour_of_week + 1] AS activity,
            c.heat[b.local_hour_of_week + 1] AS heat,
            (b.hour_key * 60 + b.uptime_phase_minutes) % b.uptime_period_minutes AS uptime_minutes,
            hash($seed, b.site, b.hour_key, 1) AS h1,
            hash($seed, b.site, b.hour_key, 2) AS h2,
            hash($seed, b.site, b.hour_key, 3) AS h3,
            hash($seed, b.site, b.hour_key, 4) AS h4
        FROM (
            SELECT
                d.region,
                d.state,
                d.latitude,
                d.longitude,
                d.site,
                d.cell,
                d.sector,
                d.band,
                d.quality_score,
                d.quality_gain,
                d.household_score,
                d.household_gain,
                d.uptime_phase_minutes,
                d.uptime_period_minutes,
                CASE WHEN d.fault = 1 THEN 0 ELSE h.hour_index END AS hour_key,
                CASE
                    WHEN d.fault = 1 THEN 0
                    ELSE (h.utc_hour_of_week + d.utc_offset + (d.observes_dst AND h.dst)::INTEGER + 168) % 168
                END AS local_hour_of_week,
                CASE
                    WHEN d.fault = 1 THEN 0
                    ELSE greatest(
                        h.state_severity[d.state_index + 1],
                        h.area_severity[d.area + 1],
                        h.sector_severity[d.state_index * 100 + (d.cell - 1) * 10 + d.sector]
                    )
                END AS severity
            FROM read_parquet($devices_parquet) AS d
            CROSS JOIN hour_context AS h
        ) AS b
        CROSS JOIN hour_context AS c
    ) AS v
    CROSS JOIN metric_model AS m
) TO $target (FORMAT csv, HEADER TRUE, DELIMITER ',');
