"""Step logs (issue 5): the three readers agree, per-episode summaries, and the
planning_depth_vs_success and reward_trajectories findings against values worked out here from
the raw JSON Lines records (plain Python loops over episodes and numpy, never the library).
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import TESTS_DIR, MakeData
from reference import fisher_ci_by_hand, pearson_by_hand, t_test_p_by_hand

from teamforge_analysis import DataValidationError, analyze, load_dataset
from teamforge_analysis.steps import (
    ACTIONS,
    PHASES,
    STEP_COLUMNS,
    episode_keys,
    episodes,
    load_step_log,
    reward_curves,
)

RUNS_DIR = TESTS_DIR / "data" / "runs_benchmark"
CSV_FILES = ("results.csv", "models.csv", "tasks.csv")


# ----------------------------------------------------------------------------------------------
# Raw records and expected values
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    lines = (RUNS_DIR / "steps.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def raw_runs() -> dict[tuple[str, str, int], dict[str, Any]]:
    with open(RUNS_DIR / "results.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {(r["model"], r["task"], int(r["run"])): {"score": float(r["score"]),
                                                      "passed": r["passed"] == "true"}
            for r in rows}


@pytest.fixture(scope="module")
def difficulty() -> dict[str, str]:
    with open(RUNS_DIR / "tasks.csv", encoding="utf-8", newline="") as handle:
        return {t["task"]: t["difficulty"] for t in csv.DictReader(handle)}


def write_step_log(frame: pd.DataFrame, folder: Path, fmt: str) -> None:
    """Write ``frame`` as the folder's step log in format ``fmt`` (parquet, csv or jsonl)."""
    if fmt == "parquet":
        frame.to_parquet(folder / "steps.parquet", index=False)
    elif fmt == "csv":
        frame.to_csv(folder / "steps.csv", index=False, lineterminator="\n")
    else:
        frame.to_json(folder / "steps.jsonl", orient="records", lines=True)


def by_episode(records: list[dict[str, Any]]) -> dict[tuple[str, str, int], list[dict]]:
    out: dict[tuple[str, str, int], list[dict]] = defaultdict(list)
    for record in records:
        out[(record["model"], record["task"], record["run"])].append(record)
    return {k: sorted(v, key=lambda r: r["step"]) for k, v in out.items()}


def summarise(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """One episode by hand: depth, total reward, slope (np.polyfit), first full test pass."""
    numbers = [s["step"] for s in steps]
    rewards = [s["reward"] for s in steps]
    first, last = min(numbers), max(numbers)
    slope = None
    if len(steps) >= 2:
        position = [(n - first) / (last - first) for n in numbers]
        slope = float(np.polyfit(position, rewards, 1)[0])
    full = [s["step"] for s in steps
            if s.get("tests_total") and s.get("tests_passed") == s["tests_total"]]
    return {"depth": sum(s["action"] == "plan_step" for s in steps), "total": sum(rewards),
            "slope": slope, "full": min(full) if full else None}


def copy_runs_benchmark(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for file in CSV_FILES:
        shutil.copyfile(RUNS_DIR / file, folder / file)
    return folder


# ----------------------------------------------------------------------------------------------
# Readers
# ----------------------------------------------------------------------------------------------
def test_three_formats_load_the_same_frame(records: list[dict[str, Any]], tmp_path: Path
                                           ) -> None:
    jsonl = load_dataset(RUNS_DIR)
    as_csv = copy_runs_benchmark(tmp_path, "csv")
    pd.DataFrame(records).to_csv(as_csv / "steps.csv", index=False, lineterminator="\n")
    as_parquet = copy_runs_benchmark(tmp_path, "parquet")
    pd.DataFrame(records).to_parquet(as_parquet / "steps.parquet", index=False)
    frames = [jsonl.steps, load_dataset(as_csv).steps, load_dataset(as_parquet).steps]
    for frame in frames[1:]:
        pd.testing.assert_frame_equal(frame, frames[0])
    documents = [analyze(folder).document["findings"]
                 for folder in (RUNS_DIR, as_csv, as_parquet)]
    assert documents[1] == documents[0] and documents[2] == documents[0]


def test_step_frame_is_tidy_and_sorted(records: list[dict[str, Any]]) -> None:
    steps = load_dataset(RUNS_DIR).steps
    assert tuple(steps.columns) == STEP_COLUMNS
    assert len(steps) == len(records) == 278
    keys = list(zip(steps["model"], steps["task"], steps["run"], steps["step"], strict=True))
    assert keys == sorted(keys)
    assert set(steps["action"]) <= set(ACTIONS) and set(steps["phase"]) <= set(PHASES)
    assert steps["step"].dtype == np.int64 and steps["run"].dtype == np.int64
    expected = sorted((r["model"], r["task"], r["run"], r["step"], r["reward"]) for r in records)
    assert [(*k, reward) for k, reward in zip(keys, steps["reward"], strict=True)] == expected


def test_steps_match_the_results_steps_column(records: list[dict[str, Any]]) -> None:
    runs = load_dataset(RUNS_DIR).runs.set_index(["model", "task", "run"])
    for key, steps in by_episode(records).items():
        assert runs.loc[key, "steps"] == len(steps)


def test_load_step_log_alone_and_without_run(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_text("model,task,step,action,reward\nm,t,2,commit,1\nm,t,1,plan_step,0.5\n",
                   encoding="utf-8")
    frame = load_step_log(log)
    assert frame[["run", "step", "action"]].to_dict("records") == [
        {"run": 1, "step": 1, "action": "plan_step"}, {"run": 1, "step": 2, "action": "commit"}]
    assert frame["phase"].isna().all() and frame["tests_total"].isna().all()
    with pytest.raises(DataValidationError, match=r"is not a \.jsonl, \.csv or \.parquet file"):
        load_step_log(tmp_path / "log.txt")


@pytest.mark.parametrize("shuffle", ["episodes", "rows", "split_episode"])
@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "csv"])
def test_any_row_order_loads_the_same_frame(records: list[dict[str, Any]], tmp_path: Path,
                                            shuffle: str, fmt: str) -> None:
    # Whole episodes in another order (sorted a block at a time), rows in any order (sorted
    # row by row), and one episode split in two places: all give the frame of the log as
    # written (whose order the sorted() of the records below checks independently).
    expected = load_dataset(RUNS_DIR).steps
    frame = pd.DataFrame(records)
    rng = np.random.default_rng(5)
    if shuffle == "episodes":
        episode = frame.groupby(["model", "task", "run"], sort=False).ngroup().to_numpy()
        rank = rng.permutation(episode.max() + 1)[episode]
        frame = frame.iloc[np.argsort(rank, kind="stable")]
    elif shuffle == "rows":
        frame = frame.iloc[rng.permutation(len(frame))]
    else:
        frame = pd.concat([frame.iloc[3:], frame.iloc[:3]])  # episode 1's first steps last
    folder = copy_runs_benchmark(tmp_path, "shuffled")
    write_step_log(frame, folder, fmt)
    steps = load_dataset(folder).steps
    pd.testing.assert_frame_equal(steps, expected)
    keys = list(zip(steps["model"], steps["task"], steps["run"], steps["step"], strict=True))
    assert keys == sorted((r["model"], r["task"], r["run"], r["step"]) for r in records)


@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "csv"])
def test_repeated_step_is_reported_with_or_without_run_column(make_data: MakeData,
                                                              fmt: str) -> None:
    base = {"model": "gemma2-9b-it", "task": "easy_bugfix_chunk_list"}
    rows = [{**base, "step": 1, "action": "plan_step", "reward": 0.5},
            {**base, "step": 2, "action": "edit_file", "reward": 0.5},
            {**base, "step": 1, "action": "commit", "reward": 0.5}]
    for with_run in (True, False):
        folder = make_data()
        frame = pd.DataFrame([{**r, "run": 1} if with_run else r for r in rows])
        write_step_log(frame, folder, fmt)
        with pytest.raises(DataValidationError) as info:
            load_dataset(folder)
        line = 4 if fmt == "csv" else 3  # (CSV's header is line 1; Parquet counts rows)
        first = 2 if fmt == "csv" else 1
        assert str(info.value).splitlines() == [
            f"steps.{fmt} line {line}, column model/task/run/step: gemma2-9b-it, "
            f"easy_bugfix_chunk_list, 1, 1 repeats the model/task/run/step of line {first}"]


@pytest.mark.parametrize("unknown", ["model", "run", "combination"])
def test_episode_matching_no_result_is_reported_once(records: list[dict[str, Any]],
                                                     tmp_path: Path, unknown: str) -> None:
    # The first episode's steps match no row of results.csv: an unknown model, an unknown
    # run, or known model, task and run whose combination results.csv lacks.
    frame = pd.DataFrame(records)
    key = ["model", "task", "run"]
    first = (frame[key] == frame.loc[0, key]).all(axis=1)
    folder = copy_runs_benchmark(tmp_path, "parquet")
    if unknown == "model":
        frame.loc[first, "model"] = "nobody"
    elif unknown == "run":
        frame.loc[first, "run"] = 7
    else:
        results = pd.read_csv(folder / "results.csv")
        drop = (results[key] == frame.loc[0, key]).all(axis=1)
        results[~drop].to_csv(folder / "results.csv", index=False, lineterminator="\n")
    frame.to_parquet(folder / "steps.parquet", index=False)
    with pytest.raises(DataValidationError) as info:
        load_dataset(folder)
    row = frame.iloc[0]
    assert str(info.value).splitlines() == [
        f"steps.parquet line 1, column model/task/run: {row['model']}, {row['task']}, "
        f"{row['run']} matches no model/task/run of results.csv (nor do its "
        f"{int(first.sum()) - 1} other steps)"]


def test_parquet_missing_text_and_numbers(records: list[dict[str, Any]], tmp_path: Path
                                          ) -> None:
    # Nulls in the optional columns (a dictionary-encoded text column, integer columns) read
    # as missing values, as in JSON Lines.
    frame = pd.DataFrame(records)
    frame.loc[frame.index[:5], ["phase", "tests_passed", "tests_total"]] = None
    folder = copy_runs_benchmark(tmp_path, "parquet")
    frame.to_parquet(folder / "steps.parquet", index=False)
    as_jsonl = copy_runs_benchmark(tmp_path, "jsonl")
    frame.to_json(as_jsonl / "steps.jsonl", orient="records", lines=True)
    steps = load_dataset(folder).steps
    pd.testing.assert_frame_equal(steps, load_dataset(as_jsonl).steps)
    assert steps["phase"].isna().sum() == 5 and steps["tests_total"].isna().sum() == 5
    assert steps["phase"].dtype == object and steps["tests_total"].dtype == np.float64


def test_parquet_whole_numbers_checked_by_value(records: list[dict[str, Any]], tmp_path: Path
                                                ) -> None:
    # Integer columns are checked through their distinct values (dictionary-encoded, like
    # text); every failing row is still named, with its value as stored, and a column that
    # is already dictionary-typed reads the same.
    frame = pd.DataFrame(records)
    frame["tests_total"] = frame["tests_total"].astype("Int64")
    frame.loc[[2, 6], "step"] = [0, 2**60]
    frame.loc[[4], "tests_total"] = pd.NA
    frame.loc[[5, 9], "tests_passed"] = -1
    folder = copy_runs_benchmark(tmp_path, "parquet")
    frame.to_parquet(folder / "steps.parquet", index=False)
    with pytest.raises(DataValidationError) as info:
        load_dataset(folder)
    assert str(info.value).splitlines() == [
        "steps.parquet line 3, column step: 0 is not at least 1",
        "steps.parquet line 6, column tests_passed: -1 is not at least 0",
        f"steps.parquet line 7, column step: {2**60} is too large",
        "steps.parquet line 10, column tests_passed: -1 is not at least 0",
    ]
    import pyarrow as pa
    import pyarrow.parquet as pq

    clean = pa.Table.from_pandas(pd.DataFrame(records), preserve_index=False)
    pq.write_table(clean, folder / "steps.parquet")
    expected = load_dataset(folder).steps
    for name in ("run", "step", "tests_passed"):
        clean = clean.set_column(clean.column_names.index(name), name,
                                 clean[name].dictionary_encode())
    pq.write_table(clean, folder / "steps.parquet")
    pd.testing.assert_frame_equal(load_dataset(folder).steps, expected)


def test_bundled_step_log_without_run_column(make_data: MakeData) -> None:
    folder = make_data()
    (folder / "steps.jsonl").write_text(
        '{"model": "gemma2-9b-it", "task": "easy_bugfix_chunk_list", "step": 1, '
        '"action": "plan_step", "reward": 0.5}\n', encoding="utf-8")
    ds = load_dataset(folder)
    assert ds.steps["run"].tolist() == [1]
    assert ds.warnings == ("steps.jsonl: 11 of 12 runs in results.csv have no steps (left out "
                           "of the step-log findings)",)
    finding = analyze(ds).finding("planning_depth_vs_success")
    assert finding.statistics["episodes"] == 1
    assert finding.statistics["runs_without_steps"] == 11
    assert finding.verdict == "not_computable"  # one episode: no correlation
    with pytest.raises(DataValidationError, match="11 of 12 runs"):
        load_dataset(folder, strict=True)


def test_json_oddities(make_data: MakeData) -> None:
    folder = make_data()
    base = {"model": "gemma2-9b-it", "task": "easy_bugfix_chunk_list", "run": 1}
    lines = [
        {**base, "step": 1, "action": "plan_step", "reward": "0.25"},  # numbers as text are fine
        {**base, "step": 2, "action": "commit", "reward": [1, 2]},  # an array is not a number
        {**base, "step": 3, "action": 7, "reward": 1},  # a number where text belongs
    ]
    (folder / "steps.jsonl").write_text("\n".join(json.dumps(r) for r in lines) + "\n\n",
                                        encoding="utf-8")
    with pytest.raises(DataValidationError) as info:
        load_dataset(folder)
    assert str(info.value).splitlines() == [
        "steps.jsonl line 2, column reward: [1, 2] is not a number",
        "steps.jsonl line 3, column action: 7 is not one of " + ", ".join(ACTIONS),
    ]


def test_parquet_problems(make_data: MakeData, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = make_data()
    (folder / "steps.parquet").write_bytes(b"not a parquet file at all")
    with pytest.raises(DataValidationError, match=r"^steps\.parquet: cannot be read as Parquet"):
        load_dataset(folder)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)  # as if pyarrow were missing
    with pytest.raises(DataValidationError) as info:
        load_dataset(folder)
    assert str(info.value) == ("steps.parquet: needs pyarrow to be read "
                               "(pip install 'teamforge-analysis[parquet]')")


def test_problems_in_a_step_log_are_all_reported(make_data: MakeData) -> None:
    folder = make_data()
    text = ("model,task,run,step,action,reward,tests_passed,tests_total\n"
            "gemma2-9b-it,easy_bugfix_chunk_list,1,1,plan_step,0.1,0,3\n"
            "gemma2-9b-it,easy_bugfix_chunk_list,1,2,edit_file,inf,1,3\n"
            "gemma2-9b-it,easy_bugfix_chunk_list,1,2.5,run_tests,0.1,4,3\n"
            "nobody,easy_bugfix_chunk_list,1,1,commit,0.1,,\n")
    (folder / "steps.csv").write_text(text, encoding="utf-8")
    with pytest.raises(DataValidationError) as info:
        load_dataset(folder)
    # Cell problems first stop the cross-checks (as for the CSV files' cross-file checks).
    assert str(info.value).splitlines() == [
        "steps.csv line 3, column reward: inf is not a finite number",
        "steps.csv line 4, column step: 2.5 is not a whole number",
        "steps.csv line 4, column tests_passed: 4 is more than tests_total (3)",
    ]


# ----------------------------------------------------------------------------------------------
# Per-episode summaries
# ----------------------------------------------------------------------------------------------
def test_episodes_by_hand(records: list[dict[str, Any]], raw_runs: dict) -> None:
    ds = load_dataset(RUNS_DIR)
    table = episodes(ds.steps, ds.runs, ds.tasks).set_index(["model", "task", "run"])
    expected = by_episode(records)
    assert len(table) == len(expected) == 27
    for key, steps in expected.items():
        want = summarise(steps)
        row = table.loc[key]
        assert row["n_steps"] == len(steps)
        assert row["planning_depth"] == want["depth"]
        assert row["total_reward"] == pytest.approx(want["total"], abs=1e-12)
        assert row["reward_slope"] == pytest.approx(want["slope"], abs=1e-10)
        if want["full"] is None:
            assert math.isnan(row["first_full_pass_step"])
        else:
            assert row["first_full_pass_step"] == want["full"]
        assert row["score"] == raw_runs[key]["score"]
        assert row["passed"] == raw_runs[key]["passed"]


def test_tidy_steps_sorts_what_is_not_in_order() -> None:
    from teamforge_analysis.steps import tidy_steps

    log = pd.DataFrame({"model": ["a", "a", "b", "b"], "task": "t", "run": [1, 1, 1, 2],
                        "step": [1, 2, 1, 1], "action": "commit", "reward": 0.0})
    tidy = tidy_steps(log)
    assert tuple(tidy.columns) == STEP_COLUMNS and tidy["step"].tolist() == [1, 2, 1, 1]
    assert tidy_steps(tidy) is not tidy  # (a new frame over the same data)
    pd.testing.assert_frame_equal(tidy_steps(tidy), tidy)
    for column, values, expected in [
        ("step", [2, 1, 1, 1], [1, 2, 1, 1]),  # a step goes back within an episode
        ("run", [1, 1, 2, 1], [1, 1, 1, 2]),  # a run goes back within a model
        ("model", ["b", "b", "a", "a"], ["a", "a", "b", "b"]),  # models out of order
    ]:
        shuffled = tidy.assign(**{column: values})
        assert tidy_steps(shuffled)[column].tolist() == expected
    # Missing values sort last, as with sort_values.
    with_missing = tidy.assign(step=[np.nan, 1.0, 1.0, 1.0])
    np.testing.assert_array_equal(tidy_steps(with_missing)["step"], [1.0, np.nan, 1.0, 1.0])


def test_episodes_computes_only_the_summaries_asked_for() -> None:
    ds = load_dataset(RUNS_DIR)
    every = episodes(ds.steps, ds.runs)
    depth = episodes(ds.steps, ds.runs, summaries=("planning_depth",))
    assert list(depth.columns) == ["model", "task", "run", "n_steps", "first_step", "last_step",
                                   "planning_depth", "score", "passed"]
    pd.testing.assert_frame_equal(depth, every[depth.columns])
    rewards = episodes(ds.steps, summaries=("reward_slope", "total_reward"))
    assert list(rewards.columns)[-2:] == ["total_reward", "reward_slope"]  # (declared order)
    pd.testing.assert_frame_equal(rewards, every[rewards.columns])
    with pytest.raises(ValueError, match="unknown episode summaries"):
        episodes(ds.steps, summaries=("depth",))


def test_episode_keys_are_the_distinct_keys_in_order(records: list[dict[str, Any]]) -> None:
    steps = load_dataset(RUNS_DIR).steps
    keys = episode_keys(steps)
    expected = sorted({(r["model"], r["task"], r["run"]) for r in records})
    assert list(keys.itertuples(index=False, name=None)) == expected
    pd.testing.assert_frame_equal(
        keys, steps[["model", "task", "run"]].drop_duplicates().reset_index(drop=True))


def test_episodes_edge_cases() -> None:
    log = pd.DataFrame({
        "model": ["a", "a", "a", "b", "b", "b"], "task": "t", "run": 1,
        "step": [1, 3, 4, 1, 2, 5],  # gaps are allowed: position uses (step - first) / span
        "action": ["plan_step", "plan_step", "commit", "edit_file", "run_tests", "commit"],
        "reward": [1.0, 0.5, 0.0, 0.0, 0.0, 0.0],
        "tests_passed": [0, 2, 2, 0, 1, 1], "tests_total": [2, 2, 2, 0, 1, 1],
    })
    single = pd.DataFrame({"model": "c", "task": "t", "run": 1, "step": [1],
                           "action": ["commit"], "reward": [0.3], "tests_passed": [0],
                           "tests_total": [0]})
    table = episodes(pd.concat([log, single], ignore_index=True)).set_index("model")
    # a: positions 0, 2/3, 1 with rewards 1, 0.5, 0: slope by least squares = -1.0714...
    x, y = np.array([0, 2 / 3, 1]), np.array([1.0, 0.5, 0.0])
    slope = ((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()
    assert table.loc["a", "reward_slope"] == pytest.approx(slope, abs=1e-12)
    assert table.loc["a", "planning_depth"] == 2 and table.loc["b", "planning_depth"] == 0
    assert table.loc["a", "first_full_pass_step"] == 3
    assert table.loc["b", "first_full_pass_step"] == 2  # tests_total 0 at step 1 does not count
    assert table.loc["b", "reward_slope"] == 0.0
    assert math.isnan(table.loc["c", "reward_slope"])  # one step: no slope
    assert math.isnan(table.loc["c", "first_full_pass_step"])
    no_tests = episodes(log.drop(columns=["tests_passed", "tests_total"]))
    assert no_tests["first_full_pass_step"].isna().all()


def test_reward_curves_by_hand() -> None:
    tasks = pd.DataFrame({"task": ["t"], "difficulty": ["easy"]})
    log = pd.DataFrame({"model": ["a"] * 3 + ["b"] * 5, "task": "t", "run": 1,
                        "step": [1, 2, 3, 1, 2, 3, 4, 5], "action": "edit_file",
                        "reward": [1.0, 1.0, 1.0, 2.0, 0.0, 0.0, 0.0, 2.0]})
    curves = reward_curves(log, tasks, bins=2)
    # a: positions 0, .5, 1 -> bins 0, 1, 1; cumulative 1, 2, 3 -> bin means 1 and 2.5.
    # b: positions 0, .25, .5, .75, 1 -> bins 0, 0, 1, 1, 1; cumulative 2, 2, 2, 2, 4
    #    -> bin means 2 and 8/3. Episodes weigh equally: (1 + 2) / 2 and (2.5 + 8/3) / 2.
    assert curves["position"].tolist() == [0.25, 0.75]
    assert curves["mean_cumulative_reward"].tolist() == pytest.approx([1.5, (2.5 + 8 / 3) / 2])
    assert curves["episodes"].tolist() == [2, 2]


# ----------------------------------------------------------------------------------------------
# The findings
# ----------------------------------------------------------------------------------------------
def corr_by_hand(x: list[float], y: list[float]) -> dict[str, Any]:
    r = pearson_by_hand(x, y)
    return {"n": len(x), "r": r, "p": t_test_p_by_hand(r, len(x)),
            "ci95": fisher_ci_by_hand(r, len(x))}


def check_corr(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert got["n"] == want["n"]
    assert got["r"] == pytest.approx(want["r"], abs=1e-12)
    assert got["p_value"] == pytest.approx(want["p"], abs=1e-9)
    assert got["ci95"] == pytest.approx(list(want["ci95"]), abs=1e-5)


def test_planning_depth_vs_success_by_hand(records: list[dict[str, Any]], raw_runs: dict
                                          ) -> None:
    finding = analyze(RUNS_DIR).finding("planning_depth_vs_success")
    stats = finding.statistics
    summaries = {k: summarise(v) for k, v in by_episode(records).items()}
    keys = sorted(summaries)
    depth = [float(summaries[k]["depth"]) for k in keys]
    score = [raw_runs[k]["score"] for k in keys]
    passed = [float(raw_runs[k]["passed"]) for k in keys]
    assert stats["episodes"] == 27 and stats["runs_without_steps"] == 0
    assert stats["planning_depth"] == {"mean": pytest.approx(sum(depth) / 27),
                                       "median": statistics.median(depth),
                                       "min": min(depth), "max": max(depth)}
    check_corr(stats["depth_vs_score"], corr_by_hand(depth, score))
    check_corr(stats["depth_vs_passed"], corr_by_hand(depth, passed))
    with open(RUNS_DIR / "tasks.csv", newline="", encoding="utf-8") as stream:
        level_of = {row["task"]: row["difficulty"] for row in csv.DictReader(stream)}
    tasks = sorted({k[1] for k in keys}, key=lambda t: (
        ["easy", "medium", "hard"].index(level_of[t]), t))  # by level, then name
    assert list(stats["within_task"]) == tasks
    for task in tasks:
        on_task = [k for k in keys if k[1] == task]
        check_corr(stats["within_task"][task],
                   corr_by_hand([depth[keys.index(k)] for k in on_task],
                                [score[keys.index(k)] for k in on_task]))
    # The correlation rule on depth_vs_passed, with the permutation p where it is computed.
    corr = stats["depth_vs_passed"]
    p = corr["p_permutation"] if corr["p_permutation"] is not None else corr["p_value"]
    if p < 0.05:
        assert finding.verdict == ("supported" if corr["r"] > 0 else "contradicted")
    else:
        assert finding.verdict == "inconclusive"
    assert "27 episodes" in finding.text and "not independent" in finding.text


def test_planning_depth_verdicts(make_data: MakeData) -> None:
    """Deeper planning with passing (supported), against it (contradicted), all pass (n/c)."""
    tasks = "task,difficulty,weight,pass_threshold\nt,easy,1.0,0.5\n"
    models = "model,params_b\nm,1\n"

    def folder(passes: list[bool], depths: list[int]) -> Path:
        rows = ["model,task,run,score,steps,test_pass,passed"]
        steps = []
        for run, (ok, depth) in enumerate(zip(passes, depths, strict=True), 1):
            rows.append(f"m,t,{run},{0.9 if ok else 0.1},{depth + 1},0.5,{str(ok).lower()}")
            actions = ["plan_step"] * depth + ["commit"]
            steps += [{"model": "m", "task": "t", "run": run, "step": i, "action": a,
                       "reward": 0.1} for i, a in enumerate(actions, 1)]
        path = make_data(results="\n".join(rows) + "\n", models=models, tasks=tasks)
        (path / "steps.jsonl").write_text("".join(json.dumps(s) + "\n" for s in steps))
        return path

    n = 12
    deep_pass = folder([i >= n / 2 for i in range(n)], list(range(n)))
    assert analyze(deep_pass).finding("planning_depth_vs_success").verdict == "supported"
    deep_fail = folder([i < n / 2 for i in range(n)], list(range(n)))
    assert analyze(deep_fail).finding("planning_depth_vs_success").verdict == "contradicted"
    all_pass = folder([True] * 4, [0, 1, 2, 3])
    finding = analyze(all_pass).finding("planning_depth_vs_success")
    assert finding.verdict == "not_computable"
    assert "undefined" in finding.verdict_reason


def test_reward_trajectories_by_hand(records: list[dict[str, Any]], difficulty: dict) -> None:
    finding = analyze(RUNS_DIR).finding("reward_trajectories")
    stats = finding.statistics
    assert finding.verdict == "descriptive"
    assert stats["episodes"] == 27 and stats["has_test_counts"] is True
    assert list(stats["by_difficulty"]) == ["easy", "medium", "hard"]
    levels: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for key, steps in by_episode(records).items():
        levels[difficulty[key[1]]].append(summarise(steps))
    for level, eps in levels.items():
        got = stats["by_difficulty"][level]
        totals = [e["total"] for e in eps]
        slopes = [e["slope"] for e in eps if e["slope"] is not None]
        full = [e["full"] for e in eps if e["full"] is not None]
        assert got["episodes"] == len(eps) == 9
        assert got["mean_total_reward"] == pytest.approx(statistics.mean(totals), abs=1e-12)
        assert got["sd_total_reward"] == pytest.approx(statistics.stdev(totals), abs=1e-12)
        assert got["mean_reward_slope"] == pytest.approx(statistics.mean(slopes), abs=1e-10)
        assert got["episodes_with_slope"] == len(slopes)
        assert got["declining_fraction"] == pytest.approx(
            sum(s < 0 for s in slopes) / len(slopes), abs=1e-12)
        assert got["episodes_with_full_pass"] == len(full)
        if full:
            assert got["steps_to_first_full_pass"] == statistics.median(full)
        else:
            assert got["steps_to_first_full_pass"] is None
    # The invented data penalise weak commits, so harder levels decline more often.
    fractions = [stats["by_difficulty"][lvl]["declining_fraction"]
                 for lvl in ("easy", "medium", "hard")]
    assert fractions == sorted(fractions) and fractions[-1] > 0


def test_not_computable_without_a_step_log(bundled: Any) -> None:
    result = analyze(bundled)
    for fid in ("planning_depth_vs_success", "reward_trajectories"):
        finding = result.finding(fid)
        assert finding.verdict == "not_computable"
        assert "steps.jsonl, steps.csv or steps.parquet" in finding.text
        assert finding.text.endswith("because the data folder has no step log.")


def test_step_figures_draw(tmp_path: Path) -> None:
    from teamforge_analysis import plots

    for data in (RUNS_DIR, None):
        result = analyze(data)
        for fid in ("score_components", "planning_depth_vs_success", "reward_trajectories"):
            figure = result.finding(fid).figure()
            if data is None:  # no components or step log: not computable, so no figure
                assert figure is None
                continue
            assert plots.png_bytes(figure).startswith(b"\x89PNG")
        png = plots.png_bytes(plots.leaderboard(result.uncertainty, result.dataset))
        assert png == plots.png_bytes(plots.leaderboard(result.uncertainty, result.dataset))


def test_json_numbers_in_text_columns_read_as_text(make_data: MakeData) -> None:
    folder = make_data(results="model,task,score,steps,test_pass,passed\n"
                               "5,t1,0.5,1,0.5,false\n",
                       models="model,params_b\n5,1\n",
                       tasks="task,difficulty,weight,pass_threshold\nt1,easy,1.0,0.7\n")
    (folder / "steps.jsonl").write_text(
        '{"model": 5, "task": "t1", "step": 1, "action": "commit", "reward": 1}\n',
        encoding="utf-8")
    steps = load_dataset(folder).steps  # model 5 (a JSON number) matches results.csv's "5"
    assert steps["model"].tolist() == ["5"]
