"""The telemetry generator: a fleet of devices placed on U.S. land, and hourly CSV telemetry for it."""
