-- Writes one hour of realistic telemetry as CSV: the same header and rows as write_hour.sql, with the 20
-- metrics of the catalogue (duckwifi/generator/catalogue.py) instead of uniform noise. Per device, the
-- precomputed columns of devices.parquet give the baseline ranks, time zone, area, fault and uptime phase;
-- hour_context gives the activity and heat at each local hour of the week and the incident severities;
-- metric_model gives each metric's parameters and its lookup tables, flattened (metric k's 4,096 entries
-- start at (k - 1) * 4,096) so no per-row list is ever copied. Four hashes of (seed, site, hour) give 20
-- noise draws of 12 bits each. A stuck device (fault 1) hashes hour 0 and ignores the clock and incidents,
-- so it repeats the same values every hour.
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
        greatest(
            m.lower[1], least(
                m.upper[1],
                m.centre[1]
                + m.device[v.quality_rank + 1]
                + m.incident[1] * v.severity
                + m.noise[(v.h1 & 4095)::INTEGER + 1]
            )
        )::DECIMAL(9, 1) AS metric_1,
        -- snr (dB): normal
        greatest(
            m.lower[2], least(
                m.upper[2],
                m.centre[2]
                + m.device[4096 + v.quality_rank + 1]
                + m.cycle[2] * v.activity
                + m.incident[2] * v.severity
                + m.noise[4096 + ((v.h1 >> 12) & 4095)::INTEGER + 1]
            )
        )::DECIMAL(9, 1) AS metric_2,
        -- noise_floor (dBm): normal
        greatest(
            m.lower[3], least(
                m.upper[3],
                m.centre[3]
                + m.device[8192 + v.quality_rank + 1]
                + m.cycle[3] * v.activity
                + m.incident[3] * v.severity
                + m.noise[8192 + ((v.h1 >> 24) & 4095)::INTEGER + 1]
            )
        )::DECIMAL(9, 1) AS metric_3,
        -- downstream_throughput (Mbps): lognormal
        greatest(
            m.lower[4], least(
                m.upper[4],
                m.centre[4]
                * m.device[12288 + v.quality_rank + 1]
                * (1 + m.cycle[4] * v.activity)
                * (1 + m.incident[4] * v.severity)
                * m.noise[12288 + ((v.h1 >> 36) & 4095)::INTEGER + 1]
            )
        )::DECIMAL(9, 2) AS metric_4,
        -- upstream_throughput (Mbps): lognormal
        greatest(
            m.lower[5], least(
                m.upper[5],
                m.centre[5]
                * m.device[16384 + v.quality_rank + 1]
                * (1 + m.cycle[5] * v.activity)
                * (1 + m.incident[5] * v.severity)
                * m.noise[16384 + ((v.h1 >> 48) & 4095)::INTEGER + 1]
            )
        )::DECIMAL(9, 2) AS metric_5,
        -- latency (ms): lognormal
        greatest(
            m.lower[6], least(
                m.upper[6],
                m.centre[6]
                * m.device[20480 + v.quality_rank + 1]
                * (1 + m.cycle[6] * v.activity)
                * (1 + m.incident[6] * v.severity)
                * m.noise[20480 + (v.h2 & 4095)::INTEGER + 1]
            )
        )::DECIMAL(9, 1) AS metric_6,
        -- jitter (ms): exponential
        greatest(
            m.lower[7], least(
                m.upper[7],
                m.centre[7]
                * (1 + m.cycle[7] * v.activity)
                * (1 + m.incident[7] * v.severity)
                * m.noise[24576 + ((v.h2 >> 12) & 4095)::INTEGER + 1]
            )
        )::DECIMAL(9, 2) AS metric_7,
        -- packet_loss (%): exponential
        greatest(
            m.lower[8], least(
                m.upper[8],
                m.centre[8]
                * (1 + m.cycle[8] * v.activity)
                * (1 + m.incident[8] * v.severity)
                * m.noise[28672 + ((v.h2 >> 24) & 4095)::INTEGER + 1]
            )
        )::DECIMAL(9, 3) AS metric_8,
        -- retransmissions (%): lognormal
        greatest(
            m.lower[9], least(
                m.upper[9],
                m.centre[9]
                * m.device[32768 + v.quality_rank + 1]
                * (1 + m.cycle[9] * v.activity)
                * (1 + m.incident[9] * v.severity)
                * m.noise[32768 + ((v.h2 >> 36) & 4095)::INTEGER + 1]
            )
        )::DECIMAL(9, 3) AS metric_9,
        -- reboots (count): bernoulli
        (v.uptime_minutes < 60)::INTEGER AS metric_10,
        -- channel_utilisation (%): normal
        greatest(
            m.lower[11], least(
                m.upper[11],
                m.centre[11]
                + m.device[40960 + v.household_rank + 1]
                + m.cycle[11] * v.activity
                + m.noise[40960 + (v.h3 & 4095)::INTEGER + 1]
            )
        )::DECIMAL(9, 1) AS metric_11,
        -- cpu (%): normal
        greatest(
            m.lower[12], least(
                m.upper[12],
                m.centre[12]
                + m.device[45056 + v.household_rank + 1]
                + m.cycle[12] * v.activity
                + m.incident[12] * v.severity
                + m.noise[45056 + ((v.h3 >> 12) & 4095)::INTEGER + 1]
            )
        )::DECIMAL(9, 1) AS metric_12,
        -- memory_used (%): normal
        greatest(
            m.lower[13], least(
                m.upper[13],
                m.centre[13]
                + m.device[49152 + v.household_rank + 1]
                + m.cycle[13] * v.activity
                + m.noise[49152 + ((v.h3 >> 24) & 4095)::INTEGER + 1]
            )
        )::DECIMAL(9, 1) AS metric_13,
        -- connected_clients (clients): lognormal
        greatest(
            m.lower[14], least(
                m.upper[14],
                m.centre[14]
                * m.device[53248 + v.household_rank + 1]
                * (1 + m.cycle[14] * v.activity)
                * (1 + m.incident[14] * v.severity)
                * m.noise[53248 + ((v.h3 >> 36) & 4095)::INTEGER + 1]
            )
        )::DECIMAL(9, 2) AS metric_14,
        -- temperature (°C): normal
        greatest(
            m.lower[15], least(
                m.upper[15],
                m.centre[15]
                + m.device[57344 + v.household_rank + 1]
                + m.cycle[15] * v.heat
                + m.noise[57344 + ((v.h3 >> 48) & 4095)::INTEGER + 1]
            )
        )::DECIMAL(9, 1) AS metric_15,
        -- uptime (days): uniform
        (v.uptime_minutes / 1440)::DECIMAL(9, 4) AS metric_16,
        -- wifi_client_rssi (dBm): normal
        greatest(
            m.lower[17], least(
                m.upper[17],
                m.centre[17]
                + m.device[65536 + v.household_rank + 1]
                + m.noise[65536 + ((v.h4 >> 12) & 4095)::INTEGER + 1]
            )
        )::DECIMAL(9, 1) AS metric_17,
        -- dns_lookup (ms): lognormal
        greatest(
            m.lower[18], least(
                m.upper[18],
                m.centre[18]
                * m.device[69632 + v.quality_rank + 1]
                * (1 + m.cycle[18] * v.activity)
                * (1 + m.incident[18] * v.severity)
                * m.noise[69632 + ((v.h4 >> 24) & 4095)::INTEGER + 1]
            )
        )::DECIMAL(9, 1) AS metric_18,
        -- errored_seconds (s): exponential
        greatest(
            m.lower[19], least(
                m.upper[19],
                m.centre[19]
                * (1 + m.cycle[19] * v.activity)
                * (1 + m.incident[19] * v.severity)
                * m.noise[73728 + ((v.h4 >> 36) & 4095)::INTEGER + 1]
            )
        )::DECIMAL(9, 0) AS metric_19,
        -- tx_power (dBm): normal
        greatest(
            m.lower[20], least(
                m.upper[20],
                m.centre[20]
                + m.device[77824 + v.quality_rank + 1]
                + m.incident[20] * v.severity
                + m.noise[77824 + ((v.h4 >> 48) & 4095)::INTEGER + 1]
            )
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
            b.quality_rank,
            b.household_rank,
            b.severity,
            c2.activity[b.local_hour_of_week + 1] AS activity,
            c2.heat[b.local_hour_of_week + 1] AS heat,
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
                d.quality_rank,
                d.household_rank,
                d.uptime_phase_minutes,
                d.uptime_period_minutes,
                CASE WHEN d.fault = 1 THEN 0 ELSE c.hour_index END AS hour_key,
                CASE
                    WHEN d.fault = 1 THEN 0
                    ELSE (c.utc_hour_of_week + d.utc_offset + (d.observes_dst AND c.dst)::INTEGER + 168) % 168
                END AS local_hour_of_week,
                CASE
                    WHEN d.fault = 1 THEN 0
                    ELSE greatest(
                        c.state_severity[d.state_index + 1],
                        c.area_severity[d.area + 1],
                        c.sector_severity[d.state_index * 100 + (d.cell - 1) * 10 + d.sector]
                    )
                END AS severity
            FROM read_parquet($devices_parquet) AS d
            CROSS JOIN hour_context AS c
        ) AS b
        CROSS JOIN hour_context AS c2
    ) AS v
    CROSS JOIN metric_model AS m
) TO $target (FORMAT csv, HEADER TRUE, DELIMITER ',');
