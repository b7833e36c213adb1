"""Fuzzed CSV input: every file is converted whole or rejected whole, naming the file, and the lake holds exactly
the rows of the accepted files."""

from __future__ import annotations

import csv
import io
import tempfile
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from duckwifi.contract import DEFAULT_START
from duckwifi.converter.lake import convert, source_key
from duckwifi.generator.fleet import Fleet, initialize
from duckwifi.generator.hours import write_hours
from duckwifi.warehouse import Warehouse


@pytest.fixture(scope="module")
def valid_csv(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("fuzzbase")
    warehouse = Warehouse(root / "wh")
    initialize(warehouse, Fleet(devices=30, seed=1, start_hour=DEFAULT_START))
    (written,) = write_hours(warehouse, root / "csv", 1)
    return written.path.read_text()


def _split(text: str) -> list[list[str]]:
    return [line.split(",") for line in text.rstrip("\n").split("\n")]


def _join(rows: list[list[str]], newline: str = "\n") -> str:
    return newline.join(",".join(r) for r in rows) + newline


@st.composite
def mutated(draw: st.DrawFn, text: str) -> tuple[bytes, str]:
    rows = _split(text)
    kind = draw(
        st.sampled_from(
            [
                "valid",
                "drop_column",
                "add_column",
                "swap_columns",
                "bad_value",
                "stray_quote",
                "crlf",
                "truncate",
                "latin1",
                "drop_rows",
            ]
        )
    )
    width = len(rows[0])
    if kind == "drop_column":
        col = draw(st.integers(0, width - 1))
        rows = [r[:col] + r[col + 1 :] for r in rows]
    elif kind == "add_column":
        rows = [[*r, "1"] for r in rows]
    elif kind == "swap_columns":
        a, b = draw(st.integers(0, width - 1)), draw(st.integers(0, width - 1))
        for r in rows:
            r[a], r[b] = r[b], r[a]
    elif kind == "bad_value":
        line = draw(st.integers(1, len(rows) - 1))
        col = draw(st.integers(0, width - 1))
        rows[line][col] = draw(st.sampled_from(["", "x", "1e999", "-", "../x", "2020-13-01 00:00:00", "99"]))
    elif kind == "stray_quote":
        line = draw(st.integers(1, len(rows) - 1))
        col = draw(st.integers(0, width - 1))
        rows[line][col] = '"' + rows[line][col]
    elif kind == "drop_rows":
        rows = rows[: draw(st.integers(1, len(rows)))]
    data = _join(rows, "\r\n" if kind == "crlf" else "\n")
    if kind == "truncate":
        data = data[: draw(st.integers(0, len(data) - 1))]
    encoded = data.encode("latin-1" if kind == "latin1" else "utf-8")
    if kind == "latin1":
        encoded = encoded.replace(b"Northeast", b"Nor\xe9theast").replace(b"South", b"S\xf6uth")
    return encoded, kind


def _parsed_rows(data: bytes) -> set[tuple[int, Decimal]]:
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    next(reader)
    return {(int(r[5]), Decimal(r[9])) for r in reader}


@settings(max_examples=30)
@given(data=st.data())
def test_every_file_is_converted_whole_or_rejected_whole(valid_csv: str, data: st.DataObject) -> None:
    files = [data.draw(mutated(valid_csv)) for _ in range(3)]
    # Each file goes to its own warehouse and lake: the mutations share one hour's keys, and a lake refuses a
    # second file repeating (site, datetime) keys it already holds (tests/test_exactly_once.py).
    with tempfile.TemporaryDirectory() as tmp:
        for index, (content, _kind) in enumerate(files):
            root = Path(tmp) / str(index)
            src, lake = root / "src", root / "lake"
            src.mkdir(parents=True)
            path = (src / f"f{index}.csv").resolve()
            path.write_bytes(content)
            report = convert(Warehouse(root / "wh"), src, lake)
            accepted = {c.source for c in report.converted}
            rejected = {r.path for r in report.rejected}
            assert accepted | rejected == {path}
            for rejection in report.rejected:
                assert str(rejection.path) in str(rejection)
            parquet = list(lake.rglob(f"{source_key(path)}_*.parquet"))
            if path in rejected:
                assert parquet == []
            else:
                with duckdb.connect() as con:
                    got = (
                        con.execute(
                            "SELECT site, metric_1 FROM read_parquet($files)", {"files": [str(p) for p in parquet]}
                        ).fetchall()
                        if parquet
                        else []
                    )
                assert set(got) == _parsed_rows(path.read_bytes())
                assert len(got) == len(_parsed_rows(path.read_bytes()))
            assert not list(lake.rglob("*.partial"))
