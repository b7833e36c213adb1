"""The serving store's tables and macros, made the same way wherever its SQL runs: the store's in-memory
database, and the scratch database a day digest is made in."""

from __future__ import annotations

import duckdb

from duckwifi.rollups.production import install_macros
from duckwifi.serving.catalogue import QUANTILES
from duckwifi.sql_scripts import execute_script


def create_serving_schema(con: duckdb.DuckDBPyConnection) -> None:
    install_macros(con)
    execute_script(con, "serving/create_tables.sql", {})
    execute_script(con, "serving/create_serving_macros.sql", {"levels": list(QUANTILES.values())})
