// duckwifi dashboard: one page over API v1. No build step, no request to any other origin.
"use strict";

(function () {
  const HOUR_MS = 3600 * 1000;
  const DAY_MS = 24 * HOUR_MS;
  // How often the page asks whether a new hour was published (the server follows the store every second).
  const POLL_MS = 5000;
  // What the rollup store keeps (the API refuses the rest with a 422, which a browser logs as an error):
  // the map has count, avg, min and max by cell and no band; quantiles are not kept by band.
  const MAP_STATS = ["count", "avg", "min", "max"];
  const QUANTILES = ["p50", "p90", "p99"];
  const PLOT_CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"] };

  const $ = (id) => document.getElementById(id);
  const state = { meta: null, overview: null, version: null, outlines: null, busy: false, again: false, marked: null };

  // A token given as #token=... is sent as a bearer token (serve --token) and kept out of the address bar.
  const token = (() => {
    const match = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
    if (match) {
      sessionStorage.setItem("duckwifi-token", decodeURIComponent(match[1]));
      history.replaceState(null, "", location.pathname + location.search);
    }
    return sessionStorage.getItem("duckwifi-token");
  })();

  async function api(path, params) {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params || {})) {
      if (value === null || value === undefined || value === "") continue;
      for (const item of [].concat(value)) query.append(key, item);
    }
    const url = "/api/" + path + (query.toString() ? "?" + query : "");
    const response = await fetch(url, { headers: token ? { Authorization: "Bearer " + token } : {} });
    if (response.status === 401) {
      const error = new Error("this server asks for a token: open the page as " + location.origin + "/#token=TOKEN");
      error.tokenNeeded = true;
      throw error;
    }
    if (!response.ok) throw new Error(path + ": HTTP " + response.status);
    return response.json();
  }

  // -- times: naive UTC hours as YYYY-MM-DDTHH:MM:SS ---------------------------------------------------------
  const parseHour = (text) => Date.parse(text + "Z");
  const formatHour = (ms) => new Date(ms).toISOString().slice(0, 19);
  const label = (text) => text.replace("T", " ").slice(0, 16);
  // "name (unit)" from the catalogue /api/meta carries (metric_labels), else the column's own name.
  const metricLabel = (metric) => {
    const labels = (state.meta && state.meta.metric_labels) || {};
    return labels[metric] ? labels[metric].label : metric;
  };
  const metricUnit = (metric) => {
    const labels = (state.meta && state.meta.metric_labels) || {};
    return labels[metric] ? labels[metric].unit : null;
  };
  // What a note says about the metric: its label, and the column it is when the label is not the column.
  const metricNote = (metric) => (metricLabel(metric) === metric ? metric : `${metricLabel(metric)} · ${metric}`);
  // A count is of rows (measurements) and has no unit; every other statistic is in the metric's unit.
  const valueTitle = (stat, metric) => (stat === "count" ? "rows" : `${stat} ${metricLabel(metric)}`);
  const statNote = (stat, metric) => (stat === "count"
    ? `rows measured · ${metricLabel(metric).replace(/ \([^)]*\)$/, "")}${metricLabel(metric) === metric ? "" : " · " + metric}`
    : `${stat} of ${metricNote(metric)}`);
  // Quantiles come from sketch buckets about 4% wide: within 2% of the exact value, so neighbours often tie.
  const quantileNote = (stat) => (QUANTILES.includes(stat) ? " · quantiles within 2% (sketch buckets): close values tie" : "");
  const singular = (unit) => ({ days: "day", hours: "hour", seconds: "second" }[unit] || unit);
  const hoverValue = (stat, field) => (stat === "count" ? `%{${field}:,} rows` : `%{${field}:.4f}`);
  // A change as three significant digits with its sign; no change (or one that rounds to none) is "0", never "-0.00".
  const changeFormat = new Intl.NumberFormat("en-US", { maximumSignificantDigits: 3, signDisplay: "exceptZero" });

  // Hours holding data in [from, to), from /api/overview's rows per hour.
  function hoursWithData(from, to) {
    return ((state.overview && state.overview.rows_per_hour) || []).filter((h) => h.time >= from && h.time < to).length;
  }

  // A comparison with the period before is fair only when both hold data for as many hours: a count over 16
  // hours against one over 24 "rises" by half, and an average of night hours against a whole day moves too.
  function coverageNote(range) {
    const length = parseHour(range.to) - parseHour(range.from);
    const before = formatHour(parseHour(range.from) - length);
    const now = hoursWithData(range.from, range.to);
    const then = hoursWithData(before, range.from);
    if (!then || then === now) return "";
    return ` · ⚠ the period before holds ${then} hours of data against ${now} here: changes compare unequal spans`;
  }

  function ranges() {
    const end = parseHour(state.meta.last_hour) + HOUR_MS;
    const choice = $("range").value;
    if (choice === "24h") {
      return { from: formatHour(end - DAY_MS), to: formatHour(end), bucket: "hour" };
    }
    // Whole days, the newest (perhaps partial) one included: the map keeps older hours by day only.
    const days = choice === "7d" ? 7 : 30;
    const to = Math.ceil(end / DAY_MS) * DAY_MS;
    return { from: formatHour(to - days * DAY_MS), to: formatHour(to), bucket: days > 7 ? "day" : "hour" };
  }

  function filters() {
    const place = $("place").value;
    return {
      region: place.startsWith("region:") ? place.slice(7) : null,
      state: place.startsWith("state:") ? place.slice(6) : null,
      band: $("band").value || null,
    };
  }

  // -- selectors -----------------------------------------------------------------------------------------------
  function option(select, value, text) {
    const element = document.createElement("option");
    element.value = value;
    element.textContent = text;
    select.appendChild(element);
  }

  function fillSelectors(meta) {
    if ($("metric").options.length) return;
    meta.metrics.forEach((m) => option($("metric"), m, metricLabel(m)));
    meta.stats.forEach((s) => option($("stat"), s, s));
    $("stat").value = "avg";
    const regions = document.createElement("optgroup");
    regions.label = "Regions";
    $("place").appendChild(regions);
    meta.regions.forEach((r) => option(regions, "region:" + r, r));
    const states = document.createElement("optgroup");
    states.label = "States";
    $("place").appendChild(states);
    meta.states.forEach((s) => option(states, "state:" + s.state, s.state + " (" + s.region + ")"));
    meta.bands.forEach((b) => option($("band"), String(b), "Band " + b));
    for (const id of ["metric", "stat", "place", "band", "range", "map-mode", "rank"]) {
      $(id).addEventListener("change", () => refresh());
    }
  }

  // States that no data has come from (the generator's fleet has none in AK or HI) say so in the selector, so
  // that choosing one does not leave an analyst puzzling over empty panels. Asked once per data version.
  async function markStatesWithoutData(meta) {
    const answer = await api("breakdown", { metric: meta.metrics[0], stat: "count", by: "state", limit: 1000 });
    const held = new Set(answer.rows.map((r) => r.key));
    for (const s of meta.states) {
      const element = $("place").querySelector(`option[value="state:${s.state}"]`);
      if (element) element.textContent = `${s.state} (${s.region})` + (held.has(s.state) ? "" : " · no data");
    }
  }

  // -- incidents: the generator's log (/api/incidents) over the range, in the chosen region or state ----------
  const INCIDENT_COLOURS = { outage: "#b91c1c", degradation: "#d97706" };

  // Every incident of the range; each panel keeps those of the place it shows (inPlace).
  async function loadIncidents(range) {
    try {
      return (await api("incidents", { from: range.from, to: range.to })).incidents;
    } catch (error) {
      // The charts do not need the log: say it is missing and draw them without it.
      setNote("incidents", "the incident log could not be read: " + error.message);
      return null;
    }
  }

  function inPlace(incidents, f) {
    if (incidents === null) return null;
    const regionOf = Object.fromEntries(state.meta.states.map((s) => [s.state, s.region]));
    return incidents.filter((i) => (!f.state || i.state === f.state) && (!f.region || regionOf[i.state] === f.region));
  }

  function incidentScope(i) {
    if (i.scope === "sector") return `cell ${i.cell}, sector ${i.sector}`;
    if (i.scope === "area") return `area ${i.area}`;
    return "whole state";
  }

  // The end hour is exclusive; on the start's day only its time is shown.
  function incidentEnd(i) {
    return i.end_hour.slice(0, 10) === i.start_hour.slice(0, 10) ? label(i.end_hour).slice(11) : label(i.end_hour);
  }

  function describeIncident(i) {
    return `${i.kind} in ${i.state} (${incidentScope(i)}), severity ${i.severity.toFixed(1)}<br>` +
      `${label(i.start_hour)} to ${incidentEnd(i)} UTC`;
  }

  function drawIncidents(incidents) {
    const body = $("incidents").tBodies[0];
    body.replaceChildren();
    if (incidents === null) return;
    const outages = incidents.filter((i) => i.kind === "outage").length;
    setNote("incidents", incidents.length
      ? `${incidents.length} in this range, ${outages} outage${outages === 1 ? "" : "s"} · click one to follow its state`
      : "");
    if (!incidents.length) {
      const cell = body.insertRow().insertCell();
      cell.colSpan = 6;
      cell.className = "none";
      cell.textContent = "no incident in this range";
      return;
    }
    for (const i of incidents) {
      const row = body.insertRow();
      row.className = i.kind;
      row.dataset.state = i.state;
      row.title = describeIncident(i).replace("<br>", "\n");
      for (const text of [i.state, i.kind, i.severity.toFixed(1), incidentScope(i), label(i.start_hour), incidentEnd(i)]) {
        row.insertCell().textContent = text;
      }
      row.addEventListener("click", () => {
        $("place").value = "state:" + i.state;
        refresh();
      });
    }
  }

  function incidentTrace(incidents) {
    const located = (incidents || []).filter((i) => i.latitude !== null && i.longitude !== null);
    return {
      type: "scatter", mode: "markers", name: "incidents", x: located.map((i) => i.longitude),
      y: located.map((i) => i.latitude), text: located.map(describeIncident), hovertemplate: "%{text}<extra></extra>",
      marker: { symbol: "circle-open", size: located.map((i) => 14 + 10 * i.severity),
        color: located.map((i) => INCIDENT_COLOURS[i.kind]), line: { width: 3 } },
    };
  }

  // -- the panels ----------------------------------------------------------------------------------------------
  function setNote(id, text) {
    $(id + "-note").textContent = text || "";
  }

  function empty(id, text) {
    // Placed on the paper: in data coordinates it fell wherever the previous plot's axes had been.
    Plotly.react(id, [], { annotations: [{ text, showarrow: false, font: { color: "#5b6474" },
      xref: "paper", yref: "paper", x: 0.5, y: 0.5 }],
      xaxis: { visible: false }, yaxis: { visible: false }, margin: { t: 10, b: 10 } }, PLOT_CONFIG);
  }

  async function drawTimeseries(metric, stat, range, f, incidents) {
    const quantile = QUANTILES.includes(stat);
    const params = { metric, stat, from: range.from, to: range.to, bucket: range.bucket, ...f };
    if (quantile && f.band) params.band = null;
    setNote("timeseries", (quantile && f.band ? "band ignored: quantiles are not kept by band · " : "") +
      `${statNote(stat, metric)} · by ${range.bucket}` + quantileNote(stat));
    const answer = await api("timeseries", params);
    if (!answer.points.length) return empty("timeseries", "no data in this range");
    const bucketMs = range.bucket === "day" ? DAY_MS : HOUR_MS;
    // A chosen state or region's incidents shade the hours they cover (nationwide there would be too many).
    const shaded = f.state || f.region ? inPlace(await incidents, f) || [] : [];
    const shapes = shaded.map((i) => ({
      // Clipped to the range, or an incident that began before it would stretch the axis.
      type: "rect", xref: "x", yref: "paper", y0: 0, y1: 1,
      x0: label(i.start_hour < range.from ? range.from : i.start_hour),
      x1: label(i.end_hour > range.to ? range.to : i.end_hour),
      fillcolor: INCIDENT_COLOURS[i.kind], opacity: 0.12, line: { width: 0 }, layer: "below",
    }));
    Plotly.react("timeseries", [{
      type: "scatter", mode: "lines+markers", name: valueTitle(stat, metric),
      x: answer.points.map((p) => label(p.time)), y: answer.points.map((p) => p.value),
      customdata: answer.points.map((p) => p.count),
      hovertemplate: stat === "count" ? "%{x}<br>%{y:,} rows<extra></extra>"
        : "%{x}<br>%{y:.4f}<br>%{customdata:,} rows<extra></extra>",
      line: { color: "#2563eb", width: 2 }, marker: { size: 4 },
    }], {
      margin: { l: 60, r: 20, t: 10, b: 40 },
      // The axis spans the range asked, from its first bucket to its last: the data's place in it shows, and a
      // lone point does not get an axis of milliseconds.
      // Half a bucket of room at either end, so that the first and last points are not cut in half.
      xaxis: { type: "date", title: { text: range.bucket === "day" ? "day (UTC)" : "hour (UTC)" },
        range: [label(formatHour(parseHour(range.from) - bucketMs / 2)), label(formatHour(parseHour(range.to) - bucketMs / 2))] },
      // Counts from zero: whole numbers of rows, not ticks of 20.0005k around a steady fleet.
      yaxis: { title: { text: valueTitle(stat, metric) }, rangemode: stat === "count" ? "tozero" : "normal" },
      shapes,
    }, PLOT_CONFIG);
  }

  function outlineTrace() {
    const x = [];
    const y = [];
    for (const feature of state.outlines.features) {
      const g = feature.geometry;
      const polygons = g.type === "Polygon" ? [g.coordinates] : g.coordinates;
      for (const polygon of polygons) {
        for (const ring of polygon) {
          for (const [lon, lat] of ring) { x.push(lon); y.push(lat); }
          x.push(null); y.push(null);
        }
      }
    }
    return { type: "scatter", mode: "lines", x, y, hoverinfo: "skip", showlegend: false,
      line: { color: "rgba(45,52,64,0.55)", width: 0.8 } };
  }

  async function drawMap(metric, stat, range, f, incidents) {
    const mapStat = MAP_STATS.includes(stat) ? stat : "avg";
    const change = $("map-mode").value === "change";
    const notes = [];
    if (mapStat !== stat) notes.push(`${stat} is not kept by cell: showing avg`);
    if (f.band) notes.push("band ignored: cells are not kept by band");
    const params = { metric, stat: mapStat, from: range.from, to: range.to, region: f.region, state: f.state };
    if (change) params.compare = "previous";
    notes.push(change ? `change of ${statNote(mapStat, metric)} vs the equally long period before` + coverageNote(range)
      : statNote(mapStat, metric));
    setNote("map", notes.join(" · "));
    if (!state.outlines) state.outlines = await api("states");
    const answer = await api("map", params);
    const cells = change ? answer.cells.filter((c) => c.change !== null) : answer.cells;
    const values = cells.map((c) => (change ? c.change : c.value));
    const reach = Math.max(1e-9, ...values.map((v) => Math.abs(v || 0)));
    const trace = {
      type: "scatter", mode: "markers", name: "cells",
      x: cells.map((c) => c.lon), y: cells.map((c) => c.lat),
      customdata: cells.map((c) => [c.cell, c.count, c.previous === undefined ? null : c.previous]),
      hovertemplate: mapStat === "count" ? "cell %{customdata[0]}<br>%{marker.color:,} rows<extra></extra>"
        : "cell %{customdata[0]}<br>%{marker.color:.4f}<br>%{customdata[1]:,} rows<extra></extra>",
      marker: {
        size: 5, symbol: "square", color: values,
        colorscale: change ? [[0, "rgb(37,99,235)"], [0.5, "rgb(235,235,235)"], [1, "rgb(202,40,40)"]] : "Viridis",
        cmin: change ? -reach : undefined, cmax: change ? reach : undefined,
        colorbar: { thickness: 10, len: 0.7, title: { text: (change ? "change of " : "") + valueTitle(mapStat, metric), side: "right" } },
      },
    };
    const known = inPlace(await incidents, f);
    if (known && known.length) notes.push("circles: incidents (red outage, orange degradation)");
    setNote("map", notes.join(" · "));
    // Cells, then the outlines over them (a full fleet's cells cover the land), then the incidents on top.
    Plotly.react("map", [trace, outlineTrace(), incidentTrace(known)], {
      margin: { l: 10, r: 10, t: 10, b: 10 }, showlegend: false,
      xaxis: { range: [-125.5, -66], visible: false, fixedrange: false },
      // Degrees of longitude are shorter than degrees of latitude by cos(latitude), about 0.77 at 39 N.
      yaxis: { range: [24, 50], visible: false, scaleanchor: "x", scaleratio: 1.3 },
      annotations: cells.length ? [] : [{
        // In change mode the range may have cells that the equally long period before it lacks.
        text: change && answer.cells.length ? "no data in the period before this range to compare with"
          : "no cells in this range",
        showarrow: false, x: -95, y: 37,
      }],
    }, PLOT_CONFIG);
  }

  // Increase red, decrease blue, no change (or none known) grey; computed here because a colour scale has no
  // colour for an unknown change.
  function diverging(value, reach) {
    if (value === null || value === undefined) return "rgb(190,195,203)";
    const t = Math.min(1, Math.abs(value) / reach);
    const [r, g, b] = value >= 0 ? [202, 40, 40] : [37, 99, 235];
    const mix = (c) => Math.round(205 + (c - 205) * t);
    return `rgb(${mix(r)},${mix(g)},${mix(b)})`;
  }

  async function drawBreakdown(metric, stat, range, f, incidents) {
    const quantile = QUANTILES.includes(stat);
    const params = { metric, stat, by: "state", limit: 60, from: range.from, to: range.to, compare: "previous",
      region: f.region, band: quantile ? null : f.band };
    const answer = await api("breakdown", params);
    let rows = answer.rows.filter((r) => r.value !== null);
    const compared = rows.some((r) => r.change !== null);
    const byChange = $("rank").value === "change" && compared;
    const notes = [(quantile && f.band ? "band ignored: quantiles are not kept by band · " : "") + statNote(stat, metric)];
    if (byChange) {
      // Ranked by the size of the change, and drawn as the change: the level is in the hover.
      rows = rows.slice().sort((a, b) => Math.abs(b.change ?? 0) - Math.abs(a.change ?? 0) || a.key.localeCompare(b.key));
      notes.push("ranked by the size of the change vs the previous period");
    } else {
      notes.push(compared ? "dot colour and label: change vs the previous period"
        : "no data in the period before this range: no change to show" +
          ($("rank").value === "change" ? ", ranked by level" : ""));
    }
    if (compared) notes.push(coverageNote(range).slice(3));
    if (!rows.length) {
      setNote("breakdown", notes.filter(Boolean).join(" · ") + quantileNote(stat));
      return empty("breakdown", "no data in this range");
    }
    // Every state of the region (or the nation), in rank order: a state with an incident in the range is marked
    // where it ranks, and the chosen state is in bold. Dots on an axis fitted to the values: bars from zero all
    // look alike when the states differ by a few percent, or when every value is negative (signal strength).
    const affected = new Set((inPlace(await incidents, { region: f.region, state: null }) || []).map((i) => i.state));
    if (affected.size) notes.push("⚠ outlined: an incident in the range");
    setNote("breakdown", notes.filter(Boolean).join(" · ") + quantileNote(stat));
    rows = rows.slice().reverse();
    const hit = (r) => affected.has(r.key);
    const tick = (r) => (hit(r) ? "⚠ " : "") + (r.key === f.state ? `<b>${r.key}</b>` : r.key);
    const reach = Math.max(1e-9, ...rows.map((r) => Math.abs(r.change ?? 0)));
    const height = Math.max(300, 17 * rows.length + 60);
    $("breakdown").style.height = height + "px";
    Plotly.react("breakdown", [{
      type: "scatter", mode: "markers+text", y: rows.map((r) => r.key), x: rows.map((r) => (byChange ? r.change : r.value)),
      customdata: rows.map((r) => [r.count, r.previous, r.change, r.value]),
      hovertemplate: "%{y}: " + hoverValue(stat, "customdata[3]") + "<br>previous %{customdata[1]:.4f}" +
        "<br>change %{customdata[2]:+.4f}<br>%{customdata[0]:,} rows<extra></extra>",
      marker: { size: 10, color: rows.map((r) => diverging(r.change, reach)),
        line: { color: rows.map((r) => (hit(r) ? "#111827" : "rgba(0,0,0,0)")), width: rows.map((r) => (hit(r) ? 2 : 0)) } },
      text: rows.map((r) => (r.change === null || byChange ? "" : changeFormat.format(r.change))),
      textposition: "middle right", textfont: { size: 10, color: "#5b6474" }, cliponaxis: false,
    }], {
      height, margin: { l: 50, r: 60, t: 10, b: 40 },
      xaxis: { title: { text: (byChange ? "change of " : "") + valueTitle(stat, metric) }, zeroline: byChange, automargin: true },
      yaxis: { automargin: true, tickmode: "array", tickvals: rows.map((r) => r.key), ticktext: rows.map(tick),
        range: [-0.7, rows.length - 0.3] },
    }, PLOT_CONFIG);
  }

  async function drawDistribution(metric, range, f) {
    setNote("distribution", (f.band ? "band ignored: quantiles are not kept by band · " : "") + metricNote(metric) +
      quantileNote("p50"));
    const answer = await api("distribution", { metric, from: range.from, to: range.to, region: f.region, state: f.state });
    if (!answer.count) return empty("distribution", "no data in this range");
    const lines = QUANTILES.map((q, i) => ({
      type: "line", xref: "x", yref: "paper", x0: answer[q], x1: answer[q], y0: 0, y1: 1,
      line: { color: ["#16a34a", "#d97706", "#b91c1c"][i], width: 1.5, dash: "dot" },
    }));
    const labels = QUANTILES.map((q, i) => ({
      xref: "x", yref: "paper", x: answer[q], y: 1 - i * 0.08, text: `${q} ${answer[q].toFixed(2)}`,
      showarrow: false, xanchor: "left", font: { size: 11 },
    }));
    // Bins differ in width (the sketch's buckets are logarithmic), so height is rows per unit of the metric.
    // The bin of exact zeros has no width: it is drawn, and divided, as wide as the narrowest other bin (a
    // count metric's zeros otherwise made a bar of 10^17 rows per unit that flattened every other).
    const widths = answer.bins.map((b) => b.upper - b.lower);
    const narrowest = Math.min(1, ...widths.filter((w) => w > 0));
    const shown = widths.map((w) => (w > 0 ? w : narrowest));
    Plotly.react("distribution", [{
      type: "bar", name: metricLabel(metric), x: answer.bins.map((b) => (b.lower + b.upper) / 2),
      width: shown,
      y: answer.bins.map((b, i) => b.count / shown[i]),
      customdata: answer.bins.map((b) => [b.lower, b.upper, b.count]),
      hovertemplate: "%{customdata[0]:.3f} to %{customdata[1]:.3f}<br>%{customdata[2]:,} rows<extra></extra>",
      marker: { color: "#64748b" },
    }], {
      margin: { l: 60, r: 20, t: 10, b: 40 }, shapes: lines, annotations: labels, bargap: 0,
      xaxis: { title: { text: metricLabel(metric) }, rangemode: answer.bins[0].lower >= 0 ? "nonnegative" : "normal" },
      yaxis: { title: { text: `rows per ${singular(metricUnit(metric) || "unit")}` } },
    }, PLOT_CONFIG);
  }

  function drawHeader(overview) {
    $("newest-hour").textContent = overview.last_hour ? label(overview.last_hour) : "none yet";
    $("devices-reporting").textContent = overview.last_hour_rows === null ? "–" : overview.last_hour_rows.toLocaleString("en-US");
    $("hours-covered").textContent = overview.hours.toLocaleString("en-US");
  }

  function setStatus(text, isError) {
    $("status").textContent = text;
    $("status").classList.toggle("error", Boolean(isError));
  }

  // Draws everything; a change made while drawing is drawn right after, never interleaved.
  async function refresh() {
    if (state.busy) { state.again = true; return; }
    state.busy = true;
    try {
      const [meta, overview] = await Promise.all([api("meta"), api("overview")]);
      state.meta = meta;
      state.version = meta.version;
      fillSelectors(meta);
      state.overview = overview;
      drawHeader(overview);
      if (meta.last_hour && state.marked !== meta.version) {
        await markStatesWithoutData(meta);
        state.marked = meta.version;
      }
      if (!meta.last_hour) {
        for (const id of ["timeseries", "map", "breakdown", "distribution"]) empty(id, "nothing converted yet");
        setStatus("waiting for the first hour");
        return;
      }
      const metric = $("metric").value;
      const stat = $("stat").value;
      const range = ranges();
      const f = filters();
      // One request for the incident log; the panels that mark incidents wait for it.
      const incidents = loadIncidents(range);
      await Promise.all([
        drawTimeseries(metric, stat, range, f, incidents),
        drawMap(metric, stat, range, f, incidents),
        drawBreakdown(metric, stat, range, f, incidents),
        drawDistribution(metric, range, f),
        incidents.then((all) => drawIncidents(inPlace(all, f))),
      ]);
      setStatus(`data version ${meta.version} · updated ${new Date().toISOString().slice(11, 19)} UTC`);
      document.body.dataset.version = meta.version;
      document.body.dataset.drawn = String(Number(document.body.dataset.drawn || 0) + 1);
    } catch (error) {
      setStatus("could not load: " + error.message, true);
    } finally {
      state.busy = false;
      if (state.again) { state.again = false; refresh(); }
    }
  }

  async function watch() {
    try {
      const health = await api("health");
      if (health.version !== state.version) await refresh();
    } catch (error) {
      setStatus(error.tokenNeeded ? "could not load: " + error.message : "server unreachable: " + error.message, true);
    }
    setTimeout(watch, POLL_MS);
  }

  refresh().then(() => setTimeout(watch, POLL_MS));
})();
