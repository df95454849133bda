"""Helpers shared by the reliability tests (bad inputs, odd inputs, determinism, safety)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
BUNDLED = REPO / "data"
DATA_FILES = ("results.csv", "models.csv", "tasks.csv")

#: Bad-input corpus: one folder per case (see tests/data/bad/README.md).
BAD_CORPUS = TESTS / "data" / "bad"
BAD_CASES = sorted(p.name for p in BAD_CORPUS.iterdir() if p.is_dir())


def bad_case(name: str) -> dict[str, Any]:
    """A case's expected.json, with defaults filled in."""
    expected = json.loads((BAD_CORPUS / name / "expected.json").read_text(encoding="utf-8"))
    expected.setdefault("data", ".")
    return expected


def copy_data(source: Path, target: Path, files: tuple[str, ...] | None = None) -> Path:
    """Copy a data folder to ``target``: the named ``files``, or everything but expected.json
    (sub-folders too, so that a later kind of input, such as a folder of step logs, needs no
    change here)."""
    if files is None:
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("expected.json"))
        return target
    target.mkdir(parents=True)
    for name in files:
        shutil.copyfile(source / name, target / name)
    return target


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file (bytes) and folder (None) under ``root``, by relative path."""
    tree: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        tree[rel] = path.read_bytes() if path.is_file() else None
    return tree


def plant_old_outputs(work: Path) -> None:
    """Outputs of an earlier run, and a file the command does not own, in --out/--figures."""
    (work / "results" / "notebooks").mkdir(parents=True)
    (work / "results" / "findings.json").write_text('{"old": true}\n')
    (work / "results" / "findings.md").write_text("# old findings\n")
    (work / "results" / "notebooks" / "analysis.md").write_text("a notebook export\n")
    (work / "figures").mkdir()
    (work / "figures" / "leaderboard.png").write_bytes(b"old png bytes")


def run_command(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m teamforge_analysis ARGS`` in a fresh interpreter."""
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **env}
    return subprocess.run(
        [sys.executable, "-m", "teamforge_analysis", *args],
        cwd=cwd, env=environment, capture_output=True, text=True, encoding="utf-8",
        timeout=300, check=False,
    )


def findings_without_file_identity(document: dict[str, Any]) -> dict[str, Any]:
    """The findings document minus what identifies the input files (their hashes and name)."""
    document = json.loads(json.dumps(document))
    document["dataset"].pop("files")
    document["dataset"].pop("name")
    return document
