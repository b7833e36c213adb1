"""The dashboard page in a real browser: Debian's headless Chromium driven by Playwright, on a live
``duckwifi serve``. Each chart draws data, the metric selector changes what is plotted, the console stays free
of errors, and no request leaves the server's origin. A screenshot is saved as an artifact."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.serve_support import start_server

CHROMIUM = Path(os.environ.get("DUCKWIFI_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(os.environ.get("DUCKWIFI_ARTIFACTS", Path(__file__).resolve().parent.parent / "artifacts"))
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
    "--metrics-recording-only",
]

# How each chart's plotted values are read: (element id, trace index, axis holding the values).
CHARTS = {
    "timeseries": (0, "y"),
    "map": (0, "marker.color"),
    "breakdown": (0, "x"),
    "distribution": (0, "y"),
}


def plotted(page, chart: str) -> list:
    trace, field = CHARTS[chart]
    path = "".join(f"[{part!r}]" for part in field.split("."))
    return page.evaluate(f"Array.from(document.getElementById('{chart}').data[{trace}]{path} || [])")


def plotted_incidents(page) -> list:
    return page.evaluate("Array.from(document.getElementById('map').data[2].x || [])")


def test_the_dashboard_draws_every_chart_and_follows_the_metric(served_lake):
    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)"
    server = start_server("--warehouse", served_lake.warehouse)
    console: list[tuple[str, str]] = []
    requests: list[str] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1400})
                page.on("console", lambda m: console.append((m.type, m.text)))
                page.on("pageerror", lambda e: console.append(("pageerror", str(e))))
                page.on("request", lambda r: requests.append(r.url))
                page.goto(server.url)
                page.wait_for_function("Number(document.body.dataset.drawn || 0) >= 1", timeout=60_000)

                assert page.text_content("#newest-hour") == "2020-01-02 01:00"
                assert page.text_content("#devices-reporting") == "400"
                assert page.text_content("#hours-covered") == "26"
                before = {chart: plotted(page, chart) for chart in CHARTS}
                for chart, values in before.items():
                    assert values, f"{chart} drew nothing"
                    assert any(v is not None for v in values), chart
                # Drawn, not only handed to Plotly: the SVG holds the marks.
                assert page.locator("#timeseries .scatterlayer .point").count() == len(before["timeseries"])
                map_traces = page.locator("#map .scatterlayer .trace")
                assert map_traces.nth(0).locator(".point").count() == len(before["map"])
                assert page.locator("#breakdown .scatterlayer .point").count() == len(before["breakdown"])
                # The state outlines: at least one line per state.
                assert map_traces.nth(1).locator("path.js-line").count() >= 49

                # The time axis spans the range asked (the newest 24 hours), whatever hours hold data, with half an
                # hour of room at either end so that the first and last points are whole.
                x_range = "document.getElementById('timeseries').layout.xaxis.range"
                assert page.evaluate(x_range) == ["2020-01-01 01:30", "2020-01-02 01:30"]

                # The metrics are labelled from the realistic catalogue, /api/meta's metric_labels.
                assert page.locator("#metric option[value='metric_12']").text_content() == "cpu (%)"
                assert page.input_value("#metric") == "metric_1"
                assert "signal_strength (dBm)" in page.text_content("#timeseries-note")

                # Incidents stand out: the page's range (the newest 24 hours) has some in the served lake.
                log = server.json("/api/incidents?from=2020-01-01T02:00:00&to=2020-01-02T02:00:00")["incidents"]
                assert log, "the served lake's seed must plan incidents in the newest 24 hours"
                rows = page.locator("#incidents tbody tr")
                assert rows.count() == len(log)
                assert [rows.nth(k).locator("td").first.text_content() for k in range(len(log))] == [
                    i["state"] for i in log
                ]
                assert {i["kind"] for i in log} <= {"outage", "degradation"}
                assert page.locator("#incidents tbody tr.outage").count() == sum(i["kind"] == "outage" for i in log)
                # ... on the map, one circle per incident ...
                assert plotted_incidents(page) == [i["longitude"] for i in log]
                assert map_traces.nth(2).locator(".point").count() == len(log)
                # ... and in the breakdown, every state with one is shown, marked.
                ticks = page.evaluate("document.getElementById('breakdown').layout.yaxis.ticktext")
                assert {i["state"] for i in log} <= {t.removeprefix("⚠ ") for t in ticks if t.startswith("⚠ ")}
                # The breakdown is one ranking: every state the API ranks, in its order (top row first), the
                # marked ones where they rank; changes are signed, and no change is "0", never "-0.00".
                ranked = server.json(
                    "/api/breakdown?metric=metric_1&by=state&limit=60&compare=previous"
                    "&from=2020-01-01T02:00:00&to=2020-01-02T02:00:00"
                )["rows"]
                shown = page.evaluate("Array.from(document.getElementById('breakdown').data[0].y)")
                assert shown[::-1] == [r["key"] for r in ranked if r["value"] is not None]
                # Its previous 24 hours hold 2 hours of data: the changes compare unequal spans, and it says so.
                assert "the period before holds 2 hours of data against 24 here" in page.text_content("#breakdown-note")
                labels = page.evaluate("Array.from(document.getElementById('breakdown').data[0].text)")
                assert not [text for text in labels if text and float(text.replace(",", "")) == 0 and text != "0"]
                assert all(text[0] in "+-" for text in labels if text not in ("", "0"))

                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

                page.select_option("#metric", "metric_12")
                page.wait_for_function("Number(document.body.dataset.drawn) >= 2", timeout=60_000)
                after = {chart: plotted(page, chart) for chart in CHARTS}
                for chart in CHARTS:
                    assert after[chart], chart
                    assert after[chart] != before[chart], f"{chart} did not change with the metric"
                assert "metric_12" in page.text_content("#timeseries-note")
                assert page.evaluate("document.getElementById('timeseries').layout.yaxis.title.text") == "avg cpu (%)"

                page.select_option("#map-mode", "change")
                page.wait_for_function("Number(document.body.dataset.drawn) >= 3", timeout=60_000)
                assert "change" in page.text_content("#map-note")
                page.screenshot(path=str(ARTIFACTS / "dashboard-change.png"), full_page=True)

                # Clicking an incident follows its state: the time series is of that state, its hours shaded.
                first = log[0]
                rows.first.click()
                page.wait_for_function("Number(document.body.dataset.drawn) >= 4", timeout=60_000)
                assert page.input_value("#place") == "state:" + first["state"]
                assert page.locator("#incidents tbody tr").count() == sum(i["state"] == first["state"] for i in log)
                shapes = page.evaluate("document.getElementById('timeseries').layout.shapes.length")
                assert shapes == page.locator("#incidents tbody tr").count()
                # The ranking still marks every state with an incident, and shows the chosen one in bold.
                ticks = page.evaluate("document.getElementById('breakdown').layout.yaxis.ticktext")
                assert {i["state"] for i in log} <= {
                    t.removeprefix("⚠ ").removeprefix("<b>").removesuffix("</b>") for t in ticks if t.startswith("⚠ ")
                }
                assert f"<b>{first['state']}</b>" in {t.removeprefix("⚠ ") for t in ticks}

                # A count metric (reboots: nearly every row 0) has a bin of exact zeros with no width: it is
                # drawn as wide as the narrowest other bin, not as a spike of 10^17 rows per unit.
                page.select_option("#metric", "metric_10")
                page.wait_for_function("Number(document.body.dataset.drawn) >= 5", timeout=60_000)
                widths = page.evaluate("Array.from(document.getElementById('distribution').data[0].width)")
                heights = plotted(page, "distribution")
                assert heights
                assert min(widths) > 0
                assert max(heights) < 1e9, max(heights)

                # Over 30 days by day, the axis spans the 30 days (two of them hold data), not a day of
                # milliseconds around the points.
                page.select_option("#range", "30d")
                page.wait_for_function("Number(document.body.dataset.drawn) >= 6", timeout=60_000)
                assert plotted(page, "timeseries")
                assert page.evaluate(x_range) == ["2019-12-03 12:00", "2020-01-02 12:00"]
                assert page.evaluate("document.getElementById('timeseries').layout.xaxis.title.text") == "day (UTC)"
                # Nothing before these 30 days: ranking by change says there is none, and ranks by level.
                page.select_option("#rank", "change")
                page.wait_for_function("Number(document.body.dataset.drawn) >= 7", timeout=60_000)
                assert "no data in the period before this range: no change to show, ranked by level" in (
                    page.text_content("#breakdown-note")
                )
                page.select_option("#rank", "value")
                page.wait_for_function("Number(document.body.dataset.drawn) >= 8", timeout=60_000)

                # A count is of rows: no unit on its axis, which starts at zero (whole numbers of rows).
                page.select_option("#stat", "count")
                page.wait_for_function("Number(document.body.dataset.drawn) >= 9", timeout=60_000)
                assert page.evaluate("document.getElementById('timeseries').layout.yaxis.title.text") == "rows"
                assert page.evaluate("document.getElementById('timeseries').layout.yaxis.rangemode") == "tozero"
                assert page.evaluate("document.getElementById('breakdown').layout.xaxis.title.text") == "rows"
                assert "(" not in page.text_content("#timeseries-note")

                # A state that no data has come from is marked so in the selector; one with data is not.
                assert page.locator("#place option[value='state:AK']").text_content() == "AK (West) · no data"
                assert page.locator("#place option[value='state:TX']").text_content() == "TX (South)"
                # A state without devices: every panel says so, the distribution too (its note was drawn where
                # the previous plot's axes had been, off the panel).
                page.select_option("#place", "state:AK")
                page.wait_for_function("Number(document.body.dataset.drawn) >= 10", timeout=60_000)
                for chart in ("timeseries", "distribution"):
                    notes = page.evaluate(f"document.getElementById('{chart}').layout.annotations")
                    assert [(n["text"], n["xref"], n["x"]) for n in notes] == [("no data in this range", "paper", 0.5)]
                    assert page.locator(f"#{chart} .annotation-text").text_content() == "no data in this range"

                # The API's docs page, too, draws from files served by duckwifi itself.
                page.goto(server.url + "docs")
                page.wait_for_selector(".swagger-ui .opblock-summary-path", timeout=60_000)
                assert page.locator(".opblock-summary-path").filter(has_text="/api/timeseries").count() == 1
            finally:
                browser.close()
    finally:
        assert server.stop() == 0
    errors = [(kind, text) for kind, text in console if kind in {"error", "pageerror"}]
    assert not errors, errors
    foreign = [url for url in requests if not url.startswith(server.url) and not url.startswith("data:")]
    assert not foreign, foreign
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000


def test_a_page_opened_without_the_servers_token_says_how_to_give_it(served_lake):
    server = start_server("--warehouse", served_lake.warehouse, "--token", "s3cret")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
            try:
                page = browser.new_page()
                page.goto(server.url)
                page.wait_for_function("document.getElementById('status').classList.contains('error')", timeout=60_000)
                assert page.text_content("#status") == (
                    f"could not load: this server asks for a token: open the page as {server.url}#token=TOKEN"
                )
                page = browser.new_page()
                page.goto(server.url + "#token=s3cret")
                page.wait_for_function("Number(document.body.dataset.drawn || 0) >= 1", timeout=60_000)
            finally:
                browser.close()
    finally:
        assert server.stop() == 0


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    # A proxy set in the environment must not see loopback traffic.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
