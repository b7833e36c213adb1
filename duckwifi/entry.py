"""The console entry point. It installs the signal handlers before anything heavy is imported.

Importing the command line (Typer, Rich, DuckDB) takes a noticeable moment on a busy machine. A Ctrl-C or a
SIGTERM that arrives during it must still end as "interrupted" and exit 130, not as a traceback or a death
by signal.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

# Mirrors duckwifi.errors.ExitCode.INTERRUPTED, which cannot be imported before the handlers are in place.
_INTERRUPTED = 130


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGINT, _raise_interrupt)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        from duckwifi.cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("duckwifi: error: interrupted\n")
        sys.exit(_INTERRUPTED)
    run()
