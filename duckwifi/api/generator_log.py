"""What the generator knows about the data it wrote, read as a reader may: the metric catalogue and the incidents.

Both come from ``generator.json`` (seed, fleet size, profile; written by ``init``) and code, with the incidents
also needing ``devices.parquet``; neither opens ``state.duckdb``. A warehouse without ``generator.json`` (a lake
of delivered CSVs, say) or with the uniform profile has no catalogue meaning and no incidents: its metrics keep
their plain names and its incident log is empty.
"""

from __future__ import annotations

import logging

from duckwifi.api import models
from duckwifi.generator.catalogue import catalogue_for
from duckwifi.generator.incidents import GeneratorInfo, read_generator_info
from duckwifi.warehouse import Warehouse

log = logging.getLogger("duckwifi.serve")

REALISTIC = "realistic"


def generator_info(warehouse: Warehouse) -> GeneratorInfo | None:
    """The warehouse's ``generator.json``, or None when it has none or it cannot be read as one."""
    if not warehouse.generator_info.is_file():
        return None
    try:
        return read_generator_info(warehouse)
    except (OSError, ValueError, KeyError, TypeError) as error:
        # The page still works with plain names and no incidents; say why once per answer.
        log.warning("ignoring %s: %s", warehouse.generator_info, error)
        return None


def metric_labels(info: GeneratorInfo | None) -> dict[str, models.MetricLabel]:
    """Every metric column's name, unit and label; plain names unless the data has the realistic catalogue."""
    if info is None or info.profile != REALISTIC:
        return {
            m.column: models.MetricLabel(name=m.column, unit=None, label=m.column, description=None)
            for m in catalogue_for("uniform")
        }
    return {
        m.column: models.MetricLabel(
            name=m.name,
            unit=m.unit,
            label=m.label,
            description=f"{m.name} in {m.unit}: {m.family}, physically {m.lower:g} to {m.upper:g}",
        )
        for m in catalogue_for(REALISTIC)
    }
