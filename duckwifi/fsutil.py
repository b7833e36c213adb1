"""Crash-safe file publication: write under a hidden temporary name, fsync, rename, fsync the folder."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

from duckwifi.errors import BadArgument, DiskFull, ReadOnlyFilesystem, translate

_TEMP_SUFFIX = ".tmp"
_TEMP_NAME = re.compile(r"^\.(?P<final>.+)\.(?P<pid>\d+)\.tmp$")


def temp_path_for(final: Path) -> Path:
    """A hidden name beside ``final``, unique to this process, that no ``*.csv``/``*.parquet`` glob matches."""
    return final.with_name(f".{final.name}.{os.getpid()}{_TEMP_SUFFIX}")


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(temp: Path, final: Path) -> None:
    """Make ``temp`` durable, then atomically visible as ``final`` (replacing any older ``final``)."""
    fsync_file(temp)
    os.replace(temp, final)
    fsync_dir(final.parent)


@contextlib.contextmanager
def published(final: Path) -> Iterator[Path]:
    """A hidden temporary path beside ``final`` to write; published as ``final`` when the block ends normally.

    Whatever ends the block otherwise (an error, Ctrl-C), and whatever the publication meets, the temporary
    file is removed: ``final`` is the complete new file, or the old one untouched, and no temporary is left.
    Errors are the caller's to translate.
    """
    staged = temp_path_for(final)
    try:
        yield staged
        publish(staged, final)
    finally:
        staged.unlink(missing_ok=True)


def remove_temps(folder: Path, final_names: re.Pattern[str]) -> list[Path]:
    """Delete the hidden temporary files in ``folder`` of every final name that ``final_names`` matches fully.

    Whoever wrote them, and whether or not their pid still runs: the caller holds the lock that makes it the
    only writer of those names, so any such temporary is left by a writer that was killed, or that outlived
    the run it belonged to (a Dask worker orphaned by a killed client, or one on another host, whose pid means
    nothing here). A writer still running past this sweep fails at its rename, as its temporary is gone.
    """
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for entry in folder.iterdir():
        match = _TEMP_NAME.match(entry.name)
        if match and final_names.fullmatch(match["final"]) and entry.is_file():
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
                removed.append(entry)
    return removed


def ensure_folder(path: Path, role: str) -> Path:
    """Create the folder ``path`` (the ``role`` names it in messages, e.g. "--out folder"); return it resolved."""
    if path.exists() and not path.is_dir():
        raise BadArgument(f"{role} {path} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        translated = translate(error, target=str(path))
        if isinstance(translated, ReadOnlyFilesystem | DiskFull):
            raise translated from None
        raise BadArgument(f"cannot create {role} {path}: {error.strerror}") from None
    return path.resolve()
