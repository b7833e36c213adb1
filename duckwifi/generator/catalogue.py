"""The metric catalogue: what ``metric_1`` … ``metric_20`` mean under each generator profile.

Other code imports :data:`METRICS` (the realistic profile) or calls :func:`catalogue_for` for labels; the
warehouse keeps a copy in its ``metric_catalogue`` table, written at ``init``, and ``status`` shows it.

The realistic profile's model, per metric (``sql/generator/write_hour_realistic.sql`` applies it):

- additive families (``normal``): ``centre + device + cycle * curve + incident * severity + noise``
- multiplicative families (``lognormal``, ``exponential``):
  ``centre * device * (1 + cycle * curve) * (1 + incident * severity) * noise``

where ``device`` is the device's baseline (``spread`` standard deviations of a normal score, for lognormal
``exp(spread * score)``) drawn at ``init`` from its site and its area, ``curve`` (0 to 1) is the activity or the
heat at the device's local hour of the week, ``severity`` (0 to 1) that of the worst incident covering the
device this hour, and ``noise`` (standard deviation, or log-standard deviation, ``noise``) is drawn from a hash
of (seed, site, hour). Under a fixed curve and no incident, a normal metric is therefore normal with standard
deviation ``sqrt(spread² + noise²)``, a lognormal one lognormal with log-sd ``sqrt(spread² + noise²)``, and an
exponential one (``spread`` 0) exponential with mean ``centre * (1 + cycle * curve)``. Values are printed with
``decimals`` decimals and never clipped: :func:`extremes` gives the model's reach from the parameters and the
tables' limits, and the tests check that it lies inside ``[lower, upper]``, which fits the lake's
``DECIMAL(9,4)``.

``uptime`` (days, family ``uniform``) is a saw-tooth: hours since the device's last reboot, on a period fixed
per device (30 days; 1 to 4 hours for a device stuck in a reboot loop), with a phase from its site, so over the
fleet it is uniform on [0, 30) days; ``reboots`` (``bernoulli``) is 1 in the hour the saw-tooth restarts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from duckwifi.contract import METRIC_COLUMNS

Family = Literal["normal", "lognormal", "exponential", "uniform", "bernoulli"]
Baseline = Literal["quality", "household", "none"]
Curve = Literal["activity", "heat", "none"]

PROFILES: tuple[str, ...] = ("realistic", "uniform")
DEFAULT_PROFILE = "realistic"
# The saw-tooth of a healthy device's uptime, in hours.
UPTIME_PERIOD_HOURS = 720
# A device's baseline scores are unit normals truncated here at init, and the noise tables reach the
# quantile of 1 - 1/8,192 (3.67): so every value's extremes are known, and no value needs clipping per row.
SCORE_LIMIT = 3.7
NOISE_LIMIT = 3.67
# The log-standard deviation of a lognormal metric's device baseline: init stores exp(LOG_SPREAD * score)
# per device, so a lognormal metric's spread is +LOG_SPREAD (better devices higher) or -LOG_SPREAD (lower).
LOG_SPREAD = 0.35


@dataclass(frozen=True)
class Metric:
    """One CSV metric column: what it measures, and the parameters the realistic profile draws it with."""

    column: str  # metric_1 ... metric_20, the CSV contract's name
    name: str
    unit: str
    family: Family
    lower: float  # the physical range: a value is never outside [lower, upper]
    upper: float
    decimals: int  # printed decimals (at most 4, the lake's scale)
    centre: float = 0.0  # normal: the mean; lognormal: the median; exponential: the mean
    spread: float = 0.0  # device-to-device standard deviation (log-sd for lognormal)
    baseline: Baseline = "none"  # which per-device score the spread follows
    noise: float = 0.0  # hour-to-hour standard deviation (log-sd for lognormal)
    cycle: float = 0.0  # amplitude at the curve's peak (additive, or relative for multiplicative families)
    curve: Curve = "none"
    incident: float = 0.0  # change at severity 1 (an outage): additive, or relative

    @property
    def label(self) -> str:
        return f"{self.name} ({self.unit})"


def _metrics(*rows: tuple) -> tuple[Metric, ...]:
    return tuple(Metric(column, *row) for column, row in zip(METRIC_COLUMNS, rows, strict=True))


# fmt: off
METRICS: tuple[Metric, ...] = _metrics(
    # name, unit, family, lower, upper, decimals, centre, spread, baseline, noise, cycle, curve, incident
    ("signal_strength", "dBm", "normal", -120, -20, 1, -62, 5, "quality", 2.5, 0, "none", -10),
    ("snr", "dB", "normal", -10, 60, 1, 32, 4, "quality", 2, -2, "activity", -12),
    ("noise_floor", "dBm", "normal", -130, -50, 1, -95, -2, "quality", 1.5, 1.5, "activity", 8),
    ("downstream_throughput", "Mbps", "lognormal", 0, 5000, 2, 180, 0.35, "quality", 0.25, -0.35, "activity", -0.9),
    ("upstream_throughput", "Mbps", "lognormal", 0, 2000, 2, 22, 0.35, "quality", 0.3, -0.2, "activity", -0.85),
    ("latency", "ms", "lognormal", 0.5, 10000, 1, 18, -0.35, "quality", 0.35, 0.6, "activity", 4),
    ("jitter", "ms", "exponential", 0, 5000, 2, 2.5, 0, "none", 0, 0.5, "activity", 5),
    ("packet_loss", "%", "exponential", 0, 100, 3, 0.05, 0, "none", 0, 1, "activity", 100),
    ("retransmissions", "%", "lognormal", 0, 100, 3, 1.2, -0.35, "quality", 0.4, 0.4, "activity", 2),
    ("reboots", "count", "bernoulli", 0, 60, 0),
    ("channel_utilisation", "%", "normal", 0, 100, 1, 30, 4, "household", 3, 35, "activity", 0),
    ("cpu", "%", "normal", 0, 100, 1, 20, 2, "household", 2.5, 15, "activity", 10),
    ("memory_used", "%", "normal", 0, 100, 1, 55, 6, "household", 2, 5, "activity", 0),
    ("connected_clients", "clients", "lognormal", 0, 250, 2, 5, 0.35, "household", 0.2, 1.2, "activity", -0.5),
    ("temperature", "°C", "normal", -20, 110, 1, 42, 3, "household", 1, 6, "heat", 0),
    ("uptime", "days", "uniform", 0, 366, 4),
    ("wifi_client_rssi", "dBm", "normal", -100, -20, 1, -58, 5, "household", 4, 0, "none", 0),
    ("dns_lookup", "ms", "lognormal", 0.1, 10000, 1, 12, -0.35, "quality", 0.5, 0.3, "activity", 3),
    ("errored_seconds", "s", "exponential", 0, 3600, 0, 1.5, 0, "none", 0, 0.3, "activity", 60),
    ("tx_power", "dBm", "normal", -10, 30, 1, 18, -1.5, "quality", 0.8, 0, "none", 3),
)
# fmt: on

# Today's behaviour, kept for benchmarks against peers that generate uniform floats.
UNIFORM_METRICS: tuple[Metric, ...] = tuple(
    Metric(column, column, "1", "uniform", 0, 100, 4) for column in METRIC_COLUMNS
)


def extremes(metric: Metric) -> tuple[float, float]:
    """The lowest and highest value the realistic model can give ``metric``, before rounding."""
    low_cycle, high_cycle = min(metric.cycle, 0.0), max(metric.cycle, 0.0)
    low_incident, high_incident = min(metric.incident, 0.0), max(metric.incident, 0.0)
    if metric.family == "normal":
        reach = abs(metric.spread) * SCORE_LIMIT + metric.noise * NOISE_LIMIT
        return (
            metric.centre + low_cycle + low_incident - reach,
            metric.centre + high_cycle + high_incident + reach,
        )
    if metric.family in ("lognormal", "exponential"):
        if metric.family == "lognormal":
            low_noise, high_noise = math.exp(-metric.noise * NOISE_LIMIT), math.exp(metric.noise * NOISE_LIMIT)
        else:
            low_noise, high_noise = -math.log(1 - 0.5 / 4096), -math.log(0.5 / 4096)
        gain = math.exp(abs(metric.spread) * SCORE_LIMIT)
        return (
            metric.centre / gain * (1 + low_cycle) * (1 + low_incident) * low_noise,
            metric.centre * gain * (1 + high_cycle) * (1 + high_incident) * high_noise,
        )
    if metric.family == "uniform":
        return 0.0, UPTIME_PERIOD_HOURS / 24
    return 0.0, 1.0


def catalogue_for(profile: str) -> tuple[Metric, ...]:
    """The metrics a warehouse of ``profile`` writes."""
    return METRICS if profile == "realistic" else UNIFORM_METRICS


def by_name(name: str) -> Metric:
    """The realistic metric called ``name`` (e.g. ``"latency"``)."""
    for metric in METRICS:
        if metric.name == name:
            return metric
    raise KeyError(name)
