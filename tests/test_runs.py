"""Run-level results (issue 5): loading runs, mean and best-of-N cells, the leaderboard's run
columns and standard error, score components and inconsistent flags, and the JSON fields.

Expected values are worked out here from the raw rows of the invented runs_benchmark data set
(csv module, plain Python and numpy), never by calling the library twice.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from collections import defaultdict
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import TESTS_DIR, MakeData

from teamforge_analysis import Dataset, DataValidationError, analyze, load_dataset
from teamforge_analysis.cli import main
from teamforge_analysis.dataset import RESULTS_COLUMNS
from teamforge_analysis.report import leaderboard_table, to_markdown
from teamforge_analysis.runs import aggregate_runs, cell_scores
from teamforge_analysis.scoring import leaderboard

RUNS_DIR = TESTS_DIR / "data" / "runs_benchmark"
COMPONENTS = ("lint_score", "efficiency_score", "review_quality", "reflection_quality")
GRADER = {"test_pass": 0.40, "lint_score": 0.25, "efficiency_score": 0.20,
          "review_quality": 0.10, "reflection_quality": 0.05}
NUMERIC = ("score", "steps", "test_pass", *COMPONENTS)


# ----------------------------------------------------------------------------------------------
# Raw rows, and expected values from them
# ----------------------------------------------------------------------------------------------
def read(name: str) -> list[dict[str, str]]:
    with open(RUNS_DIR / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    rows = read("results.csv")
    cells: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        parsed = {"run": int(row["run"]), "passed": row["passed"] == "true",
                  **{c: float(row[c]) for c in NUMERIC}}
        cells[(row["model"], row["task"])].append(parsed)
    tasks = {t["task"]: t for t in read("tasks.csv")}
    return {
        "rows": rows,
        "cells": {k: sorted(v, key=lambda r: r["run"]) for k, v in cells.items()},
        "weight": {t: float(v["weight"]) for t, v in tasks.items()},
        "threshold": {t: float(v["pass_threshold"]) for t, v in tasks.items()},
        "models": sorted({r["model"] for r in rows}),
    }


def cell_mean(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {c: sum(r[c] for r in runs) / len(runs) for c in NUMERIC}
    out["passed"] = sum(r["passed"] for r in runs) > len(runs) / 2
    return out


def cell_best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    best = runs[0]
    for run in runs[1:]:  # runs are in run order: a tie keeps the earlier (lower) run
        if run["score"] > best["score"]:
            best = run
    return best


def expected_board(raw: dict[str, Any]) -> dict[str, dict[str, float]]:
    board: dict[str, dict[str, float]] = {}
    for model in raw["models"]:
        mean = best = variance = 0.0
        fewest = math.inf
        for task, w in raw["weight"].items():
            scores = [r["score"] for r in raw["cells"][(model, task)]]
            n = len(scores)
            m = sum(scores) / n
            s2 = sum((x - m) ** 2 for x in scores) / (n - 1)
            mean += w * m
            best += w * max(scores)
            variance += w * w * s2 / n
            fewest = min(fewest, n)
        board[model] = {"mean": mean, "best": best, "se": math.sqrt(variance), "runs": fewest}
    return board


# ----------------------------------------------------------------------------------------------
# Loading
# ----------------------------------------------------------------------------------------------
def test_runs_frame_holds_every_row_sorted(raw: dict[str, Any]) -> None:
    ds = load_dataset(RUNS_DIR)
    assert len(ds.runs) == len(raw["rows"]) == 27
    assert list(ds.runs.columns) == ["model", "task", "run", *RESULTS_COLUMNS[2:], *COMPONENTS]
    keys = list(zip(ds.runs["model"], ds.runs["task"], ds.runs["run"], strict=True))
    assert keys == sorted(keys)
    for row in raw["rows"]:
        got = ds.runs.set_index(["model", "task", "run"]).loc[
            (row["model"], row["task"], int(row["run"]))]
        assert got["score"] == float(row["score"])
        assert got["steps"] == int(row["steps"])
        assert got["passed"] == (row["passed"] == "true")
        assert got["reflection_quality"] == float(row["reflection_quality"])
    assert ds.has_runs and ds.aggregate == "mean"


def test_mean_cells(raw: dict[str, Any]) -> None:
    results = load_dataset(RUNS_DIR).results.set_index(["model", "task"])
    assert list(results.columns) == [*RESULTS_COLUMNS[2:], *COMPONENTS]
    assert len(results) == 9
    for key, runs in raw["cells"].items():
        expected = cell_mean(runs)
        for column in NUMERIC:
            assert results.loc[key, column] == pytest.approx(expected[column], abs=1e-12)
        assert bool(results.loc[key, "passed"]) == expected["passed"], key
    # The README's cells where runs disagree: 1 of 3 fails the majority, 2 of 3 passes it.
    assert not results.loc[("alder-3b", "medium_split_module"), "passed"]
    assert results.loc[("basalt-20b", "medium_split_module"), "passed"]
    assert results.loc[("cobalt-60b", "hard_trie_index"), "passed"]


def test_best_cells_break_ties_by_lowest_run(raw: dict[str, Any]) -> None:
    results = load_dataset(RUNS_DIR, aggregate="best").results.set_index(["model", "task"])
    for key, runs in raw["cells"].items():
        expected = cell_best(runs)
        for column in NUMERIC:
            assert results.loc[key, column] == expected[column], (key, column)
        assert bool(results.loc[key, "passed"]) == expected["passed"]
    # Runs 2 and 3 tie at 0.958; run 2 took 15 steps, run 3 took 8.
    assert results.loc[("cobalt-60b", "easy_fix_typo"), "steps"] == 15
    assert results.loc[("alder-3b", "medium_split_module"), "passed"]
    assert results["steps"].dtype == np.int64  # best keeps a real run's whole-number steps


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_aggregate_and_cell_scores_of_shuffled_runs(raw: dict[str, Any], seed: int) -> None:
    """The public functions on run rows in any order (a frame made by hand): one row per cell
    in key order, with the values worked out from the raw rows."""
    runs = load_dataset(RUNS_DIR).runs
    shuffled = runs.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    keys = sorted(raw["cells"])
    for how, expected_of in (("mean", cell_mean), ("best", cell_best)):
        cells = aggregate_runs(shuffled, how=how)
        assert list(zip(cells["model"], cells["task"], strict=True)) == keys
        assert cells["model"].dtype == object and "run" not in cells
        for row, key in zip(cells.itertuples(index=False), keys, strict=True):
            expected = expected_of(raw["cells"][key])
            for column in NUMERIC:
                assert getattr(row, column) == pytest.approx(expected[column], abs=1e-12)
            assert bool(row.passed) == expected["passed"]
    summary = cell_scores(shuffled)
    assert list(summary.columns) == ["model", "task", "runs", "score_mean", "score_best",
                                     "score_sd"]
    assert list(zip(summary["model"], summary["task"], strict=True)) == keys
    for row, key in zip(summary.itertuples(index=False), keys, strict=True):
        scores = [r["score"] for r in raw["cells"][key]]
        mean = sum(scores) / len(scores)
        assert row.runs == len(scores) and row.score_best == max(scores)
        assert row.score_mean == pytest.approx(mean, abs=1e-12)
        assert row.score_sd == pytest.approx(
            math.sqrt(sum((x - mean) ** 2 for x in scores) / (len(scores) - 1)), abs=1e-12)


def test_cell_scores_of_one_run_has_no_sd() -> None:
    runs = pd.DataFrame({"model": ["b", "a", "a"], "task": "t", "run": [1, 2, 1],
                         "score": [0.5, 0.25, 0.75]})
    summary = cell_scores(runs)
    assert list(summary["model"]) == ["a", "b"] and list(summary["runs"]) == [2, 1]
    assert summary["runs"].dtype == np.int64
    assert summary.loc[0, "score_sd"] == pytest.approx(math.sqrt(0.125))
    assert math.isnan(summary.loc[1, "score_sd"])


def test_single_run_cells_are_the_rows_themselves(bundled: Dataset) -> None:
    assert not bundled.has_runs
    assert (bundled.runs["run"] == 1).all()
    pd.testing.assert_frame_equal(bundled.runs.drop(columns="run"), bundled.results)
    for how in ("mean", "best"):
        pd.testing.assert_frame_equal(aggregate_runs(bundled.runs, how=how), bundled.results)
    assert bundled.results["steps"].dtype == np.int64


def test_dataset_made_without_runs_gets_run_one(bundled: Dataset) -> None:
    made = Dataset(bundled.name, bundled.results, bundled.models, bundled.tasks, bundled.files)
    assert list(made.runs.columns[:3]) == ["model", "task", "run"]
    assert (made.runs["run"] == 1).all() and made.steps is None


def test_with_aggregate_and_analyze(raw: dict[str, Any]) -> None:
    mean = load_dataset(RUNS_DIR)
    best = mean.with_aggregate("best")
    assert best.aggregate == "best" and mean.with_aggregate("mean") is mean
    cell = best.results.set_index(["model", "task"]).loc[("cobalt-60b", "hard_trie_index")]
    assert cell["score"] == 0.812
    board = analyze(mean, aggregate="best").leaderboard.set_index("model")
    assert board.loc["cobalt-60b", "teamforge_score"] == pytest.approx(
        expected_board(raw)["cobalt-60b"]["best"], abs=1e-12)


def test_bad_aggregate_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="mean, best"):
        load_dataset(RUNS_DIR, aggregate="median")
    with pytest.raises(ValueError, match="mean, best"):
        aggregate_runs(load_dataset(RUNS_DIR).runs, how="worst")


def test_run_column_joins_the_key(make_data: MakeData) -> None:
    header = "model,task,run,score,steps,test_pass,passed\n"
    repeated = (header
                + "llama3-8b-8192,easy_bugfix_chunk_list,1,0.5,3,0.5,false\n"
                + "llama3-8b-8192,easy_bugfix_chunk_list,2,0.6,3,0.5,false\n"
                + "llama3-8b-8192,easy_bugfix_chunk_list,1,0.7,3,0.5,true\n"
                + "llama3-8b-8192,medium_refactor_stats,1,0.7,3,0.5,true\n"
                + "llama3-8b-8192,hard_lru_cache_performance,1,0.7,3,0.5,true\n")
    with pytest.raises(DataValidationError) as info:
        load_dataset(make_data(results=repeated))
    assert str(info.value).splitlines() == [
        "results.csv line 4, column model/task/run: llama3-8b-8192, easy_bugfix_chunk_list, 1 "
        "repeats the model/task/run of line 2"]
    bad_runs = (header
                + "llama3-8b-8192,medium_refactor_stats,0,0.5,3,0.5,false\n"
                + "llama3-8b-8192,hard_lru_cache_performance,1.5,0.5,3,0.5,false\n"
                + "llama3-8b-8192,easy_bugfix_chunk_list,,0.5,3,0.5,false\n")
    with pytest.raises(DataValidationError) as info:
        load_dataset(make_data(results=bad_runs))
    lines = str(info.value).splitlines()
    # "0" may be shown as "0.0": the loader's known way of showing whole numbers (see the xfail
    # test_value_is_shown_as_written in test_io.py), not something this test is about.
    assert re.fullmatch(r"results\.csv line 2, column run: 0(\.0)? is not at least 1", lines[0])
    assert lines[1:] == ["results.csv line 3, column run: 1.5 is not a whole number",
                         "results.csv line 4, column run: is blank"]


def test_some_component_columns_warn(make_data: MakeData, bundled_dir: Path) -> None:
    lines = (bundled_dir / "results.csv").read_text(encoding="utf-8").splitlines()
    text = "\n".join([lines[0] + ",lint_score"] + [line + ",0.5" for line in lines[1:]]) + "\n"
    folder = make_data(results=text)
    ds = load_dataset(folder)
    assert ds.warnings == ("results.csv line 1: has the grader component column(s) "
                           "lint_score but not efficiency_score, review_quality, "
                           "reflection_quality; score components need all four",)
    assert "lint_score" in ds.results.columns
    score = analyze(ds).finding("score_components")
    assert score.verdict == "not_computable"
    # a folder with only some component columns is not taken as TeamForge data: no formula
    assert "grader formula" in score.verdict_reason
    with pytest.raises(DataValidationError, match="need all four"):
        load_dataset(folder, strict=True)


# ----------------------------------------------------------------------------------------------
# Leaderboard
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["mean", "best"])
def test_leaderboard_run_columns(raw: dict[str, Any], how: str) -> None:
    expected = expected_board(raw)
    board = leaderboard(load_dataset(RUNS_DIR, aggregate=how)).set_index("model")
    for model, want in expected.items():
        row = board.loc[model]
        assert row["teamforge_score_mean"] == pytest.approx(want["mean"], abs=1e-12)
        assert row["teamforge_score_best"] == pytest.approx(want["best"], abs=1e-12)
        assert row["teamforge_score_se"] == pytest.approx(want["se"], abs=1e-12)
        assert row["runs"] == want["runs"] == 3
        assert row["teamforge_score"] == pytest.approx(want[how], abs=1e-12)
    # By hand for cobalt-60b (weights 0.25 easy, 0.40 hard, 0.35 medium):
    # mean = 0.25*(0.934+0.958+0.958)/3 + 0.40*(0.812+0.633+0.7335)/3 + 0.35*(0.901+0.954+0.873)/3
    # best = 0.25*0.958 + 0.40*0.812 + 0.35*0.954
    assert board.loc["cobalt-60b", "teamforge_score_mean"] == pytest.approx(0.8462333333, 1e-9)
    assert board.loc["cobalt-60b", "teamforge_score_best"] == pytest.approx(0.8982, abs=1e-12)
    assert list(board.index) == ["cobalt-60b", "basalt-20b", "alder-3b"]


def test_standard_error_null_with_one_run_and_fewest_runs(make_data: MakeData) -> None:
    # a: 3 runs of t1 and 1 of t2 (no SE); b: 2 runs of each. Weights 0.3 / 0.7.
    results = ("model,task,run,score,steps,test_pass,passed\n"
               "a,t1,1,0.2,1,0.2,false\na,t1,2,0.4,1,0.2,false\na,t1,3,0.9,1,0.2,true\n"
               "a,t2,1,0.5,1,0.5,false\n"
               "b,t1,1,0.8,1,0.8,true\nb,t1,2,0.6,1,0.8,false\n"
               "b,t2,1,0.1,1,0.1,false\nb,t2,2,0.3,1,0.1,false\n")
    models = "model,params_b\na,1\nb,2\n"
    tasks = "task,difficulty,weight,pass_threshold\nt1,easy,0.3,0.7\nt2,hard,0.7,0.7\n"
    ds = load_dataset(make_data(results=results, models=models, tasks=tasks))
    board = leaderboard(ds).set_index("model")
    assert board.loc["a", "runs"] == 1
    assert math.isnan(board.loc["a", "teamforge_score_se"])
    assert board.loc["b", "runs"] == 2
    # b: s² = 0.02 on both tasks (two runs 0.2 apart); SE = √(0.3²·0.02/2 + 0.7²·0.02/2).
    assert board.loc["b", "teamforge_score_se"] == pytest.approx(
        math.sqrt(0.09 * 0.01 + 0.49 * 0.01), abs=1e-12)
    assert board.loc["a", "teamforge_score_mean"] == pytest.approx(0.3 * 0.5 + 0.7 * 0.5)
    assert board.loc["a", "teamforge_score_best"] == pytest.approx(0.3 * 0.9 + 0.7 * 0.5)
    passed = ds.results.set_index(["model", "task"])["passed"]
    assert not passed[("a", "t1")]  # 1 of 3 runs
    assert not passed[("b", "t1")]  # 1 of 2 is not more than half
    document = analyze(ds).document
    row = next(r for r in document["leaderboard"] if r["model"] == "a")
    assert row["teamforge_score_se"] is None and row["runs"] == 1


def test_missing_task_gives_null_run_scores(make_data: MakeData) -> None:
    results = ("model,task,run,score,steps,test_pass,passed\n"
               "a,t1,1,0.2,1,0.2,false\na,t1,2,0.4,1,0.2,false\n"
               "b,t1,1,0.8,1,0.8,true\nb,t2,1,0.1,1,0.1,false\n")
    models = "model,params_b\na,1\nb,2\n"
    tasks = "task,difficulty,weight,pass_threshold\nt1,easy,0.3,0.7\nt2,hard,0.7,0.7\n"
    board = leaderboard(load_dataset(make_data(results=results, models=models, tasks=tasks)))
    a = board.set_index("model").loc["a"]
    assert a[["teamforge_score", "teamforge_score_mean", "teamforge_score_best",
              "teamforge_score_se"]].isna().all()
    assert a["runs"] == 2


# ----------------------------------------------------------------------------------------------
# The JSON document, through the command
# ----------------------------------------------------------------------------------------------
def run_json(tmp_path: Path, *extra: str) -> dict[str, Any]:
    out = io.StringIO()
    with redirect_stdout(out):
        status = main(["--data", str(RUNS_DIR), "--out", str(tmp_path / "out"), "--no-figures",
                       "--format", "json", *extra])
    assert status == 0
    return json.loads(out.getvalue())


def test_json_dataset_and_leaderboard(raw: dict[str, Any], tmp_path: Path) -> None:
    document = run_json(tmp_path)
    ds = document["dataset"]
    assert (ds["n_models"], ds["n_tasks"], ds["n_rows"], ds["n_cells"]) == (3, 3, 27, 9)
    assert ds["aggregate"] == "mean"
    step_lines = (RUNS_DIR / "steps.jsonl").read_text(encoding="utf-8").splitlines()
    assert ds["n_step_rows"] == len([line for line in step_lines if line.strip()]) == 278
    assert ds["files"]["steps.jsonl"] == hashlib.sha256(
        (RUNS_DIR / "steps.jsonl").read_bytes()).hexdigest()
    expected = expected_board(raw)
    assert [r["model"] for r in document["leaderboard"]] == ["cobalt-60b", "basalt-20b",
                                                             "alder-3b"]
    for row in document["leaderboard"]:
        want = expected[row["model"]]
        assert row["teamforge_score"] == pytest.approx(want["mean"], abs=1e-12)
        assert row["teamforge_score_mean"] == pytest.approx(want["mean"], abs=1e-12)
        assert row["teamforge_score_best"] == pytest.approx(want["best"], abs=1e-12)
        assert row["teamforge_score_se"] == pytest.approx(want["se"], abs=1e-12)
        assert row["runs"] == 3
        for task, score in row["scores"].items():
            runs = raw["cells"][(row["model"], task)]
            assert score == pytest.approx(sum(r["score"] for r in runs) / 3, abs=1e-12)
        assert row["tasks_passed"] == sum(cell_mean(raw["cells"][(row["model"], t)])["passed"]
                                          for t in raw["weight"])
    best = run_json(tmp_path, "--aggregate", "best")
    assert best["dataset"]["aggregate"] == "best"
    for row in best["leaderboard"]:
        assert row["teamforge_score"] == pytest.approx(expected[row["model"]]["best"], abs=1e-12)
    assert [f["id"] for f in document["findings"]] == [
        "scale_vs_difficulty", "step_efficiency", "test_pass_vs_score", "hard_task_boundary",
        "score_components", "planning_depth_vs_success", "reward_trajectories"]


def test_json_inconsistent_flags_and_boundary(raw: dict[str, Any], tmp_path: Path) -> None:
    flags = []
    for (model, task), runs in sorted(raw["cells"].items()):
        for run in runs:
            if run["passed"] != (run["score"] >= raw["threshold"][task]):
                flags.append({"model": model, "task": task, "run": run["run"],
                              "score": run["score"], "pass_threshold": raw["threshold"][task],
                              "passed": run["passed"]})
    assert flags == [{"model": "alder-3b", "task": "easy_fix_typo", "run": 3, "score": 0.672,
                      "pass_threshold": 0.7, "passed": True}]
    for how, passing in (("mean", {"cobalt-60b"}), ("best", {"cobalt-60b"})):
        finding = next(f for f in run_json(tmp_path, "--aggregate", how)["findings"]
                       if f["id"] == "hard_task_boundary")
        assert finding["statistics"]["inconsistent_flags"] == flags
        hard = {m: (cell_mean if how == "mean" else cell_best)(
            raw["cells"][(m, "hard_trie_index")])["passed"] for m in raw["models"]}
        assert finding["statistics"]["passed"] == hard
        assert {m for m, p in hard.items() if p} == passing


def test_json_score_components(raw: dict[str, Any], tmp_path: Path) -> None:
    finding = next(f for f in run_json(tmp_path)["findings"] if f["id"] == "score_components")
    stats = finding["statistics"]
    assert finding["verdict"] == "descriptive"
    assert stats["weights"] == GRADER and stats["missing_columns"] == []
    assert stats["n_run_rows"] == 27
    mismatches = []
    for (model, task), runs in sorted(raw["cells"].items()):
        for run in runs:
            formula = min(0.999, max(0.001, sum(w * run[c] for c, w in GRADER.items())))
            if abs(run["score"] - formula) > 0.01:
                mismatches.append((model, task, run["run"], run["score"], formula))
    assert len(mismatches) == 1
    (model, task, run, score, formula), = mismatches
    # 0.40*0.63 + 0.25*0.84 + 0.20*0.75 + 0.10*0.65 + 0.05*0.71 = 0.7125, 0.08 below the score.
    assert formula == pytest.approx(0.7125, abs=1e-12)
    assert stats["mismatches"] == [{"model": model, "task": task, "run": run, "score": score,
                                    "recomputed": pytest.approx(formula, abs=1e-12)}]
    assert (model, task, run) == ("basalt-20b", "medium_split_module", 2)
    for model in raw["models"]:
        got = stats["by_model"][model]
        means = {t: cell_mean(raw["cells"][(model, t)]) for t in raw["weight"]}
        total = sum(w * means[t]["score"] for t, w in raw["weight"].items())
        assert got["teamforge_score"] == pytest.approx(total, abs=1e-12)
        parts = {c: g * sum(w * means[t][c] for t, w in raw["weight"].items())
                 for c, g in GRADER.items()}
        for component, value in parts.items():
            assert got[component] == pytest.approx(value, abs=1e-12)
        assert got["residual"] == pytest.approx(total - sum(parts.values()), abs=1e-12)
    # Only basalt-20b carries the off-formula score: 0.35 (task weight) x 0.08 / 3 runs.
    assert stats["by_model"]["basalt-20b"]["residual"] == pytest.approx(0.35 * 0.08 / 3, abs=1e-9)
    assert "1 has a score more than 0.01 away" in finding["text"]
    assert "basalt-20b on medium_split_module, run 2" in finding["text"]


def test_recomputed_scores_clamp() -> None:
    from teamforge_analysis.findings import recomputed_scores

    rows = pd.DataFrame({"test_pass": [0.0, 1.0, 0.5], "lint_score": [0.0, 1.0, 0.5],
                         "efficiency_score": [0.0, 1.0, 0.5], "review_quality": [0.0, 1.0, 0.5],
                         "reflection_quality": [0.0, 1.0, 0.5]})
    grader = {"test_pass": 0.40, "lint_score": 0.25, "efficiency_score": 0.20,
              "review_quality": 0.10, "reflection_quality": 0.05}
    assert recomputed_scores(rows, grader, (0.001, 0.999)).tolist() == pytest.approx(
        [0.001, 0.999, 0.5], abs=1e-12)


def test_bundled_score_components_not_computable(bundled: Dataset) -> None:
    finding = analyze(bundled).finding("score_components")
    assert finding.verdict == "not_computable"
    assert finding.statistics["by_model"] is None and finding.statistics["mismatches"] is None
    for column in COMPONENTS:
        assert column in finding.text
    assert "results.csv" in finding.text


# ----------------------------------------------------------------------------------------------
# Renderers
# ----------------------------------------------------------------------------------------------
def test_leaderboard_table_shows_interval_and_inflation(raw: dict[str, Any]) -> None:
    document = analyze(RUNS_DIR).document
    table = leaderboard_table(document)
    assert table.headers[3:7] == ("Mean of runs (95% CI)", "Best of N", "Inflation", "Runs")
    want = expected_board(raw)["cobalt-60b"]
    row = table.rows[0]
    assert row[1] == "cobalt-60b"
    # the run-noise interval itself is checked by hand in test_uncertainty; here: it is shown
    low, high = document["leaderboard_uncertainty"]["models"][0]["run_se_ci95"]
    assert low < want["mean"] < high
    assert row[3] == f"{want['mean']:.3f} ({low:.3f} to {high:.3f})"
    assert row[4] == f"{want['best']:.3f}"
    assert row[5] == f"+{want['best'] - want['mean']:.3f}"
    markdown = to_markdown(document)
    assert "27 result rows (9 (model, task) cells, each the mean of its runs; 278 logged steps)" \
        in markdown
    assert "| Rank | Model | TeamForge score | Mean of runs (95% CI) |" in markdown


def test_bundled_leaderboard_table_has_no_run_columns(bundled: Dataset) -> None:
    document = analyze(bundled).document
    table = leaderboard_table(document)
    assert "Mean of runs (95% CI)" not in table.headers
    assert "±" not in to_markdown(document).split("## Finding 1")[0]


def test_cells_whose_majority_flag_disagrees_with_their_mean_score_are_listed() -> None:
    # INVENTED: every run's flag agrees with its own score against 0.7, but the cell's majority
    # (fail, 2 of 3) disagrees with its mean score 0.7167 >= 0.7.
    from teamforge_analysis import Dataset
    from teamforge_analysis.findings import hard_task_boundary

    results = pd.DataFrame({
        "model": ["a"] * 3 + ["b"] * 3, "task": ["t"] * 6, "run": [1, 2, 3] * 2,
        "score": [0.9, 0.65, 0.6, 0.2, 0.3, 0.25], "passed": [True, False, False] + [False] * 3,
    })
    models = pd.DataFrame({"model": ["a", "b"], "params_b": [7.0, 3.0]})
    tasks = pd.DataFrame({"task": ["t"], "difficulty": ["hard"], "pass_threshold": [0.7]})
    finding = hard_task_boundary(Dataset.from_frames(results, models, tasks))
    stats = finding.statistics
    assert stats["inconsistent_flags"] == []
    assert stats["aggregated_flag_disagreements"] == [
        {"model": "a", "task": "t", "mean_score": pytest.approx((0.9 + 0.65 + 0.6) / 3),
         "pass_threshold": 0.7, "majority_passed": False}]
    assert "majority of the runs with a passed flag disagrees" in finding.text


def test_runs_without_a_passed_column_pass_by_score_against_threshold() -> None:
    # INVENTED: two runs per cell and no passed column. Mean scores: a/t1 0.8, a/t2 0.6,
    # b/t1 0.4, b/t2 0.75 against threshold 0.7 on t1 and 0.5 on t2.
    from teamforge_analysis import Dataset
    from teamforge_analysis.findings import hard_task_boundary

    results = pd.DataFrame({
        "model": ["a"] * 4 + ["b"] * 4, "task": ["t1", "t1", "t2", "t2"] * 2,
        "run": [1, 2] * 4, "score": [0.7, 0.9, 0.5, 0.7, 0.3, 0.5, 0.8, 0.7]})
    models = pd.DataFrame({"model": ["a", "b"], "params_b": [7.0, 3.0]})
    tasks = pd.DataFrame({"task": ["t1", "t2"], "difficulty": ["easy", "hard"],
                          "pass_threshold": [0.7, 0.5]})
    ds = Dataset.from_frames(results, models, tasks)
    assert ds.results["passed"].isna().all()  # no flag anywhere: none made up
    board = leaderboard(ds).set_index("model")
    assert board.loc["a", "tasks_passed"] == 2 and board.loc["b", "tasks_passed"] == 1
    finding = hard_task_boundary(ds)
    assert finding.statistics["inconsistent_flags"] == []
    assert finding.statistics["aggregated_flag_disagreements"] == []
    assert "Warning" not in finding.text


def test_majority_of_the_runs_that_have_a_flag() -> None:
    # INVENTED: cell a/t: flags True, blank, blank (1 of 1 flagged run passed); b/t: False,
    # True, blank (1 of 2: not more than half); c/t: no flag in any run (missing).
    results = pd.DataFrame({
        "model": ["a"] * 3 + ["b"] * 3 + ["c"] * 3, "task": "t", "run": [1, 2, 3] * 3,
        "score": [0.9] * 9,
        "passed": pd.array([True, None, None, False, True, None, None, None, None],
                           dtype="boolean")})
    cells = aggregate_runs(results).set_index("model")["passed"]
    assert cells[["a", "b"]].tolist() == [True, False]
    assert pd.isna(cells["c"])
