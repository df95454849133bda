"""Bad step logs: the ``steps_*`` cases of the bad-input corpus (tests/data/bad/).

Each case folder holds INVENTED data files (results.csv, models.csv, tasks.csv and a step log)
and expected.json in the corpus format: {"description", "exit_status", "stderr", "data"}. The
command must exit with that status, print exactly those stderr lines (no traceback) and write
nothing. (The reliability work runs the whole corpus the same way; this module runs the step-log
cases on their own so they are checked wherever the step-log loader is.)
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import TESTS_DIR

from teamforge_analysis.cli import main

CORPUS = TESTS_DIR / "data" / "bad"
CASES = sorted(p.name for p in CORPUS.glob("steps_*") if p.is_dir())


def tree(root: Path) -> dict[str, bytes | None]:
    return {p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


def test_there_are_step_log_cases() -> None:
    assert len(CASES) >= 12


@pytest.mark.parametrize("case", CASES)
def test_bad_step_log(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                      capsys: pytest.CaptureFixture[str]) -> None:
    expected = json.loads((CORPUS / case / "expected.json").read_text(encoding="utf-8"))
    data = tmp_path / "data"
    data.mkdir()
    for file in (CORPUS / case).iterdir():
        if file.name != "expected.json":
            shutil.copyfile(file, data / file.name)
    before = tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    status = main(["--data", f"data/{expected.get('data', '.')}".removesuffix("/."),
                   "--out", "results", "--figures", "figures"])
    captured = capsys.readouterr()
    assert status == expected["exit_status"] == 2
    assert captured.err.splitlines() == expected["stderr"]
    assert "Traceback" not in captured.err and captured.out == ""
    assert tree(tmp_path) == before  # nothing written, not even the output folders
