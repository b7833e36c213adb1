"""The CSV contract shared by the generator (which writes it) and the converter (which enforces it)."""

from __future__ import annotations

import re
from datetime import datetime

ID_COLUMNS: tuple[str, ...] = (
    "datetime",
    "region",
    "state",
    "latitude",
    "longitude",
    "site",
    "cell",
    "sector",
    "band",
)
METRIC_COUNT = 20
METRIC_COLUMNS: tuple[str, ...] = tuple(f"metric_{k}" for k in range(1, METRIC_COUNT + 1))
COLUMNS: tuple[str, ...] = ID_COLUMNS + METRIC_COLUMNS
HEADER_LINE = ",".join(COLUMNS)

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DEFAULT_START = datetime(2020, 1, 1)
# The lake's date=dd-mm-yy folders tell years apart only within one century; DuckDB, Python and Polars read
# yy 69-99 as 19yy and 00-68 as 20yy. The clock and the converter keep every hour inside that century.
FIRST_HOUR = datetime(1969, 1, 1)
LAST_HOUR = datetime(2068, 12, 31, 23)

# The 48 contiguous states and DC: where the generator places devices.
CONTIGUOUS_STATES: frozenset[str] = frozenset(
    (  # noqa: SIM905 - a list of 49 quoted codes reads worse
        "AL AZ AR CA CO CT DE DC FL GA ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND "
        "OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY"
    ).split()
)

CSV_PREFIX = "telemetry_"


def hour_file_name(hour: datetime) -> str:
    """``telemetry_2020-01-01_00.csv``: names sort in hour order."""
    return f"{CSV_PREFIX}{hour:%Y-%m-%d_%H}.csv"


# Every name that hour_file_name gives.
HOUR_FILE_NAME = re.compile(rf"{re.escape(CSV_PREFIX)}\d{{4}}-\d{{2}}-\d{{2}}_\d{{2}}\.csv")
