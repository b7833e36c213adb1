"""A file that breaks the contract is rejected whole, with its name, line and reason; good files still convert."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from duckwifi.converter.lake import source_key
from duckwifi.errors import ExitCode
from tests.conftest import converted_sources, invoke


def _replace_field(text: str, line: int, column: int, value: str) -> str:
    lines = text.split("\n")
    fields = lines[line - 1].split(",")
    fields[column] = value
    lines[line - 1] = ",".join(fields)
    return "\n".join(lines)


def _bytes(mutate: Callable[[str], str]) -> Callable[[bytes], bytes]:
    return lambda data: mutate(data.decode()).encode()


CASES: dict[str, tuple[Callable[[bytes], bytes], int | None, str]] = {
    "empty file": (lambda data: b"", 1, "empty file"),
    "wrong column name": (
        _bytes(lambda t: t.replace("metric_7", "metric_seven", 1)),
        1,
        "header does not match the contract: missing metric_7; unexpected 'metric_seven'",
    ),
    "missing column": (
        _bytes(lambda t: t.replace(",band", "", 1)),
        1,
        "missing band",
    ),
    "extra column": (
        _bytes(lambda t: t.replace("metric_20\n", "metric_20,metric_21\n", 1)),
        1,
        "unexpected 'metric_21'",
    ),
    "seven columns missing": (
        _bytes(lambda t: t.replace(",metric_14,metric_15,metric_16,metric_17,metric_18,metric_19,metric_20", "", 1)),
        1,
        "missing metric_14, metric_15, metric_16, metric_17, metric_18 and 2 more",
    ),
    "renamed (swapped) columns": (
        _bytes(lambda t: t.replace("latitude,longitude", "longitude,latitude", 1)),
        1,
        "columns out of order",
    ),
    "extra value on a row": (_bytes(lambda t: _replace_field(t, 3, 28, "1.0,2.0")), 3, "expected 29 columns, found 30"),
    "non-numeric metric": (_bytes(lambda t: _replace_field(t, 4, 11, "abc")), 4, 'column metric_3: "abc"'),
    "non-numeric site": (_bytes(lambda t: _replace_field(t, 5, 5, "x12")), 5, 'column site: "x12"'),
    "impossible datetime": (
        _bytes(lambda t: _replace_field(t, 6, 0, "2020-02-30 00:00:00")),
        6,
        'column datetime: "2020-02-30 00:00:00"',
    ),
    "a datetime in another century of the same dd-mm-yy folder": (
        _bytes(lambda t: _replace_field(t, 7, 0, "2120-01-01 00:00:00")),
        7,
        "datetime 2120-01-01 00:00:00 is outside 1969 to 2068",
    ),
    "truncated last line": (lambda data: data[:-40], None, "truncated"),
    "invalid utf-8": (
        lambda data: data.replace(b",West,", b",W\xffst,", 1) if b",West," in data else data.replace(b",", b"\xff", 50),
        None,
        "invalid UTF-8",
    ),
    "empty state": (_bytes(lambda t: _replace_field(t, 7, 2, "")), 7, "state  with region"),
    "path-like state": (_bytes(lambda t: _replace_field(t, 7, 2, "../x")), 7, "state ../x with region"),
    "state in the wrong region": (
        _bytes(lambda t: _replace_field(_replace_field(t, 8, 2, "CA"), 8, 1, "South")),
        8,
        "state CA with region South is not a valid pair",
    ),
    "cell out of range": (_bytes(lambda t: _replace_field(t, 9, 6, "11")), 9, "cell, sector and band must be 1 to 10"),
    "nan metric": (_bytes(lambda t: _replace_field(t, 10, 20, "nan")), 10, 'column metric_12: "nan"'),
    "metric too large for its decimal": (
        _bytes(lambda t: _replace_field(t, 12, 12, "100000")),
        12,
        'column metric_4: "100000"',
    ),
    "latitude off the globe": (
        _bytes(lambda t: _replace_field(t, 13, 3, "90.5")),
        13,
        "coordinates 90.5, ",
    ),
    "empty metric": (_bytes(lambda t: _replace_field(t, 11, 9, "")), 11, 'column metric_1: ""'),
    "binary garbage": (lambda data: bytes(range(256)) * 40, 1, "header"),
    # Bytes 1 to 255: the first "line" ends at byte 10, so line 2 is bytes 1 to 9, read as a datetime. The
    # reason quotes them escaped, never raw.
    "garbage after a valid header": (
        lambda data: data.split(b"\n", 1)[0] + b"\n" + bytes(range(1, 256)) * 8 + b"\n",
        2,
        'column datetime: "\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\t" is not a valid TIMESTAMP',
    ),
}


@pytest.fixture
def one_hour(runner, warehouse_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "gen"
    invoke(runner, "tick", "--warehouse", warehouse_dir, "--out", out, "--hours", "2")
    return out


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_a_bad_file_is_rejected_whole_and_good_files_still_convert(
    case: str, runner, warehouse_dir: Path, one_hour: Path, tmp_path: Path
) -> None:
    mutate, line, reason = CASES[case]
    src = tmp_path / "src"
    src.mkdir()
    good = src / "good.csv"
    bad = src / "bad.csv"
    shutil.copy(one_hour / "telemetry_2020-01-01_00.csv", good)
    original = (one_hour / "telemetry_2020-01-01_01.csv").read_bytes()
    bad.write_bytes(mutate(original))
    lake = tmp_path / "lake"

    result = invoke(runner, "convert", src, lake, "--warehouse", warehouse_dir)

    assert result.exit_code == ExitCode.REJECTED, result.output
    assert "Traceback" not in result.output
    rejection_lines = [line_ for line_ in result.stderr.splitlines() if "rejected " in line_ and "bad.csv" in line_]
    assert len(rejection_lines) == 1, result.stderr
    expected_where = f"{bad.resolve()}: line {line}:" if line is not None else f"{bad.resolve()}"
    assert expected_where in rejection_lines[0], result.stderr
    assert reason in rejection_lines[0], result.stderr
    assert converted_sources(result.stdout) == [str(good.resolve())], result.output
    with duckdb.connect(str(warehouse_dir / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*), min(hour), max(hour) FROM telemetry").fetchone() == (500, 0, 0)
    # Outputs are named <stem>-<hash of the path>_<n>; a bare "*bad*" also matched a good file whose hash
    # happened to contain "bad", which made this test fail now and then.
    bad_outputs = list(lake.rglob(f"{source_key(bad.resolve())}_*"))
    assert not bad_outputs, "nothing of the rejected file may reach the lake"
    status = invoke(runner, "status", "--warehouse", warehouse_dir).stdout
    assert "rejected_files: 1" in status, status
    assert f"rejected: {bad.resolve()}" in status, status

    bad.write_bytes(original)
    fixed = invoke(runner, "convert", src, lake, "--warehouse", warehouse_dir)
    assert fixed.exit_code == 0, fixed.output
    assert converted_sources(fixed.stdout) == [str(bad.resolve())]
    assert "rejected_files: 0" in invoke(runner, "status", "--warehouse", warehouse_dir).stdout
    with duckdb.connect(str(warehouse_dir / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM telemetry").fetchone() == (1000,)


def test_the_line_named_is_right_deep_in_a_larger_file(
    runner, warehouse_dir: Path, one_hour: Path, tmp_path: Path
) -> None:
    header, *rows = (one_hour / "telemetry_2020-01-01_00.csv").read_text().splitlines()
    body = rows * 40  # 20,000 rows, about 4 MB
    bad_line = 17_321
    fields = body[bad_line - 2].split(",")
    fields[2] = "ZZ"
    body[bad_line - 2] = ",".join(fields)
    src = tmp_path / "src"
    src.mkdir()
    (src / "big.csv").write_text(header + "\n" + "\n".join(body) + "\n")
    result = invoke(runner, "convert", src, tmp_path / "lake", "--warehouse", warehouse_dir)
    assert result.exit_code == ExitCode.REJECTED, result.output
    assert f"big.csv: line {bad_line}: state ZZ with region" in result.stderr


def test_a_rejection_whose_file_is_gone_leaves_status(
    runner, warehouse_dir: Path, one_hour: Path, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "bad.csv").write_bytes(b"not,a,telemetry,file\n")
    (src / "worse.csv").write_bytes(b"")
    result = invoke(runner, "convert", src, tmp_path / "lake", "--warehouse", warehouse_dir)
    assert result.exit_code == ExitCode.REJECTED
    assert "rejected_files: 2" in invoke(runner, "status", "--warehouse", warehouse_dir).stdout
    (src / "bad.csv").unlink()
    status = invoke(runner, "status", "--warehouse", warehouse_dir).stdout
    assert "rejected_files: 1" in status
    assert "bad.csv" not in status
    assert f"rejected: {(src / 'worse.csv').resolve()}: line 1: empty file" in status


def test_a_broken_link_is_rejected_by_its_own_name_not_skipped(
    runner, warehouse_dir: Path, one_hour: Path, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(one_hour / "telemetry_2020-01-01_00.csv", src / "good.csv")
    (src / "gone.csv").symlink_to(tmp_path / "elsewhere" / "gone.csv")
    result = invoke(runner, "convert", src, tmp_path / "lake", "--warehouse", warehouse_dir)
    assert result.exit_code == ExitCode.REJECTED, result.output
    link = (src / "gone.csv").absolute()
    assert f"{link}: a link to {tmp_path / 'elsewhere' / 'gone.csv'}, which does not exist" in result.stderr
    assert converted_sources(result.stdout) == [str((src / "good.csv").resolve())]
    assert f"rejected: {link}" in invoke(runner, "status", "--warehouse", warehouse_dir).stdout
    (src / "gone.csv").unlink()
    assert "rejected_files: 0" in invoke(runner, "status", "--warehouse", warehouse_dir).stdout
