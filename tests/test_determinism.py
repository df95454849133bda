"""The same input gives byte-identical findings.json, findings.md and figures: across runs,
across PYTHONHASHSEED values (separate processes) and across row orders of the input files.

Besides the bundled data, an invented data set of 12 models makes the permutation p-values
Monte Carlo (n > 8), and an invented per-problem one (20 models, 30 problems) makes the
leaderboard's bootstrap and its pairs' sign-flip p-values run (levels of several tasks, more
than 16 tasks), so that the fixed seed of every random step is exercised too.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from _reliability import BUNDLED, DATA_FILES, copy_data, snapshot
from per_problem import write_per_problem

from teamforge_analysis.cli import main
from teamforge_analysis.stats import PERMUTATION_EXACT_MAX_N
from teamforge_analysis.uncertainty import PERMUTATION_EXACT_MAX_TASKS

SEED = 20240611


def write_twelve_models(folder: Path) -> Path:
    """Invented: 12 models x 3 tasks, sizes and scores from a seeded generator."""
    rng = random.Random(SEED)
    folder.mkdir(parents=True)
    tasks = (("t_easy", "easy", 0.25), ("t_medium", "medium", 0.35), ("t_hard", "hard", 0.4))
    models = {f"model_{i:02d}": round(rng.uniform(1, 200), 1) for i in range(12)}
    (folder / "models.csv").write_text("model,params_b\n" + "".join(
        f"{m},{s}\n" for m, s in models.items()))
    (folder / "tasks.csv").write_text("task,difficulty,weight,pass_threshold\n" + "".join(
        f"{t},{d},{w},0.7\n" for t, d, w in tasks))
    rows = []
    for model in models:
        for j, (task, _, _) in enumerate(tasks):
            score = round(rng.uniform(0.05, 0.95 - 0.2 * j), 3)
            rows.append(f"{model},{task},{score},{rng.randint(5, 60)},"
                        f"{round(min(1, score + rng.uniform(0, 0.1)), 3)},"
                        f"{str(score >= 0.7).lower()}\n")
    (folder / "results.csv").write_text("model,task,score,steps,test_pass,passed\n" + "".join(rows))
    return folder


#: Invented per-problem levels: every level has several tasks (the bootstrap resamples them)
#: and the pairs have more tasks than the exact sign-flip enumeration takes.
PER_PROBLEM_LEVELS = {"easy": 12, "medium": 10, "hard": 8}


@pytest.fixture(params=["bundled", "twelve_models", "per_problem"])
def data_folder(request, tmp_path_factory) -> Path:
    """A data folder called ``data`` (the name appears in the outputs)."""
    root = tmp_path_factory.mktemp(request.param)
    if request.param == "bundled":
        return copy_data(BUNDLED, root / "data", DATA_FILES)
    if request.param == "per_problem":
        return write_per_problem(root / "data", levels=PER_PROBLEM_LEVELS, n_models=20)
    return write_twelve_models(root / "data")


def outputs_of(data: Path, work: Path) -> dict[str, bytes | None]:
    work.mkdir(parents=True)
    status = main(["--data", str(data), "--out", str(work / "results"),
                   "--figures", str(work / "figures"), "--format", "json"])
    assert status == 0
    return snapshot(work)


def shuffled_copy(data: Path, target: Path, seed: int) -> Path:
    """The same data with the rows of every file in another order (header first)."""
    target.mkdir(parents=True)
    rng = random.Random(seed)
    for name in DATA_FILES:
        table = list(csv.reader(io.StringIO((data / name).read_text(encoding="utf-8"))))
        body = table[1:]
        while len(body) > 1 and body == table[1:]:
            rng.shuffle(body)
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows([table[0], *body])
        (target / name).write_text(buffer.getvalue(), encoding="utf-8")
    return target


def test_twelve_models_use_monte_carlo_permutations(tmp_path, capsys):
    data = write_twelve_models(tmp_path / "data")
    main(["--data", str(data), "--format", "json", "--no-figures",
          "--out", str(tmp_path / "results")])
    document = json.loads(capsys.readouterr().out)
    by_level = document["findings"][0]["statistics"]["by_difficulty"]
    assert all(c["n"] == 12 > PERMUTATION_EXACT_MAX_N for c in by_level.values())
    assert all(c["p_permutation"] is not None for c in by_level.values())


def test_per_problem_data_resample_tasks_and_flip_signs(tmp_path, capsys):
    data = write_per_problem(tmp_path / "data", levels=PER_PROBLEM_LEVELS, n_models=20)
    main(["--data", str(data), "--format", "json", "--no-figures",
          "--out", str(tmp_path / "results")])
    section = json.loads(capsys.readouterr().out)["leaderboard_uncertainty"]
    assert section["ci_method"] == "tasks"
    assert all(m["ci95"] is not None for m in section["models"])
    assert all(p["n_tasks"] > PERMUTATION_EXACT_MAX_TASKS for p in section["pairs"])
    assert all(p["p_value"] is not None for p in section["pairs"])


def test_two_runs_are_byte_identical(data_folder, tmp_path, capsys):
    first = outputs_of(data_folder, tmp_path / "first")
    second = outputs_of(data_folder, tmp_path / "second")
    capsys.readouterr()
    assert sorted(first) == sorted(second)
    assert first == second


def test_row_order_does_not_change_a_byte(data_folder, tmp_path, capsys):
    clean = outputs_of(data_folder, tmp_path / "clean")
    for seed in (1, 2):
        shuffled = shuffled_copy(data_folder, tmp_path / f"shuffled{seed}" / "data", seed)
        assert (shuffled / "results.csv").read_bytes() != (data_folder / "results.csv").read_bytes()
        other = outputs_of(shuffled, tmp_path / f"out{seed}")
        capsys.readouterr()
        # findings.json differs only in the input files' hashes, which name the bytes read.
        documents = [json.loads(o.pop("results/findings.json")) for o in (dict(clean), other)]
        for document in documents:
            document["dataset"].pop("files")
        assert documents[0] == documents[1]
        assert {k: v for k, v in clean.items() if k != "results/findings.json"} == other


#: Runs the command on each (data folder, work folder) pair of its arguments, in one process.
_RUN_EACH = """
import sys
from teamforge_analysis.cli import main
for data, work in zip(sys.argv[1::2], sys.argv[2::2]):
    status = main(["--data", data, "--out", work + "/results", "--figures", work + "/figures",
                   "--format", "json"])
    if status:
        sys.exit(status)
"""


def test_hash_seeds_do_not_change_a_byte(tmp_path, capsys):
    """Processes with different PYTHONHASHSEED values (set and dict order, hashing) give the
    bytes this process gives (its own seed is random unless PYTHONHASHSEED is set). Each
    process runs the command on both data sets: the imports are most of a run's time."""
    folders = {"bundled": copy_data(BUNDLED, tmp_path / "bundled" / "data", DATA_FILES),
               "twelve_models": write_twelve_models(tmp_path / "twelve_models" / "data")}
    here = {name: outputs_of(data, tmp_path / "here" / name) for name, data in folders.items()}
    capsys.readouterr()
    for seed in ("0", "4242"):
        work = tmp_path / f"seed{seed}"
        pairs = [str(p) for name, data in folders.items() for p in (data, work / name)]
        done = subprocess.run(
            [sys.executable, "-c", _RUN_EACH, *pairs], cwd=tmp_path, capture_output=True,
            text=True, encoding="utf-8", timeout=300, check=False,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": seed})
        assert done.returncode == 0, done.stderr
        assert done.stdout.encode("utf-8") == b"".join(
            (work / name / "results" / "findings.json").read_bytes() for name in folders)
        for name in folders:
            assert snapshot(work / name) == here[name], (seed, name)
    assert {"results/findings.json", "results/findings.md", "figures/leaderboard.png"} <= set(
        here["bundled"])
