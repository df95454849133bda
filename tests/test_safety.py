"""Safety: input files are parsed as data only (no pickle, no eval), nothing is written outside
--out and --figures, and a failed write leaves every folder exactly as it was.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from _reliability import BUNDLED, DATA_FILES, REPO, copy_data, plant_old_outputs, snapshot

from teamforge_analysis import cli
from teamforge_analysis.cli import main, write_atomically

PACKAGE = REPO / "teamforge_analysis"
PAYLOAD = "__import__('os').system('touch pwned')"

# ----------------------------------------------------------------------------------------------
# Parsing as data only
# ----------------------------------------------------------------------------------------------
FORBIDDEN_BUILTINS = {"eval", "exec", "compile", "__import__", "input", "breakpoint"}
FORBIDDEN_METHODS = {"read_pickle", "to_pickle", "system", "popen", "load_pickle", "literal_eval"}
FORBIDDEN_MODULES = {"pickle", "cPickle", "marshal", "shelve", "dill", "cloudpickle", "joblib",
                     "subprocess", "yaml", "socket", "urllib", "http"}


def test_package_source_never_evaluates_unpickles_or_spawns():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                if name in (FORBIDDEN_BUILTINS if isinstance(func, ast.Name) else
                            FORBIDDEN_METHODS):
                    found.append(f"{path.name}:{node.lineno} calls {name}")
                if name == "load" and any(k.arg == "allow_pickle" for k in node.keywords):
                    found.append(f"{path.name}:{node.lineno} loads with allow_pickle")
            elif isinstance(node, ast.Import | ast.ImportFrom):
                modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [
                    node.module or ""]
                found += [f"{path.name}:{node.lineno} imports {m}" for m in modules
                          if m.split(".")[0] in FORBIDDEN_MODULES]
    assert found == []


PROBE = textwrap.dedent('''
    """Run the command under an audit hook that records what it writes, runs and unpickles."""
    import json, os, sys
    import teamforge_analysis.analysis, teamforge_analysis.cli, teamforge_analysis.plots
    import teamforge_analysis.report

    WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
    log = []

    def hook(event, args):
        if event == "open":
            path, mode, flags = args
            if isinstance(path, (str, bytes, os.PathLike)):
                writing = (mode is not None and any(c in mode for c in "wax+")) or (
                    mode is None and flags & WRITE_FLAGS)
                log.append(["write" if writing else "read", os.path.abspath(os.fsdecode(path))])
        elif event in ("os.mkdir", "os.remove", "os.rmdir", "os.chmod", "os.truncate",
                       "os.link", "os.symlink", "shutil.copyfile", "shutil.copymode",
                       "shutil.copystat", "shutil.rmtree", "os.utime", "os.chown"):
            log.append(["write", os.path.abspath(os.fsdecode(args[0]))])
            if event in ("os.link", "os.symlink", "shutil.copyfile"):
                log.append(["write", os.path.abspath(os.fsdecode(args[1]))])
        elif event == "os.rename":
            log.extend(["write", os.path.abspath(os.fsdecode(a))] for a in args[:2])
        elif event in ("compile", "exec"):
            source = args[0]
            text = source.decode("utf-8", "replace") if isinstance(source, bytes) else str(source)
            log.append([event, text[:200]])
        elif event.startswith(("pickle.", "subprocess.", "os.system", "os.exec", "os.spawn",
                               "os.posix_spawn", "os.fork", "socket.", "urllib.", "ctypes.")):
            log.append([event, repr(args)[:200]])

    sys.addaudithook(hook)
    status = teamforge_analysis.cli.main(sys.argv[1:])
    sys.stdout.flush()
    sys.__stderr__.write("@@AUDIT@@" + json.dumps(log) + "\\n")
    sys.exit(status)
''')


def test_the_command_writes_runs_and_unpickles_nothing_it_should_not(tmp_path):
    """An audit hook records every file opened for writing, every rename, mkdir and chmod,
    every unpickling, process start and compiled source while the command runs on data holding
    Python code in its cells (as a model name, and in an ignored column)."""
    work = tmp_path / "work"
    data = copy_data(BUNDLED, work / "data", DATA_FILES)
    for name in DATA_FILES:  # code as a model name, and in an ignored column of every file
        lines = (data / name).read_text(encoding="utf-8").replace(
            "gemma2-9b-it", PAYLOAD).splitlines()
        lines = [f"{lines[0]},notes", *(f'{line},"{PAYLOAD}"' for line in lines[1:])]
        (data / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE, encoding="utf-8")
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, str(probe), "--data", "data", "--out", "out/results",
         "--figures", "out/figures"],
        cwd=work, env=environment, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    stderr, _, audit = done.stderr.partition("@@AUDIT@@")
    assert stderr.splitlines() == [
        f"warning: {name} line 1, column notes: unknown column, ignored" for name in DATA_FILES]
    log = json.loads(audit)

    allowed = [str((work / "out" / "results").resolve()), str((work / "out" / "figures").resolve())]
    writes = sorted({path for kind, path in log if kind == "write"})
    mpl_cache = os.environ.get("MPLCONFIGDIR")
    outside = [p for p in writes if not any(p == a or p.startswith(a + os.sep) for a in allowed)
               and not (mpl_cache and p.startswith(mpl_cache))  # matplotlib's own font cache
               and p != str(work / "out")]  # the parent of --out and --figures, created empty
    assert outside == []
    assert any(p.endswith("findings.json") for p in writes)
    assert [entry for entry in log if entry[0].startswith(
        ("pickle.", "subprocess.", "os.system", "os.exec", "os.spawn", "os.posix_spawn",
         "os.fork", "socket.", "urllib.", "ctypes."))] == []
    assert [entry for entry in log if entry[0] in ("compile", "exec") and "pwned" in entry[1]] \
        == []
    reads = {Path(path).name for kind, path in log if kind == "read"
             and Path(path).parent == (work / "data").resolve()}
    assert reads <= set(DATA_FILES)
    assert not list(tmp_path.rglob("pwned"))
    # The code went through the analysis as a name, as text.
    findings = json.loads((work / "out" / "results" / "findings.json").read_text("utf-8"))
    assert PAYLOAD in {row["model"] for row in findings["leaderboard"]}


def test_a_successful_run_changes_only_its_own_files(tmp_path, capsys, monkeypatch):
    work = tmp_path / "work"
    copy_data(BUNDLED, work / "data", DATA_FILES)
    plant_old_outputs(work)
    (work / "notes.txt").write_text("the user's own file\n")
    before = snapshot(tmp_path)
    monkeypatch.chdir(work)

    assert main(["--data", "data", "--out", "results", "--figures", "figures"]) == 0
    capsys.readouterr()

    after = snapshot(tmp_path)
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    assert changed == {
        "work/results/findings.json", "work/results/findings.md",
        "work/figures/leaderboard.png", "work/figures/scale_vs_difficulty.png",
        "work/figures/step_efficiency.png", "work/figures/test_pass_vs_score.png",
        "work/figures/hard_task_boundary.png"}  # (the other findings: not computable, no figure)
    assert after["work/results/notebooks/analysis.md"] == b"a notebook export\n"
    assert not [k for k in after if k.endswith((".tmp", ".bak"))]


# ----------------------------------------------------------------------------------------------
# Write failures leave everything as it was
# ----------------------------------------------------------------------------------------------
def stage(tmp_path) -> Path:
    work = tmp_path / "work"
    copy_data(BUNDLED, work / "data", DATA_FILES)
    plant_old_outputs(work)
    return work


def test_out_is_a_file(tmp_path, capsys, monkeypatch):
    work = stage(tmp_path)
    (work / "taken").write_text("a file where --out should be a folder\n")
    before = snapshot(work)
    monkeypatch.chdir(work)

    status = main(["--data", "data", "--out", "taken", "--figures", "new_figures"])

    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("error: cannot write outputs: ") and len(err.splitlines()) == 1
    assert "Traceback" not in err
    assert snapshot(work) == before  # new_figures/ not created either


def test_a_folder_where_an_output_file_goes(tmp_path, capsys, monkeypatch):
    work = stage(tmp_path)
    (work / "figures" / "step_efficiency.png").mkdir()
    before = snapshot(work)
    monkeypatch.chdir(work)

    status = main(["--data", "data", "--out", "results", "--figures", "figures"])

    err = capsys.readouterr().err
    assert status == 2
    assert err == ("error: cannot write outputs: a folder is in the way "
                   "(figures/step_efficiency.png)\n")
    assert snapshot(work) == before


@pytest.mark.parametrize("failing_move", [1, 2, 4])
@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_failure_while_moving_files_into_place_rolls_back(tmp_path, monkeypatch, failing_move,
                                                          error):
    """The n-th move fails: the files moved before it get their old content back, new files
    and folders disappear, no temporary or backup file is left."""
    work = stage(tmp_path)
    before = snapshot(work)
    outputs = {
        work / "results" / "findings.json": b"new json",         # replaces an old file
        work / "results" / "findings.md": b"new markdown",       # replaces an old file
        work / "new" / "deeper" / "a.png": b"new figure",        # new folders
        work / "figures" / "leaderboard.png": b"new leaderboard",  # replaces an old file
    }
    real_replace = os.replace
    moves = []

    def replace(source, target):
        if Path(source).suffix == ".tmp":
            moves.append(target)
            if len(moves) == failing_move:
                raise error
        return real_replace(source, target)

    monkeypatch.setattr(cli.os, "replace", replace)
    with pytest.raises(type(error)):
        write_atomically(outputs)
    assert snapshot(work) == before


def test_write_atomically_writes_everything(tmp_path):
    outputs = {tmp_path / "a" / "x.json": b"1", tmp_path / "b" / "c" / "y.png": b"2"}
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.json").write_bytes(b"old")
    (tmp_path / "a" / "keep.txt").write_bytes(b"keep")
    write_atomically(outputs)
    assert snapshot(tmp_path) == {"a": None, "a/keep.txt": b"keep", "a/x.json": b"1",
                                  "b": None, "b/c": None, "b/c/y.png": b"2"}
    mode = (tmp_path / "b" / "c" / "y.png").stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask
