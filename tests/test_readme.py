"""Every snippet of the README's ad-hoc SQL section runs as written, from a folder laid out as the README says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli

README = Path(__file__).resolve().parent.parent / "README.md"
_BLOCK = re.compile(r"```(python|bash)\n(.*?)```", re.DOTALL)


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


SNIPPETS = _BLOCK.findall(_section("Ad-hoc SQL"))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder like the README's: ./warehouse, data/csv, data/lake, and .venv with duckwifi installed."""
    root = tmp_path_factory.mktemp("project")
    (root / ".venv").symlink_to(Path(sys.executable).parent.parent)
    for args in (
        ("init", "--devices", "300"),
        ("tick", "--out", "data/csv", "--hours", "2"),
        ("convert", "data/csv", "data/lake"),
    ):
        result = run_cli(*args, cwd=root)
        assert result.returncode == 0, result.stderr
    return root


def test_the_section_has_snippets_for_duckdb_polars_and_pyarrow() -> None:
    code = "\n".join(body for _, body in SNIPPETS)
    assert len(SNIPPETS) >= 5
    for engine in ("duckwifi sql", "import duckdb", "import polars", "import pyarrow"):
        assert engine in code


@pytest.mark.parametrize(("language", "body"), SNIPPETS, ids=[f"{lang}-{i}" for i, (lang, _) in enumerate(SNIPPETS)])
def test_snippet_runs(project: Path, language: str, body: str) -> None:
    command = [sys.executable, "-c", body] if language == "python" else ["bash", "-euo", "pipefail", "-c", body]
    result = subprocess.run(command, cwd=project, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), "every snippet shows a result"
