"""The bad-input corpus: every case exits with status 2, names each problem on its own line of
stderr (file, physical line, column, value), prints no traceback and writes nothing.

Each folder under tests/data/bad/ is one case: the data files as the command reads them, plus
expected.json (see tests/data/bad/README.md). Adding a case is adding a folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from _reliability import (
    BAD_CASES,
    BAD_CORPUS,
    BUNDLED,
    DATA_FILES,
    REPO,
    bad_case,
    copy_data,
    plant_old_outputs,
    run_command,
    snapshot,
)

from teamforge_analysis import DataValidationError, load_dataset
from teamforge_analysis.cli import main

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


# -- cases that cannot be committed: made in the test (issue 15) ------------------------------
def bundled_work(root: Path) -> Path:
    """``root``/data: a copy of the bundled data (without its benchmark.json)."""
    return copy_data(BUNDLED, root / "data", DATA_FILES)


def run_in(work: Path, *args: str, limit_memory: bool = False, drop_root: bool = False
           ) -> subprocess.CompletedProcess[str]:
    """The command in a fresh interpreter in ``work``: under a 1 GiB address-space limit, or
    as the unprivileged user 65534 (the package imported first: the interpreter's own
    files may not be readable by that user)."""
    code = ("import os, sys, resource, encodings.utf_8_sig, pyarrow.csv, pyarrow.compute\n"
            "import pyarrow.parquet\n"
            "import teamforge_analysis.cli as cli\n")
    if limit_memory:
        code += "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
    if drop_root and os.geteuid() == 0:
        code += "os.setgroups([]); os.setgid(65534); os.setuid(65534)\n"
    code += "sys.exit(cli.main(sys.argv[1:]))\n"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=work, capture_output=True,
                          text=True, timeout=300, check=False)


def test_special_files_get_their_own_message(tmp_path: Path) -> None:
    data = bundled_work(tmp_path)
    (data / "results.csv").unlink()
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(data / "results.csv"))
        (data / "models.csv").unlink()
        (data / "models.csv").symlink_to(data / "no_such_file.csv")
        (data / "tasks.csv").unlink()
        (data / "tasks.csv").mkdir()
        os.mkfifo(data / "steps.jsonl")  # (never opened: a reader would wait for a writer)
        with pytest.raises(DataValidationError) as info:
            load_dataset(data)
    assert [str(p) for p in info.value.problems] == [
        "results.csv: is a socket, not a file",
        "models.csv: is a symbolic link to a file that does not exist",
        "tasks.csv: is a folder, not a file",
        "steps.jsonl: is a named pipe (FIFO), not a file",
    ]


@pytest.mark.parametrize("name", ["results.csv", "steps.jsonl"])
def test_a_2_gib_file_is_refused_under_a_1_gib_memory_limit(name: str, tmp_path: Path) -> None:
    data = bundled_work(tmp_path)
    with open(data / name, "ab") as handle:
        os.truncate(handle.fileno(), 2 << 30)  # (sparse: no disk used)
    models = (data / "models.csv").read_text(encoding="utf-8").replace(",70,", ",-70,", 1)
    (data / "models.csv").write_text(models, encoding="utf-8")
    done = run_in(tmp_path, "--data", "data", "--out", "results", limit_memory=True)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"error: {name}: is larger than 1 GiB (2.0 GiB), the limit for an input file",
        "error: models.csv line 3, column params_b: -70 is not greater than 0",
    ][:: 1 if name == "results.csv" else -1]


def test_a_file_that_is_not_text_is_refused_from_its_first_block(tmp_path: Path) -> None:
    """900 MiB of NUL bytes (sparse), under the 1 GiB limit: refused without reading it all."""
    data = bundled_work(tmp_path)
    with open(data / "steps.jsonl", "wb") as handle:
        os.truncate(handle.fileno(), 900 << 20)
    done = run_in(tmp_path, "--data", "data", "--out", "results", limit_memory=True)
    assert (done.returncode, done.stderr.splitlines()) == (
        2, ["error: steps.jsonl line 1: is not a text file (it contains NUL bytes)"])


def can_drop_root(tmp_path: Path) -> bool:
    if os.geteuid() != 0:
        return True  # (permissions are enforced already)
    done = run_in(tmp_path, "--help", drop_root=True)
    return done.returncode == 0


@pytest.mark.parametrize("target", ["tasks.csv", "."])
def test_unreadable_file_or_folder_is_a_located_problem(target: str) -> None:
    work = Path(tempfile.mkdtemp(prefix="teamforge-perm-"))  # (outside pytest's 0700 folder)
    try:
        work.chmod(0o755)
        if not can_drop_root(work):
            pytest.skip("cannot run as an unprivileged user here")
        data = bundled_work(work)
        (data / target).chmod(0)
        done = run_in(work, "--data", "data", "--out", "results", drop_root=True)
        message = ("tasks.csv: cannot be read (Permission denied)" if target != "." else
                   "data: data folder cannot be read (Permission denied)")
        assert (done.returncode, done.stderr.splitlines()) == (2, [f"error: {message}"])
        assert not (work / "results").exists()
    finally:
        if (work / "data").exists():
            (work / "data").chmod(0o755)
        shutil.rmtree(work)


def test_a_folder_name_that_is_not_utf8(tmp_path: Path) -> None:
    """The name (from the folder: no benchmark.json) is shown with the byte escaped."""
    data = os.fsdecode(os.fsencode(tmp_path) + b"/data\xff")
    copy_data(BUNDLED, Path(data), DATA_FILES)
    done = run_in(tmp_path, "--data", data, "--out", "results", "--format", "json",
                  "--no-figures")
    assert done.returncode == 0 and "Traceback" not in done.stderr
    document = json.loads((tmp_path / "results" / "findings.json").read_text(encoding="utf-8"))
    assert document["dataset"]["name"] == "data\\xff"


def test_a_path_given_as_bytes_is_named_with_its_bytes_escaped(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError) as info:
        load_dataset(os.fsencode(tmp_path) + b"/data\xff")
    assert [str(p) for p in info.value.problems] == [
        f"{tmp_path}/data\\xff: data folder does not exist"]
