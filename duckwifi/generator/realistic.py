"""The realistic profile's hour: sets up the lookup tables once per tick, then writes hours with them.

Everything here runs SQL from ``sql/generator/realistic/``; Python only loads the catalogue's parameters and
the incidents into the work connection. Each hour depends on (seed, site, hour), the devices file and the
catalogue alone, so hours can be written in any order, or in parallel on separate connections.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import duckdb

from duckwifi import queries
from duckwifi.generator import incidents as incident_log
from duckwifi.generator.catalogue import METRICS
from duckwifi.generator.incidents import Incident


def prepare(
    work: duckdb.DuckDBPyConnection,
    *,
    seed: int,
    devices: int,
    devices_parquet: str,
    first_hour: datetime,
    last_hour: datetime,
    incidents: Sequence[Incident] | None = None,
) -> list[Incident]:
    """Build the lookup tables and load the incidents of [first_hour, last_hour) into ``work``.

    ``incidents`` replaces the ones planned from the seed (a test plants its own this way). Returns the
    incidents loaded."""
    work.execute(queries.load("generator/realistic/create_quantile_macros.sql"))
    work.execute(queries.load("reference/state_zones.sql"))
    work.execute(queries.load("generator/realistic/create_metric_parameters.sql"))
    work.executemany(
        queries.load("generator/realistic/insert_metric_parameters.sql"),
        [
            {
                "column_name": metric.column,
                "family": metric.family,
                "centre": metric.centre,
                "spread": metric.spread,
                "noise": metric.noise,
                "cycle": metric.cycle,
                "incident": metric.incident,
            }
            for metric in METRICS
        ],
    )
    work.execute(queries.load("generator/realistic/create_metric_model.sql"))
    if incidents is None:
        incidents = incident_log.schedule(
            work,
            seed=seed,
            devices=devices,
            devices_parquet=devices_parquet,
            first_hour=first_hour,
            last_hour=last_hour,
        )
    incident_log.load(work, incidents)
    return list(incidents)


def write_hour(work: duckdb.DuckDBPyConnection, *, seed: int, hour: datetime, devices_parquet: str, target: str) -> int:
    """Write ``hour`` as CSV to ``target`` on a connection ``prepare`` set up; returns the rows written."""
    work.execute(queries.load("generator/realistic/create_hour_context.sql"), {"hour": hour})
    copied = work.execute(
        queries.load("generator/realistic/write_hour_realistic.sql"),
        {"seed": seed, "hour": hour, "devices_parquet": devices_parquet, "target": target},
    ).fetchone()
    return int(copied[0]) if copied is not None else 0
