"""Issue 9: exactly once under ordinary operations. A source is its content; one row per (site, datetime); the
lake knows its warehouse; `forget` and `check`."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import time
from pathlib import Path

import duckdb
import pytest

from duckwifi.errors import ExitCode
from duckwifi.rollups.store import read_manifest
from duckwifi.serving import ServingStore
from duckwifi.warehouse import Warehouse
from tests.conftest import converted_sources, invoke


@pytest.fixture
def csv_dir(runner, warehouse_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "csv"
    result = invoke(runner, "tick", "--warehouse", warehouse_dir, "--out", out, "--hours", "2")
    assert result.exit_code == 0
    return out


def view_counts(warehouse: Path) -> tuple[int, int]:
    """(rows, distinct (site, datetime)) through the telemetry view."""
    with duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True) as con:
        return con.execute("SELECT count(*), count(DISTINCT (site, datetime)) FROM telemetry").fetchone()


def lake_counts(lake: Path) -> tuple[int, int]:
    with duckdb.connect() as con:
        return con.execute(
            "SELECT count(*), count(DISTINCT (site, datetime)) FROM read_parquet($g)",
            {"g": str(lake / "**" / "*.parquet")},
        ).fetchone()


def convert(runner, src: Path, lake: Path, warehouse: Path, *extra: str):
    return invoke(runner, "convert", src, lake, "--warehouse", warehouse, *extra)


# -- A source is its content ------------------------------------------------------------------------------------


def test_moving_the_converted_csv_folder_does_not_double_the_lake(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    lake = tmp_path / "lake"
    assert convert(runner, csv_dir, lake, warehouse_dir).exit_code == 0
    archived = csv_dir.rename(tmp_path / "csv_archived")
    moved = convert(runner, archived, lake, warehouse_dir)
    assert moved.exit_code == 0, moved.output
    assert moved.stdout == ""
    old_path, new_path = csv_dir / "telemetry_2020-01-01_00.csv", archived / "telemetry_2020-01-01_00.csv"
    assert f"{new_path}: already converted as {old_path}, which is gone; its record follows it" in moved.stderr
    assert "2 already converted" in moved.stderr
    assert view_counts(warehouse_dir) == (1000, 1000)
    # The ledger followed the files: the next run takes the cheap path and says nothing about content.
    again = convert(runner, archived, lake, warehouse_dir)
    assert "2 already converted" in again.stderr
    assert "same content" not in again.stderr
    assert "already converted as" not in again.stderr
    assert "converted_files: 2" in invoke(runner, "status", "--warehouse", warehouse_dir).stdout
    # So did the rollups: forgetting the file by its new path withdraws its rows from the dashboard too.
    sources = {u.source for u in read_manifest(Warehouse(warehouse_dir)).units}
    assert sources == {str(p) for p in archived.glob("*.csv")}
    assert invoke(runner, "forget", new_path, "--warehouse", warehouse_dir).exit_code == 0
    with ServingStore(warehouse_dir) as served:
        assert served.overview()["rows"] == 500


def test_a_renamed_copy_in_a_new_folder_is_skipped(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    lake = tmp_path / "lake"
    convert(runner, csv_dir, lake, warehouse_dir)
    other = tmp_path / "resent"
    other.mkdir()
    original = csv_dir / "telemetry_2020-01-01_01.csv"
    shutil.copy(original, other / "delivery-7.csv")
    result = convert(runner, other, lake, warehouse_dir)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert f"delivery-7.csv: already converted (same content as {original.resolve()})" in result.stderr
    assert view_counts(warehouse_dir) == (1000, 1000)


def test_two_copies_in_one_run_convert_once(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    shutil.copy(csv_dir / "telemetry_2020-01-01_00.csv", csv_dir / "zz_copy.csv")
    result = convert(runner, csv_dir, tmp_path / "lake", warehouse_dir)
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 2
    assert "zz_copy.csv: already converted (same content as " in result.stderr
    assert view_counts(warehouse_dir) == (1000, 1000)


# -- One row per (site, datetime) ------------------------------------------------------------------------------


def test_a_file_with_every_row_twice_is_rejected_naming_the_key_and_lines(
    runner, warehouse_dir, csv_dir, tmp_path
) -> None:
    src = tmp_path / "twice"
    src.mkdir()
    header, *rows = (csv_dir / "telemetry_2020-01-01_00.csv").read_text().splitlines()
    (src / "twice.csv").write_text("\n".join([header, *rows, *rows]) + "\n")
    result = convert(runner, src, tmp_path / "lake", warehouse_dir)
    assert result.exit_code == ExitCode.REJECTED, result.output
    first_site = rows[0].split(",")[5]
    assert (
        f"twice.csv: line {len(rows) + 2}: repeated key: site {first_site} at 2020-01-01 00:00:00 "
        f"is on lines 2 and {len(rows) + 2}"
    ) in result.stderr
    assert not list((tmp_path / "lake").rglob("*.parquet"))


def test_a_duplicated_row_deep_in_a_large_file_is_found(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    header, *rows = (csv_dir / "telemetry_2020-01-01_00.csv").read_text().splitlines()
    body = []
    for copy in range(40):  # 20,000 rows with distinct sites
        for row in rows:
            fields = row.split(",")
            fields[5] = str(int(fields[5]) + copy * 1000)
            body.append(",".join(fields))
    first, second = 9_000, 17_321  # line numbers (the header is line 1)
    body[second - 2] = body[first - 2]
    src = tmp_path / "big"
    src.mkdir()
    (src / "big.csv").write_text(header + "\n" + "\n".join(body) + "\n")
    result = convert(runner, src, tmp_path / "lake", warehouse_dir)
    assert result.exit_code == ExitCode.REJECTED, result.output
    site = body[first - 2].split(",")[5]
    assert (
        f"big.csv: line {second}: repeated key: site {site} at 2020-01-01 00:00:00 is on lines {first} and {second}"
        in (result.stderr)
    )


def test_two_files_overlapping_by_one_row_the_second_is_rejected(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    lake = tmp_path / "lake"
    hour0, hour1 = csv_dir / "telemetry_2020-01-01_00.csv", csv_dir / "telemetry_2020-01-01_01.csv"
    first = tmp_path / "first"
    first.mkdir()
    shutil.copy(hour0, first / "a.csv")
    assert convert(runner, first, lake, warehouse_dir).exit_code == 0
    second = tmp_path / "second"
    second.mkdir()
    (second / "b.csv").write_text(hour1.read_text() + hour0.read_text().splitlines()[77] + "\n")
    result = convert(runner, second, lake, warehouse_dir)
    assert result.exit_code == ExitCode.REJECTED, result.output
    assert f"1 row(s) overlap rows already in the lake from {(first / 'a.csv').resolve()}" in result.stderr
    assert view_counts(warehouse_dir) == (500, 500)
    assert "rejected_files: 1" in invoke(runner, "status", "--warehouse", warehouse_dir).stdout


def test_overlap_between_two_files_of_one_run_is_caught(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    hour0 = csv_dir / "telemetry_2020-01-01_00.csv"
    (csv_dir / "z_partial_resend.csv").write_text("\n".join(hour0.read_text().splitlines()[:3]) + "\n")
    result = convert(runner, csv_dir, tmp_path / "lake", warehouse_dir)
    assert result.exit_code == ExitCode.REJECTED, result.output
    assert "z_partial_resend.csv: 2 row(s) overlap rows already in the lake from " in result.stderr
    assert view_counts(warehouse_dir) == (1000, 1000)


# -- The lake knows itself -------------------------------------------------------------------------------------


def lake_digest(lake: Path) -> dict[str, bytes]:
    return {str(p.relative_to(lake)): p.read_bytes() for p in sorted(lake.rglob("*")) if p.is_file()}


def test_a_second_warehouse_is_refused_and_nothing_is_written(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    lake = tmp_path / "lake"
    assert convert(runner, csv_dir, lake, warehouse_dir).exit_code == 0
    before = lake_digest(lake)
    typo = convert(runner, csv_dir, lake, tmp_path / "whh")
    assert typo.exit_code == ExitCode.FOREIGN_LAKE, typo.output
    assert f"lake {lake.resolve()} belongs to another warehouse" in typo.stderr
    assert lake_digest(lake) == before
    assert view_counts(warehouse_dir) == (1000, 1000)


def test_a_lake_moved_with_its_csvs_is_recognised_and_nothing_reconverts(
    runner, warehouse_dir, csv_dir, tmp_path
) -> None:
    lake = tmp_path / "lake"
    convert(runner, csv_dir, lake, warehouse_dir)
    moved = lake.rename(tmp_path / "new_home")
    result = convert(runner, csv_dir, moved, warehouse_dir)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert f"the lake moved from {lake.resolve()}" in result.stderr
    assert "2 already converted" in result.stderr
    assert view_counts(warehouse_dir) == (1000, 1000)
    assert json.loads((warehouse_dir / "lake.json").read_text())["lake"] == str(moved.resolve())
    status = invoke(runner, "status", "--warehouse", warehouse_dir).stdout
    assert "converted_files: 2" in status
    assert f"lake: {moved.resolve()}" in status


def test_a_lake_moved_without_its_csvs_is_re_pointed(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    lake = tmp_path / "lake"
    convert(runner, csv_dir, lake, warehouse_dir)
    moved = lake.rename(tmp_path / "new_home")
    shutil.rmtree(csv_dir)
    empty = tmp_path / "nothing_new"
    empty.mkdir()
    result = convert(runner, empty, moved, warehouse_dir)
    assert result.exit_code == 0, result.output
    assert view_counts(warehouse_dir) == (1000, 1000)


def test_a_second_lake_for_one_warehouse_is_refused_saying_how(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    convert(runner, csv_dir, tmp_path / "lake", warehouse_dir)
    result = convert(runner, csv_dir, tmp_path / "other_lake", warehouse_dir)
    assert result.exit_code == ExitCode.SECOND_LAKE, result.output
    assert "one warehouse has one lake" in result.stderr
    assert "--warehouse NEW_FOLDER" in result.stderr
    assert not (tmp_path / "other_lake").exists()
    assert view_counts(warehouse_dir) == (1000, 1000)


def test_a_lost_marker_at_the_recorded_path_is_written_again(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    # What a kill between recording the lake and writing its marker leaves.
    lake = tmp_path / "lake"
    convert(runner, csv_dir, lake, warehouse_dir)
    marker = lake / "_duckwifi_lake.json"
    written = json.loads(marker.read_text())
    marker.unlink()
    again = convert(runner, csv_dir, lake, warehouse_dir)
    assert again.exit_code == 0, again.output
    assert json.loads(marker.read_text()) == written


def _lake_files(lake: Path) -> dict[str, int]:
    return {str(p.relative_to(lake)): p.stat().st_size for p in sorted(lake.rglob("*.parquet"))}


@pytest.mark.parametrize("command", ["convert", "check --repair", "forget"])
def test_a_copy_of_the_warehouse_beside_it_cannot_write_its_lake(
    runner, warehouse_dir, csv_dir, tmp_path, command
) -> None:
    # A backup copied beside the warehouse, then the warehouse moves on: the copy's ledger is stale, so a
    # convert through it would convert again what it does not know, and a repair would delete it as orphans.
    lake = tmp_path / "lake"
    convert(runner, csv_dir, lake, warehouse_dir)
    copy = tmp_path / "warehouse_backup"
    shutil.copytree(warehouse_dir, copy)
    newer = tmp_path / "newer"
    invoke(runner, "tick", "--warehouse", warehouse_dir, "--out", newer, "--hours", "1")
    convert(runner, newer, lake, warehouse_dir)
    before = _lake_files(lake)
    args = {
        "convert": ["convert", newer, lake],
        "check --repair": ["check", "--repair"],
        "forget": ["forget", next(csv_dir.iterdir())],
    }[command]
    result = invoke(runner, *args, "--warehouse", copy)
    assert result.exit_code == ExitCode.FOREIGN_LAKE, result.output
    assert f"is a copy of the warehouse at {warehouse_dir.resolve()}" in result.stderr
    assert _lake_files(lake) == before
    assert view_counts(warehouse_dir) == (1500, 1500)


def test_a_moved_warehouse_keeps_its_lake(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    lake = tmp_path / "lake"
    convert(runner, csv_dir, lake, warehouse_dir)
    moved = warehouse_dir.rename(tmp_path / "moved_warehouse")
    newer = tmp_path / "newer"
    invoke(runner, "tick", "--warehouse", moved, "--out", newer, "--hours", "1")
    result = convert(runner, newer, lake, moved)
    assert result.exit_code == 0, result.output
    assert json.loads((lake / "_duckwifi_lake.json").read_text())["warehouse"] == str(moved.resolve())
    # Back where it was, the copy check still knows it from a copy: the recorded place is its own again.
    back = moved.rename(warehouse_dir)
    assert invoke(runner, "check", "--warehouse", back).exit_code == 0


@pytest.mark.parametrize("parent", ["srv/region=us-east", "x/hour=99", "d/Date=01-01-20", "s/state=TX/y"])
def test_a_partition_folder_above_the_lake_is_refused_up_front(
    runner, warehouse_dir, csv_dir, tmp_path, parent
) -> None:
    lake = tmp_path / parent / "lake"
    result = convert(runner, csv_dir, lake, warehouse_dir)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "hive reader" in result.stderr
    assert not lake.exists()


# -- forget and check -------------------------------------------------------------------------------------------


def test_forget_then_convert_again(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    lake = tmp_path / "lake"
    convert(runner, csv_dir, lake, warehouse_dir)
    hour0 = (csv_dir / "telemetry_2020-01-01_00.csv").resolve()
    forgotten = invoke(runner, "forget", hour0, "--warehouse", warehouse_dir)
    assert forgotten.exit_code == 0, forgotten.output
    assert forgotten.stdout.strip() == str(hour0)
    assert view_counts(warehouse_dir) == (500, 500)
    assert "converted_files: 1" in invoke(runner, "status", "--warehouse", warehouse_dir).stdout
    again = convert(runner, csv_dir, lake, warehouse_dir)
    assert converted_sources(again.stdout) == [str(hour0)]
    assert view_counts(warehouse_dir) == (1000, 1000)
    assert invoke(runner, "check", "--warehouse", warehouse_dir).exit_code == 0


def test_forgetting_every_source_leaves_the_readers_empty_views(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    """warehouse.duckdb, as a notebook opens it, follows the forget: its views globbed files that were gone."""
    convert(runner, csv_dir, tmp_path / "lake", warehouse_dir)
    for source in sorted(csv_dir.glob("*.csv")):
        assert invoke(runner, "forget", source, "--warehouse", warehouse_dir).exit_code == 0
    assert view_counts(warehouse_dir) == (0, 0)
    with duckdb.connect(str(warehouse_dir / "warehouse.duckdb"), read_only=True) as con:
        views = {name for (name,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    assert not {v for v in views if v.startswith("rollup_")}, views
    again = convert(runner, csv_dir, tmp_path / "lake", warehouse_dir)
    assert again.exit_code == 0
    assert view_counts(warehouse_dir) == (1000, 1000)


def test_forget_accepts_a_file_with_the_same_content(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    convert(runner, csv_dir, tmp_path / "lake", warehouse_dir)
    copy = tmp_path / "elsewhere.csv"
    shutil.copy(csv_dir / "telemetry_2020-01-01_01.csv", copy)
    result = invoke(runner, "forget", copy, "--warehouse", warehouse_dir)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str((csv_dir / "telemetry_2020-01-01_01.csv").resolve())
    unknown = invoke(runner, "forget", tmp_path / "nope.csv", "--warehouse", warehouse_dir)
    assert unknown.exit_code == ExitCode.USAGE


def _damage(lake: Path) -> tuple[Path, Path, Path]:
    files = sorted(lake.rglob("*.parquet"))
    deleted, truncated = files[0], files[-1]
    deleted.unlink()
    truncated.write_bytes(truncated.read_bytes()[:-100])
    orphan = lake / "date=01-01-20" / "hour=0" / "region=West" / "state=CA" / "stray.parquet"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(files[1].read_bytes())
    return deleted, truncated, orphan


def test_check_finds_a_deleted_a_truncated_and_an_orphan_file_then_repairs(
    runner, warehouse_dir, csv_dir, tmp_path
) -> None:
    lake = tmp_path / "lake"
    convert(runner, csv_dir, lake, warehouse_dir)
    assert invoke(runner, "check", "--warehouse", warehouse_dir).exit_code == 0
    deleted, truncated, orphan = _damage(lake)
    skipped = convert(runner, csv_dir, lake, warehouse_dir)
    assert "warning: 2 lake file(s) of " in skipped.stderr
    assert "already-converted source(s) are missing or damaged" in skipped.stderr
    found = invoke(runner, "check", "--warehouse", warehouse_dir)
    assert found.exit_code == ExitCode.CHECK_FOUND_PROBLEMS, found.output
    lines = found.stdout.splitlines()
    assert len(lines) == 3, found.stdout
    assert any(line.startswith(f"missing: {deleted.relative_to(lake)}") for line in lines)
    assert any(line.startswith(f"size: {truncated.relative_to(lake)}") for line in lines)
    assert f"orphan: {orphan.relative_to(lake)} (no source accounts for it)" in lines
    repaired = invoke(runner, "check", "--repair", "--warehouse", warehouse_dir)
    assert repaired.exit_code == 0, repaired.output
    assert not orphan.exists()
    assert invoke(runner, "check", "--warehouse", warehouse_dir).exit_code == 0
    assert view_counts(warehouse_dir) == (1000, 1000)


def test_check_repair_leaves_files_alone_when_the_csv_is_gone(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    lake = tmp_path / "lake"
    convert(runner, csv_dir, lake, warehouse_dir)
    files = sorted(lake.rglob("*.parquet"))
    files[0].unlink()
    shutil.rmtree(csv_dir)
    result = invoke(runner, "check", "--repair", "--warehouse", warehouse_dir)
    assert result.exit_code == ExitCode.REPAIR_INCOMPLETE, result.output
    assert "cannot repair " in result.stderr
    assert "its lake files were left alone" in result.stderr
    assert len(list(lake.rglob("*.parquet"))) == len(files) - 1


# -- Every check before any work -------------------------------------------------------------------------------


def test_a_lake_path_with_parentheses_ampersand_quote_hash_and_dollar_works(
    runner, warehouse_dir, csv_dir, tmp_path
) -> None:
    lake = tmp_path / "o'neil (copy) & #2 $HOME" / "lake"
    result = convert(runner, csv_dir, lake, warehouse_dir)
    assert result.exit_code == 0, result.output
    assert view_counts(warehouse_dir) == (1000, 1000)
    assert invoke(runner, "check", "--warehouse", warehouse_dir).exit_code == 0


def test_a_lake_path_duckdb_would_read_as_a_pattern_is_refused_before_any_work(
    runner, warehouse_dir, csv_dir, tmp_path
) -> None:
    lake = tmp_path / "lake[1]"
    result = convert(runner, csv_dir, lake, warehouse_dir)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "file pattern" in result.stderr
    assert not lake.exists()
    with duckdb.connect(str(warehouse_dir / "state.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM conversions").fetchone() == (0,)


# -- Real-world input ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["gzip", "bom"])
def test_a_gzipped_or_bommed_csv_round_trips_exactly(runner, warehouse_dir, csv_dir, tmp_path, form) -> None:
    from tests.test_converter import _expected_rows, _normalise, _view_rows

    src = tmp_path / form
    src.mkdir()
    original = csv_dir / "telemetry_2020-01-01_00.csv"
    if form == "gzip":
        (src / "hour.csv.gz").write_bytes(gzip.compress(original.read_bytes()))
    else:
        (src / "hour.csv").write_bytes(b"\xef\xbb\xbf" + original.read_bytes())
    result = convert(runner, src, tmp_path / "lake", warehouse_dir)
    assert result.exit_code == 0, result.output
    expected_dir = tmp_path / "expected"
    expected_dir.mkdir()
    shutil.copy(original, expected_dir)
    key = lambda row: (row[0], row[5])  # noqa: E731
    assert sorted(_normalise(_view_rows(warehouse_dir)), key=key) == sorted(
        _normalise(_expected_rows(expected_dir)), key=key
    )


def test_a_cut_gzip_file_is_rejected(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    src = tmp_path / "gz"
    src.mkdir()
    data = gzip.compress((csv_dir / "telemetry_2020-01-01_00.csv").read_bytes())
    (src / "cut.csv.gz").write_bytes(data[: len(data) // 2])
    result = convert(runner, src, tmp_path / "lake", warehouse_dir)
    assert result.exit_code == ExitCode.REJECTED, result.output
    assert "cut.csv.gz" in result.stderr


def test_min_age_skips_a_file_still_fresh_and_exits_0(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    old = time.time() - 3600
    os.utime(csv_dir / "telemetry_2020-01-01_00.csv", (old, old))
    result = convert(runner, csv_dir, tmp_path / "lake", warehouse_dir, "--min-age", "60")
    assert result.exit_code == 0, result.output
    assert converted_sources(result.stdout) == [str((csv_dir / "telemetry_2020-01-01_00.csv").resolve())]
    assert "telemetry_2020-01-01_01.csv: modified less than 60 s ago (--min-age)" in result.stderr
    assert "1 too recent" in result.stderr


# -- One bad row need not cost an hour -------------------------------------------------------------------------


def _with_bad_lines(original: Path, target: Path, lines: dict[int, str]) -> None:
    text = original.read_text().split("\n")
    for line, value in lines.items():
        text[line - 1] = value
    target.write_text("\n".join(text))


def test_max_bad_rows_sets_malformed_rows_aside_and_converts_the_rest(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    bad = src / "hour.csv"
    original = csv_dir / "telemetry_2020-01-01_00.csv"
    _with_bad_lines(original, bad, {7: "not,a,row", 300: original.read_text().split("\n")[299].replace(".", "x", 1)})
    refused = convert(runner, src, tmp_path / "lake", warehouse_dir, "--max-bad-rows", "1")
    assert refused.exit_code == ExitCode.REJECTED, refused.output
    assert "2 malformed rows, more than --max-bad-rows 1" in refused.stderr
    result = convert(runner, src, tmp_path / "lake", warehouse_dir, "--max-bad-rows", "2")
    assert result.exit_code == 0, result.output
    assert "2 malformed row(s) set aside" in result.stderr
    assert view_counts(warehouse_dir) == (498, 498)
    (rejects,) = (warehouse_dir / "rejects").glob("*.csv")
    with duckdb.connect() as con:
        rows = con.execute("SELECT source, line, raw_line FROM read_csv($f)", {"f": str(rejects)}).fetchall()
    assert [(r[0], r[1]) for r in rows] == [(str(bad.resolve()), 7), (str(bad.resolve()), 300)]
    assert rows[0][2] == "not,a,row"
    status = invoke(runner, "status", "--warehouse", warehouse_dir).stdout
    assert "set_aside_rows: 2" in status
    assert f"set_aside: {bad.resolve()}: 2 row(s)" in status
    checked = invoke(runner, "check", "--warehouse", warehouse_dir)
    assert checked.exit_code == 0
    assert f"set aside: {bad.resolve()}: 2 malformed row(s)" in checked.stderr
    # A repair re-converts with the same rows set aside, and no more.
    next((tmp_path / "lake").rglob("*.parquet")).unlink()
    repaired = invoke(runner, "check", "--repair", "--warehouse", warehouse_dir)
    assert repaired.exit_code == 0, repaired.output
    assert view_counts(warehouse_dir) == (498, 498)
    # Forgetting the source forgets its set-aside rows too.
    assert invoke(runner, "forget", bad, "--warehouse", warehouse_dir).exit_code == 0
    assert not rejects.exists()
    assert "set_aside_rows: 0" in invoke(runner, "status", "--warehouse", warehouse_dir).stdout


def test_without_max_bad_rows_one_bad_row_still_rejects_the_file(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    _with_bad_lines(csv_dir / "telemetry_2020-01-01_00.csv", src / "hour.csv", {7: "not,a,row"})
    result = convert(runner, src, tmp_path / "lake", warehouse_dir)
    assert result.exit_code == ExitCode.REJECTED
    assert not (warehouse_dir / "rejects").exists()


def test_a_clean_file_after_a_bad_one_sets_nothing_aside(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    # One reader converts the whole run, and a read that sets nothing aside leaves DuckDB's reject tables as
    # the bad file's read left them: the clean file must not be charged with the bad file's rows.
    src = tmp_path / "src"
    src.mkdir()
    _with_bad_lines(csv_dir / "telemetry_2020-01-01_00.csv", src / "a_bad.csv", {7: "not,a,row"})
    shutil.copy(csv_dir / "telemetry_2020-01-01_01.csv", src / "b_clean.csv")
    result = convert(runner, src, tmp_path / "lake", warehouse_dir, "--max-bad-rows", "1")
    assert result.exit_code == 0, result.output
    assert result.stderr.count("malformed row(s) set aside") == 1
    assert len(list((warehouse_dir / "rejects").glob("*.csv"))) == 1
    status = invoke(runner, "status", "--warehouse", warehouse_dir).stdout
    assert f"set_aside: {(src / 'a_bad.csv').resolve()}: 1 row(s)" in status
    assert "set_aside_rows: 1" in status


def test_rows_are_sorted_by_site_inside_every_lake_file(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    # Device lookups (issue 13) prune row groups by their site statistics, which needs sorted files.
    lake = tmp_path / "lake"
    assert convert(runner, csv_dir, lake, warehouse_dir).exit_code == 0
    with duckdb.connect() as con:
        out_of_order = con.execute(
            """
            SELECT count(*) FROM (
                SELECT site < lag(site) OVER (PARTITION BY filename ORDER BY file_row_number) AS descends
                FROM read_parquet($g, filename = true, file_row_number = true)
            ) WHERE descends
            """,
            {"g": str(lake / "**" / "*.parquet")},
        ).fetchone()
    assert out_of_order == (0,)


def test_check_before_any_convert_and_without_a_warehouse(runner, warehouse_dir, tmp_path) -> None:
    fresh = invoke(runner, "check", "--warehouse", warehouse_dir)
    assert fresh.exit_code == 0
    assert "has no lake yet" in fresh.stderr
    missing = invoke(runner, "check", "--warehouse", tmp_path / "nowhere")
    assert missing.exit_code == ExitCode.NOT_INITIALIZED


GONE_LAKE = "is gone (moved, or on a disk that is not mounted); `duckwifi convert SRC NEW_PATH` re-points"


@pytest.mark.parametrize("command", ["convert", "forget"])
def test_a_lake_folder_that_is_gone_is_refused_and_its_moved_copy_still_re_points(
    runner, warehouse_dir, csv_dir, tmp_path, command
) -> None:
    """An unmounted disk or a moved lake: convert into the recorded path must not start a new, empty lake
    there (which would then make the real one a refused "copy"), and forget must not report removing files
    it never reached, nor retire their rows from the ledger while they stay in the real lake."""
    lake = tmp_path / "lake"
    assert convert(runner, csv_dir, lake, warehouse_dir).exit_code == 0
    before = _lake_files(lake)
    offline = lake.rename(tmp_path / "offline")
    one = sorted(csv_dir.glob("*.csv"))[0]
    args = [csv_dir, lake] if command == "convert" else [one]
    refused = invoke(runner, command, *args, "--warehouse", warehouse_dir)
    assert refused.exit_code == ExitCode.LAKE_UNREADABLE, refused.output
    assert refused.stderr == f"duckwifi: error: the lake {lake} {GONE_LAKE} the warehouse to a moved lake\n"
    assert not lake.exists()
    assert _lake_files(offline) == before
    repointed = convert(runner, csv_dir, offline, warehouse_dir)
    assert repointed.exit_code == 0, repointed.output
    assert repointed.stdout == ""
    assert _lake_files(offline) == before
    assert invoke(runner, "check", "--warehouse", warehouse_dir).exit_code == 0


@pytest.mark.parametrize("command", ["convert", "forget", "rollup --rebuild", "sql"])
def test_an_empty_folder_at_the_lake_path_is_not_the_lake(runner, warehouse_dir, csv_dir, tmp_path, command) -> None:
    """An unmounted disk leaves its empty mount point: without the lake's marker it is not the lake, so nothing
    converts, forgets or rebuilds into it, and no reader counts 0 rows from it."""
    lake = tmp_path / "lake"
    assert convert(runner, csv_dir, lake, warehouse_dir).exit_code == 0
    before = _lake_files(lake)
    offline = lake.rename(tmp_path / "offline")
    lake.mkdir()
    args = {
        "convert": ["convert", csv_dir, lake],
        "forget": ["forget", sorted(csv_dir.glob("*.csv"))[0]],
        "rollup --rebuild": ["rollup", "--rebuild"],
        "sql": ["sql", "SELECT count(*) FROM telemetry"],
    }[command]
    refused = invoke(runner, *args, "--warehouse", warehouse_dir)
    assert refused.exit_code == ExitCode.LAKE_UNREADABLE, refused.output
    assert refused.stderr.startswith(f"duckwifi: error: the lake {lake} {GONE_LAKE}")
    assert list(lake.iterdir()) == []
    lake.rmdir()
    offline.rename(lake)
    assert _lake_files(lake) == before
    assert invoke(runner, "check", "--warehouse", warehouse_dir).exit_code == 0


def test_a_moved_lake_with_a_lost_manifest_is_re_pointed_so_that_the_rebuild_asked_for_works(
    runner, warehouse_dir, csv_dir, tmp_path
) -> None:
    lake = tmp_path / "lake"
    assert convert(runner, csv_dir, lake, warehouse_dir).exit_code == 0
    moved = lake.rename(tmp_path / "moved")
    (warehouse_dir / "rollups" / "manifest.json").unlink()
    refused = convert(runner, csv_dir, moved, warehouse_dir)
    assert refused.exit_code == ExitCode.CORRUPT, refused.output
    assert "run `duckwifi rollup --rebuild`" in refused.stderr
    rebuilt = invoke(runner, "rollup", "--rebuild", "--warehouse", warehouse_dir)
    assert rebuilt.exit_code == 0, rebuilt.output
    again = convert(runner, csv_dir, moved, warehouse_dir)
    assert again.exit_code == 0, again.output
    assert again.stdout == ""
    assert invoke(runner, "check", "--warehouse", warehouse_dir).exit_code == 0


def test_check_of_a_lake_folder_that_is_gone_says_so_and_repair_does_not_claim_success(
    runner, warehouse_dir, csv_dir, tmp_path
) -> None:
    lake = tmp_path / "lake"
    convert(runner, csv_dir, lake, warehouse_dir)
    lake.rename(tmp_path / "elsewhere")
    for args, code in ((["check"], ExitCode.CHECK_FOUND_PROBLEMS), (["check", "--repair"], ExitCode.REPAIR_INCOMPLETE)):
        result = invoke(runner, *args, "--warehouse", warehouse_dir)
        assert result.exit_code == code, result.output
        assert result.stdout == f"missing: {lake.resolve()}: the lake folder itself is gone\n"
        assert "`duckwifi convert SRC NEW_PATH` re-points the warehouse" in result.stderr
        assert "--repair fixes" not in result.stderr
