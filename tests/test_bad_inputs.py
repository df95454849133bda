"""The bad-input corpus: every case exits with status 2, names each problem on its own line of
stderr (file, physical line, column, value), prints no traceback and writes nothing.

Each folder under tests/data/bad/ is one case: the data files as the command reads them, plus
expected.json (see tests/data/bad/README.md). Adding a case is adding a folder.
"""

from __future__ import annotations

import re

import pytest
from _reliability import (
    BAD_CASES,
    BAD_CORPUS,
    REPO,
    bad_case,
    copy_data,
    plant_old_outputs,
    run_command,
    snapshot,
)

from teamforge_analysis.cli import main
from teamforge_analysis.io import DataValidationError, load_dataset

# A located problem: `error: FILE line N, column C: VALUE MESSAGE` (line and column optional).
PROBLEM_LINE = re.compile(r"^(error|warning): [^\s:]+( line \d+)?(,? column [^:]+)?: \S")

# A few cases also run as a separate process: the installed entry point, not only main().
SUBPROCESS_CASES = ("data_path_is_a_file", "results_score_above_one", "results_model_renamed")


def stage(case: str, tmp_path, outputs: str):
    """A working folder with the case's data in ./data and, if asked, earlier outputs."""
    work = tmp_path / "work"
    copy_data(BAD_CORPUS / case, work / "data")
    if outputs == "present":
        plant_old_outputs(work)
    return work


def test_corpus_is_large_and_well_formed():
    assert len(BAD_CASES) >= 40
    for case in BAD_CASES:
        expected = bad_case(case)
        assert expected["exit_status"] == 2, case
        assert expected["description"], case
        assert any(line.startswith("error: ") for line in expected["stderr"]), case
        for line in expected["stderr"]:
            assert PROBLEM_LINE.match(line), (case, line)


@pytest.mark.parametrize("outputs", ["absent", "present"])
@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_in_process(case, outputs, tmp_path, monkeypatch, capsys):
    expected = bad_case(case)
    work = stage(case, tmp_path, outputs)
    before = snapshot(work)
    monkeypatch.chdir(work)

    status = main(["--data", f"data/{expected['data']}".removesuffix("/."),
                   "--out", "results", "--figures", "figures"])

    captured = capsys.readouterr()
    assert status == expected["exit_status"]
    assert captured.err.splitlines() == expected["stderr"]
    assert "Traceback" not in captured.err
    assert captured.out == ""
    # Nothing written, nothing created, nothing removed: not even the output folders.
    assert snapshot(work) == before


@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_bad_input_as_a_command(case, tmp_path):
    expected = bad_case(case)
    work = stage(case, tmp_path, "present")
    before = snapshot(work)

    done = run_command(["--data", f"data/{expected['data']}".removesuffix("/."),
                        "--out", "results", "--figures", "figures"], cwd=work)

    assert done.returncode == expected["exit_status"]
    assert done.stderr.splitlines() == expected["stderr"]
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert snapshot(work) == before


@pytest.mark.parametrize("case", [c for c in BAD_CASES if bad_case(c)["data"] == "."])
def test_library_error_carries_every_problem(case):
    """load_dataset raises the project's error, whose problems are the expected error lines."""
    expected = bad_case(case)
    with pytest.raises(DataValidationError) as info:
        load_dataset(BAD_CORPUS / case)
    errors = [line.removeprefix("error: ") for line in expected["stderr"]
              if line.startswith("error: ")]
    # The missing-file message names the folder, which is the case's own name here.
    errors = [line.replace("'data'", repr(case)) for line in errors]
    assert [str(p) for p in info.value.problems] == errors
    assert str(info.value).splitlines() == errors
    for problem in info.value.problems:
        assert problem.line is None or problem.line >= 1


def test_readme_input_rules_examples_are_real():
    """Every error and warning line the README's "Input rules" section shows is in the corpus."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Input rules", 1)[1].split("\n## ", 1)[0]
    shown = [line for line in section.splitlines() if line.startswith(("error: ", "warning: "))]
    corpus = {line for case in BAD_CASES for line in bad_case(case)["stderr"]}
    assert len(shown) >= 10
    assert [line for line in shown if line not in corpus] == []
