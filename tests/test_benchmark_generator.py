"""The benchmark data generator (benchmarks/generate.py) is deterministic and writes loadable data.

The generated data are invented (benchmark data only). No test here measures a duration.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from teamforge_analysis import analyze, load_dataset

GENERATOR = Path(__file__).resolve().parent.parent / "benchmarks" / "generate.py"


@pytest.fixture(scope="module")
def gen():
    spec = importlib.util.spec_from_file_location("benchmark_generate", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_arguments_give_identical_files(gen, tmp_path):
    size = gen.Size(models=7, tasks=5, runs=3, seed=11, steps="parquet", components=True)
    first = gen.generate(tmp_path / "a", size)
    second = gen.generate(tmp_path / "b", size)
    assert _digests(first) == _digests(second)
    other_seed = gen.generate(tmp_path / "c", gen.Size(models=7, tasks=5, runs=3, seed=12))
    assert _digests(other_seed)["results.csv"] != _digests(first)["results.csv"]


def test_shape_difficulties_and_weights(gen, tmp_path):
    size = gen.Size(models=6, tasks=7, runs=4, seed=3)
    folder = gen.generate(tmp_path / "d", size)
    results = pd.read_csv(folder / "results.csv")
    tasks = pd.read_csv(folder / "tasks.csv")
    assert len(results) == 6 * 7 * 4
    assert list(results.columns[:3]) == ["model", "task", "run"]
    assert not results.duplicated(["model", "task", "run"]).any()
    assert set(tasks["difficulty"]) == {"easy", "medium", "hard"}
    # The loader's rule: weights read back from the file sum to 1 within 1e-9.
    assert abs(math.fsum(tasks["weight"]) - 1.0) <= 1e-9
    assert (tasks["weight"] > 0).all()
    # The score is the grader formula (clamped), rounded to 3 decimals for the file.
    components = gen.build(gen.Size(models=6, tasks=7, runs=4, seed=3, components=True)).results
    recomputed = (0.40 * components["test_pass"] + 0.25 * components["lint_score"]
                  + 0.20 * components["efficiency_score"] + 0.10 * components["review_quality"]
                  + 0.05 * components["reflection_quality"]).clip(0.001, 0.999)
    assert np.abs(components["score"] - recomputed).max() <= 0.0005 + 1e-9
    thresholds = results["task"].map(tasks.set_index("task")["pass_threshold"])
    assert (results["passed"] == (results["score"] >= thresholds)).all()


@pytest.mark.parametrize(("fold", "n_models", "n_tasks"), [("tasks", 5, 9), ("models", 15, 3)])
def test_folded_runs_load_and_analyse(gen, tmp_path, fold, n_models, n_tasks):
    """Runs folded into task (or model) names give a folder the current loader accepts."""
    size = gen.Size(models=5, tasks=3, runs=3, fold_runs=fold, steps="csv", mean_steps=5)
    folder = gen.generate(tmp_path / fold, size)
    dataset = load_dataset(folder)
    assert dataset.results.shape[0] == 5 * 3 * 3
    assert (len(dataset.models), len(dataset.tasks)) == (n_models, n_tasks)
    assert len(analyze(dataset).leaderboard) == n_models
    # The same draws as the unfolded data set: only the names differ.
    plain = gen.build(gen.Size(models=5, tasks=3, runs=3, steps="csv", mean_steps=5))
    folded = gen.build(size)
    assert sorted(folded.results["score"]) == sorted(plain.results["score"])
    steps = pd.read_csv(folder / "steps.csv")
    keys = set(zip(steps["model"], steps["task"], strict=True))
    assert keys == set(zip(dataset.results["model"], dataset.results["task"], strict=True))


def test_single_run_has_no_run_column_and_loads(gen, tmp_path):
    folder = gen.generate(tmp_path / "s", gen.Size(models=4, tasks=3, runs=1))
    assert "run" not in pd.read_csv(folder / "results.csv").columns
    assert load_dataset(folder).results.shape == (12, 6)


@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "csv"])
def test_step_log_matches_results(gen, tmp_path, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    size = gen.Size(models=3, tasks=3, runs=2, seed=5, steps=fmt, mean_steps=8)
    folder = gen.generate(tmp_path / fmt, size)
    path = folder / f"steps.{fmt}"
    steps = {"parquet": pd.read_parquet, "csv": pd.read_csv,
             "jsonl": lambda p: pd.read_json(p, lines=True)}[fmt](path)
    results = pd.read_csv(folder / "results.csv")
    assert list(steps.columns) == ["model", "task", "run", "step", "action", "reward", "phase",
                                   "tests_passed", "tests_total"]
    # One episode per result row, as many steps as the row says, numbered 1..steps.
    lengths = steps.groupby(["model", "task", "run"]).size()
    expected = results.set_index(["model", "task", "run"])["steps"]
    pd.testing.assert_series_equal(lengths.sort_index(), expected.sort_index(),
                                   check_names=False)
    assert not steps.duplicated(["model", "task", "run", "step"]).any()
    first = steps.groupby(["model", "task", "run"])["step"].min()
    assert (first == 1).all()
    assert set(steps["action"]) <= set(gen.ACTIONS)
    assert (steps["phase"] == steps["action"].map(gen.PHASE_OF_ACTION)).all()
    last = steps.groupby(["model", "task", "run"]).tail(1)
    assert (last["action"] == "commit").all()
    # The final test count is the row's test_pass.
    final = last.set_index(["model", "task", "run"])
    rate = (final["tests_passed"] / final["tests_total"]).sort_index()
    np.testing.assert_allclose(rate.to_numpy(),
                               results.set_index(["model", "task", "run"])["test_pass"]
                               .sort_index().to_numpy(), atol=1e-6)
    assert (steps["tests_passed"] <= steps["tests_total"]).all()
