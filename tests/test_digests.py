"""Day digests: a cache of a day's derived serving rows, used only while it matches the day's units."""

from __future__ import annotations

import json
import logging
import random
import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from duckwifi.errors import ExitCode, RollupsDamaged
from duckwifi.rollups import digests
from duckwifi.rollups import store as rollup_store
from duckwifi.serving import ServingStore
from duckwifi.warehouse import Warehouse
from tests.conftest import invoke, popen_cli, run_cli

DAY1 = datetime(2020, 1, 1)
DAY2 = datetime(2020, 1, 2)
# Every table the serving store loads, hourly window included.
TABLES = (
    "stats_hour",
    "stats_day",
    "sketch_hour",
    "sketch_day",
    "quantile_hour",
    "quantile_day",
    "cells_hour",
    "cells_block",
    "cells_day",
    "cell_centres",
    "hour_rows",
)


@pytest.fixture
def two_days(runner, tmp_path: Path) -> tuple[Path, Path, Path]:
    """Six hours of a 300-device fleet, 21:00 on day 1 to 02:00 on day 2, converted: (warehouse, csv, lake)."""
    wh, src, lake = tmp_path / "wh", tmp_path / "csv", tmp_path / "lake"
    assert (
        invoke(runner, "init", "-w", wh, "--devices", "300", "--seed", "3", "--start", "2020-01-01 21:00").exit_code
        == 0
    )
    assert invoke(runner, "tick", "-w", wh, "--out", src, "--hours", "6").exit_code == 0
    result = invoke(runner, "convert", src, lake, "-w", wh)
    assert result.exit_code == 0, result.output
    return wh, src, lake


def _digest_folders(warehouse: Path) -> list[str]:
    folder = warehouse / "rollups" / digests.DIGESTS_DIR
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def _store(warehouse: Path) -> ServingStore:
    # Hourly rows of a 3-hour window, so that day 1 is read from its digest alone: no hour of it from units.
    return ServingStore(warehouse, window_hours=3, sketch_window_hours=3)


def _tables(store: ServingStore) -> dict[str, list[tuple]]:
    # The test reads the store's own tables: parity must hold for every row, not only for some questions.
    return {t: store._db.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES}


def _from_units(warehouse: Path, tmp_path: Path) -> dict[str, list[tuple]]:
    """Every table of a store loaded from units alone: a copy of the rollups without their digests."""
    copy = tmp_path / "units-only"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(warehouse / "rollups", copy / "rollups", ignore=shutil.ignore_patterns(digests.DIGESTS_DIR))
    store = _store(copy)
    try:
        return _tables(store)
    finally:
        store.close()


def _drop_unit_files(warehouse: Path, day: datetime) -> None:
    """Delete the Parquet files of the units of ``day``: a store that still loads did not read them."""
    manifest = rollup_store.read_manifest(Warehouse(warehouse))
    for unit in digests.units_by_day(manifest)[day]:
        for table in rollup_store.TABLES:
            unit.path(warehouse / "rollups", table).unlink()


def _served_counts(warehouse: Path) -> list[tuple[datetime, int]]:
    store = _store(warehouse)
    try:
        return [(p["time"], p["count"]) for p in store.timeseries("metric_1", "count")]
    finally:
        store.close()


def _raw_counts(warehouse: Path) -> list[tuple[datetime, int]]:
    with duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(
            "SELECT date_trunc('hour', datetime) AS t, count(*) FROM telemetry GROUP BY t ORDER BY t"
        ).fetchall()


def test_convert_writes_the_digest_of_each_complete_day_from_exactly_its_units(two_days) -> None:
    warehouse, _, _ = two_days
    manifest = rollup_store.read_manifest(Warehouse(warehouse))
    day1_units = digests.units_by_day(manifest)[DAY1]
    assert len(day1_units) == 3
    # Day 2 is the newest hour's day: more hours may come, so it has no digest yet.
    assert _digest_folders(warehouse) == [digests.digest_name(DAY1, day1_units)]
    info = json.loads((warehouse / "rollups" / "digests" / _digest_folders(warehouse)[0] / "digest.json").read_text())
    assert info["day"] == "2020-01-01"
    assert info["units"] == sorted(u.unit for u in day1_units)
    assert sorted(info["files"]) == sorted(digests.DIGEST_TABLES)


def test_a_store_loaded_with_digests_holds_exactly_what_units_give(two_days, tmp_path: Path) -> None:
    warehouse, _, _ = two_days
    with_digests = _store(warehouse)
    try:
        loaded = _tables(with_digests)
        assert loaded == _from_units(warehouse, tmp_path)
        assert all(loaded[t] for t in TABLES)
        assert with_digests.overview()["hours"] == 6
    finally:
        with_digests.close()


def test_a_day_with_a_usable_digest_is_read_from_it_not_from_its_units(two_days, tmp_path: Path) -> None:
    warehouse, _, _ = two_days
    expected = _from_units(warehouse, tmp_path)
    _drop_unit_files(warehouse, DAY1)
    # Day 1 is outside the 3-hour window, so nothing of it is read from units: the digest answers alone.
    store = _store(warehouse)
    try:
        assert _tables(store) == expected
    finally:
        store.close()
    # The control: without the digest the same store cannot load, so the digest was what answered.
    shutil.rmtree(warehouse / "rollups" / digests.DIGESTS_DIR)
    with pytest.raises(RollupsDamaged, match="a rollup unit cannot be read"):
        _store(warehouse)


def test_a_digest_made_stale_by_forget_is_ignored_then_replaced(runner, two_days, tmp_path: Path) -> None:
    warehouse, src, lake = two_days
    stale = _digest_folders(warehouse)
    forgotten = (src / "telemetry_2020-01-01_22.csv").resolve()
    assert invoke(runner, "forget", forgotten, "-w", warehouse).exit_code == 0
    # The stale digest still lies there, and holds the forgotten hour; the reader must not use it.
    assert _digest_folders(warehouse) == stale
    assert _served_counts(warehouse) == _raw_counts(warehouse)
    assert DAY1 + timedelta(hours=22) not in dict(_served_counts(warehouse))
    store = _store(warehouse)
    assert _tables(store) == _from_units(warehouse, tmp_path)
    # The next convert replaces it with the digest of the day's remaining units.
    forgotten.unlink()
    assert invoke(runner, "convert", src, lake, "-w", warehouse).exit_code == 0
    manifest = rollup_store.read_manifest(Warehouse(warehouse))
    assert _digest_folders(warehouse) == [digests.digest_name(DAY1, digests.units_by_day(manifest)[DAY1])]
    assert _digest_folders(warehouse) != stale
    # A store that followed the change reads the same as a fresh one.
    assert store.refresh() is False
    assert _tables(_store(warehouse)) == _tables(store)


def _keep_only(warehouse: Path, kept: Path, name: str) -> None:
    """Leave in the digests folder only the saved digest ``kept``, under ``name``."""
    shutil.rmtree(warehouse / "rollups" / digests.DIGESTS_DIR)
    shutil.copytree(kept, warehouse / "rollups" / digests.DIGESTS_DIR / name)


def test_a_digest_made_stale_by_replace_changed_is_not_used(runner, two_days, tmp_path: Path) -> None:
    warehouse, src, lake = two_days
    [name] = _digest_folders(warehouse)
    kept = tmp_path / "kept-digest"
    shutil.copytree(warehouse / "rollups" / digests.DIGESTS_DIR / name, kept)
    changed = src / "telemetry_2020-01-01_21.csv"
    lines = changed.read_text().splitlines(keepends=True)
    changed.write_text("".join(lines[:101]))
    result = invoke(runner, "convert", src, lake, "-w", warehouse, "--replace-changed")
    assert result.exit_code == 0, result.output
    assert _digest_folders(warehouse) not in ([], [name])
    # Only the old digest lies there now, as a reader may meet it before convert's digest step.
    _keep_only(warehouse, kept, name)
    assert _served_counts(warehouse) == _raw_counts(warehouse)
    assert dict(_served_counts(warehouse))[DAY1 + timedelta(hours=21)] == 100
    assert _tables(_store(warehouse)) == _from_units(warehouse, tmp_path)


def test_a_digest_of_a_day_that_gained_a_unit_is_not_used_even_under_the_new_name(
    runner, two_days, tmp_path: Path
) -> None:
    warehouse, src, lake = two_days
    [name] = _digest_folders(warehouse)
    kept = tmp_path / "kept-digest"
    shutil.copytree(warehouse / "rollups" / digests.DIGESTS_DIR / name, kept)
    # A second file for an hour of day 1 (e.g. one file per region): the day now has four units.
    lines = (src / "telemetry_2020-01-01_23.csv").read_text().splitlines(keepends=True)
    # Its rows are other sites' (a site id shifted past the fleet's), so they add to the hour, not overlap.
    extra = [",".join([*f[:5], str(int(f[5]) + 1000000), *f[6:]]) for f in (line.split(",") for line in lines[1:51])]
    (src / "telemetry_2020-01-01_23_extra.csv").write_text(lines[0] + "".join(extra))
    result = invoke(runner, "convert", src, lake, "-w", warehouse)
    assert result.exit_code == 0, result.output
    day1_units = digests.units_by_day(rollup_store.read_manifest(Warehouse(warehouse)))[DAY1]
    assert len(day1_units) == 4
    # The old digest under the name the new units hash to: its own list of units must still refuse it.
    _keep_only(warehouse, kept, digests.digest_name(DAY1, day1_units))
    assert digests.usable_digest(Warehouse(warehouse), DAY1, day1_units) is None
    assert _served_counts(warehouse) == _raw_counts(warehouse)
    assert _tables(_store(warehouse)) == _from_units(warehouse, tmp_path)


def test_rebuild_rewrites_the_digests_and_rollup_digests_writes_missing_ones(runner, two_days, tmp_path) -> None:
    warehouse, _, _ = two_days
    before = _digest_folders(warehouse)
    assert invoke(runner, "rollup", "--rebuild", "-w", warehouse).exit_code == 0
    after = _digest_folders(warehouse)
    assert len(after) == 1
    assert after != before
    assert _tables(_store(warehouse)) == _from_units(warehouse, tmp_path)
    shutil.rmtree(warehouse / "rollups" / "digests")
    result = invoke(runner, "rollup", "--digests", "-w", warehouse)
    assert result.exit_code == 0, result.output
    assert _digest_folders(warehouse) == after
    assert result.stdout.strip() == rollup_store.read_manifest(Warehouse(warehouse)).version
    assert "wrote 1 day digest(s)" in result.stderr
    # A digest folder whose digest.json is damaged is not used, and the next writer replaces it.
    info = warehouse / "rollups" / "digests" / after[0] / "digest.json"
    info.write_text("{")
    manifest = rollup_store.read_manifest(Warehouse(warehouse))
    assert digests.usable_digest(Warehouse(warehouse), DAY1, digests.units_by_day(manifest)[DAY1]) is None
    assert invoke(runner, "rollup", "--digests", "-w", warehouse).exit_code == 0
    assert json.loads(info.read_text())["day"] == "2020-01-01"
    assert _digest_folders(warehouse) == after


def test_a_convert_whose_digests_cannot_be_written_still_succeeds(runner, two_days, tmp_path: Path) -> None:
    warehouse, src, lake = two_days
    folder = warehouse / "rollups" / digests.DIGESTS_DIR
    shutil.rmtree(folder)
    folder.write_text("not a folder")
    assert invoke(runner, "tick", "-w", warehouse, "--out", src).exit_code == 0
    result = invoke(runner, "convert", src, lake, "-w", warehouse)
    assert result.exit_code == 0, result.output
    assert _served_counts(warehouse) == _raw_counts(warehouse)
    folder.unlink()
    assert invoke(runner, "convert", src, lake, "-w", warehouse).exit_code == 0
    assert len(_digest_folders(warehouse)) == 1


def test_rollup_without_an_action_is_a_usage_error(runner, warehouse_dir) -> None:
    result = invoke(runner, "rollup", "-w", warehouse_dir)
    assert result.exit_code == ExitCode.USAGE
    assert "--digests" in result.stderr


@pytest.mark.slow
def test_writing_digests_killed_at_random_instants_never_shows_a_partial_one(tmp_path: Path) -> None:
    rng = random.Random(17)
    wh, src, lake = tmp_path / "wh", tmp_path / "csv", tmp_path / "lake"
    assert run_cli("init", "-w", wh, "--devices", 2000, "--start", "2020-01-01 12:00").returncode == 0
    assert run_cli("tick", "-w", wh, "--out", src, "--hours", 40).returncode == 0
    assert run_cli("convert", src, lake, "-w", wh).returncode == 0
    expected = _from_units(wh, tmp_path)
    written = _digest_folders(wh)
    assert len(written) == 2
    killed_while_writing = 0
    for _ in range(6):
        shutil.rmtree(wh / "rollups" / "digests", ignore_errors=True)
        proc = popen_cli("rollup", "--digests", "-w", wh)
        # Wait for the process to start writing (its hidden folder appears), then kill it a random instant later.
        while proc.poll() is None and not any(n.startswith(".") for n in _digest_folders(wh)):
            time.sleep(0.002)
        time.sleep(rng.uniform(0.0, 0.4))
        killed_while_writing += proc.poll() is None
        proc.kill()
        proc.communicate()
        # Whatever is visible is whole: every digest under its final name is usable, and a store loads
        # exactly what units give.
        manifest = rollup_store.read_manifest(Warehouse(wh))
        for name in _digest_folders(wh):
            if not name.startswith("."):
                day = datetime.strptime(name[:10], "%Y-%m-%d")
                assert digests.usable_digest(Warehouse(wh), day, digests.units_by_day(manifest)[day]) is not None
        assert _tables(_store(wh)) == expected
    # Most kills hit a running writer (the rest found it done): the loop tested what it claims.
    assert killed_while_writing >= 2
    final = run_cli("rollup", "--digests", "-w", wh)
    assert final.returncode == 0, final.stderr
    assert _digest_folders(wh) == written
    assert _tables(_store(wh)) == expected


@pytest.mark.slow
def test_a_reader_during_a_convert_that_writes_digests_never_errors(tmp_path: Path) -> None:
    wh, src, lake = tmp_path / "wh", tmp_path / "csv", tmp_path / "lake"
    assert run_cli("init", "-w", wh, "--devices", 2000, "--start", "2020-01-01 18:00").returncode == 0
    assert run_cli("tick", "-w", wh, "--out", src, "--hours", 4).returncode == 0
    assert run_cli("convert", src, lake, "-w", wh).returncode == 0
    reader = _store(wh)
    assert run_cli("tick", "-w", wh, "--out", src, "--hours", 8).returncode == 0
    proc = popen_cli("convert", src, lake, "-w", wh)
    loads = 0
    while proc.poll() is None:
        reader.refresh()
        fresh = _store(wh)
        assert fresh.overview()["rows"] >= 4 * 2000
        fresh.close()
        loads += 1
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    assert loads > 0
    assert _digest_folders(wh)
    reader.refresh()
    assert _tables(reader) == _tables(_store(wh)) == _from_units(wh, tmp_path)


def test_a_damaged_digest_is_served_around_then_found_by_check_and_written_again(
    runner, two_days, tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    """A digest is a cache: a damaged one must not stop the server (its day is loaded from the units), and
    `check` names it, as the server's log says, and `check --repair` writes it again."""
    warehouse, _, _ = two_days
    (folder,) = _digest_folders(warehouse)
    damaged = warehouse / "rollups" / digests.DIGESTS_DIR / folder / "hour_rows.parquet"
    damaged.write_bytes(damaged.read_bytes()[:100])
    with caplog.at_level(logging.WARNING, logger="duckwifi.serving.library"):
        assert _tables(_store(warehouse)) == _from_units(warehouse, tmp_path)
    (warned,) = [r.getMessage() for r in caplog.records if "day digest" in r.getMessage()]
    assert str(damaged) in warned
    assert "duckwifi check --repair" in warned
    found = invoke(runner, "check", "-w", warehouse)
    assert found.exit_code == ExitCode.CHECK_FOUND_PROBLEMS, found.output
    shown = damaged.relative_to(warehouse)
    assert found.stdout == f"digest: {shown}: not a complete Parquet file (no magic bytes)\n"
    repaired = invoke(runner, "check", "--repair", "-w", warehouse)
    assert repaired.exit_code == 0, repaired.output
    assert f"repaired: wrote the day digest {shown.parent} again" in repaired.stderr
    assert _digest_folders(warehouse) == [folder]
    assert invoke(runner, "check", "-w", warehouse).exit_code == 0
    assert _tables(_store(warehouse)) == _from_units(warehouse, tmp_path)
    # A damaged digest.json keeps the digest from being used at all: listed and written again too.
    info = damaged.parent / "digest.json"
    info.write_text("{")
    found = invoke(runner, "check", "-w", warehouse)
    assert found.stdout == f"digest: {info.relative_to(warehouse)}: cannot be read\n"
    assert invoke(runner, "check", "--repair", "-w", warehouse).exit_code == 0
    assert json.loads(info.read_text())["day"] == "2020-01-01"
    assert invoke(runner, "check", "-w", warehouse).exit_code == 0
