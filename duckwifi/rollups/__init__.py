"""The serving store: per-source rollup files under ``warehouse/rollups/`` and the manifest readers follow.

See docs/rollups.md for the format. ``store`` reads and publishes it, ``production`` writes a source's files.
"""
