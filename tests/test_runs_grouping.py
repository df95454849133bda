"""runs.py groups rows by integer cell ids when they are in key order, and lets pandas group
them otherwise. These property tests compare both with pandas' own sort_values and groupby
on random frames (invented values), including unsorted rows, repeated keys, missing keys
(None and NaN) and keys of mixed kinds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from teamforge_analysis.io import Dataset, load_dataset
from teamforge_analysis.runs import _cell_scores, aggregate_runs, cell_scores, sort_by_keys

RUNS_BENCHMARK = Path(__file__).parent / "data" / "runs_benchmark"  # invented test data

SETTINGS = settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow],
                    deadline=None)
NAMES = st.sampled_from(["a", "b", "c", "bb", "é"])
ODD_NAMES = st.one_of(NAMES, st.none(), st.just(float("nan")), st.just(3))


@st.composite
def run_frames(draw, names=NAMES, sort: bool | None = None) -> pd.DataFrame:
    n = draw(st.integers(1, 25))
    rows = [
        {"model": draw(names), "task": draw(names), "run": draw(st.integers(1, 3)),
         "score": draw(st.sampled_from([0.0, 0.1, 0.25, 0.7, 0.7, 1.0])),
         "steps": draw(st.integers(0, 40)), "passed": draw(st.booleans())}
        for _ in range(n)
    ]
    frame = pd.DataFrame(rows).astype({"model": object, "task": object})
    if sort if sort is not None else draw(st.booleans()):
        frame = frame.sort_values(["model", "task", "run"], kind="stable")
    return frame.reset_index(drop=True)


def with_object_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """pandas' groupby gives its key columns the str dtype; the library keeps text as object
    (the Dataset contract)."""
    return frame.astype({"model": object, "task": object})


def reference_sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


@SETTINGS
@given(frame=run_frames(names=ODD_NAMES), keys=st.sampled_from(
    [["model"], ["model", "task"], ["model", "task", "run"], ["task", "run"]]))
def test_sort_by_keys_is_sort_values(frame: pd.DataFrame, keys: list[str]) -> None:
    try:
        expected = reference_sorted(frame, keys)
    except TypeError:  # pandas cannot order mixed kinds either
        return
    pd.testing.assert_frame_equal(sort_by_keys(frame, keys), expected, check_exact=True)


@SETTINGS
@given(frame=run_frames())
def test_aggregate_mean_is_pandas_groupby(frame: pd.DataFrame) -> None:
    ordered = reference_sorted(frame, ["model", "task", "run"])
    grouped = ordered.groupby(["model", "task"], sort=True)
    expected = grouped[["score", "steps"]].mean()
    counts = grouped["passed"].agg(["sum", "count"])
    expected["passed"] = (2 * counts["sum"] > counts["count"]).to_numpy()
    expected = with_object_keys(expected.reset_index())
    got = aggregate_runs(frame)
    if not ordered.duplicated(["model", "task"]).any():  # single runs: the rows themselves
        expected = ordered.drop(columns="run")
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


@SETTINGS
@given(frame=run_frames(sort=True), data=st.data())
def test_aggregate_mean_of_any_numbers_is_pandas_groupby(frame: pd.DataFrame, data) -> None:
    """Cell means by sums over sorted rows: pandas' numbers, for scores of any digits,
    missing scores (skipped, as pandas does) and large whole numbers."""
    n = len(frame)
    frame["score"] = data.draw(st.lists(
        st.one_of(st.floats(0, 1), st.just(float("nan"))), min_size=n, max_size=n))
    frame["steps"] = data.draw(st.lists(st.integers(0, 2**40), min_size=n, max_size=n))
    grouped = frame.groupby(["model", "task"], sort=True)
    expected = grouped[["score", "steps"]].mean()
    counts = grouped["passed"].agg(["sum", "count"])
    expected["passed"] = (2 * counts["sum"] > counts["count"]).to_numpy()
    expected = with_object_keys(expected.reset_index())
    if not frame.duplicated(["model", "task"]).any():  # single runs: the rows themselves
        expected = frame.drop(columns="run")
    pd.testing.assert_frame_equal(aggregate_runs(frame), expected, check_exact=True)


@SETTINGS
@given(frame=run_frames())
def test_aggregate_best_is_highest_score_then_lowest_run(frame: pd.DataFrame) -> None:
    got = aggregate_runs(frame, how="best")
    ordered = frame.sort_values(["model", "task", "score", "run"],
                                ascending=[True, True, False, True], kind="stable")
    expected = ordered.drop_duplicates(["model", "task"]).drop(columns="run")
    pd.testing.assert_frame_equal(got, expected.reset_index(drop=True), check_exact=True)


@SETTINGS
@given(frame=run_frames(names=ODD_NAMES.filter(lambda v: not isinstance(v, int))))
def test_cell_scores_is_pandas_groupby(frame: pd.DataFrame) -> None:
    expected = frame.groupby(["model", "task"], sort=True)["score"].agg(
        runs="size", score_mean="mean", score_best="max", score_sd="std")
    expected["runs"] = expected["runs"].astype(np.int64)
    expected = with_object_keys(expected.reset_index())
    for rows in (frame, reference_sorted(frame, ["model", "task", "run"])):
        got = cell_scores(rows)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)


@SETTINGS
@given(frame=run_frames(sort=True), data=st.data())
def test_cell_scores_of_any_scores_is_pandas_groupby(frame: pd.DataFrame, data) -> None:
    """Sizes, means, bests and standard deviations by sums over sorted rows and Welford's
    updates: pandas' numbers exactly, for scores of any digits and missing scores."""
    n = len(frame)
    frame["score"] = data.draw(st.lists(
        st.one_of(st.floats(0, 1), st.floats(0, 1e-300), st.just(float("nan"))),
        min_size=n, max_size=n))
    expected = frame.groupby(["model", "task"], sort=True)["score"].agg(
        runs="size", score_mean="mean", score_best="max", score_sd="std")
    expected["runs"] = expected["runs"].astype(np.int64)
    expected = with_object_keys(expected.reset_index())
    pd.testing.assert_frame_equal(cell_scores(frame), expected, check_exact=True)


@SETTINGS
@given(sizes=st.lists(st.integers(1, 60), min_size=1, max_size=6), seed=st.integers(0, 2**32 - 1))
def test_cell_scores_of_long_cells_is_pandas_groupby(sizes: list[int], seed: int) -> None:
    """Cells of up to 60 runs each (Welford's updates over many steps, cells of unequal
    length): pandas' numbers exactly."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "model": np.repeat([f"m{i}" for i in range(len(sizes))], sizes),
        "task": "t",
        "run": np.concatenate([np.arange(1, k + 1) for k in sizes]),
        "score": rng.random(sum(sizes)) ** 3,
    }).astype({"model": object, "task": object})
    expected = frame.groupby(["model", "task"], sort=True)["score"].agg(
        runs="size", score_mean="mean", score_best="max", score_sd="std")
    expected["runs"] = expected["runs"].astype(np.int64)
    expected = with_object_keys(expected.reset_index())
    pd.testing.assert_frame_equal(cell_scores(frame), expected, check_exact=True)


@pytest.mark.parametrize("folder", [None, RUNS_BENCHMARK], ids=["bundled", "runs_benchmark"])
def test_run_cells_are_pandas_groups(folder: Path | None) -> None:
    """Dataset.run_cells: each run row's group number and each group's first row, as pandas'
    groupby numbers the (model, task) groups of the run rows."""
    dataset = load_dataset(folder)
    grouped = dataset.runs.groupby(["model", "task"], sort=True)
    cells = dataset.run_cells
    assert cells is not None
    cell, first = cells
    np.testing.assert_array_equal(cell, grouped.ngroup().to_numpy())
    np.testing.assert_array_equal(first, grouped.head(1).index.to_numpy())
    # The same cells as results' rows, and with_aggregate agrees with aggregate_runs.
    assert len(first) == len(dataset.results)
    other = "best" if dataset.aggregate == "mean" else "mean"
    pd.testing.assert_frame_equal(dataset.with_aggregate(other).results,
                                  aggregate_runs(dataset.runs, how=other), check_exact=True)


@SETTINGS
@given(frame=run_frames())
def test_run_cells_of_a_hand_made_dataset(frame: pd.DataFrame) -> None:
    """A Dataset made by hand with runs in any order: run_cells only when runs are sorted, and
    the leaderboard's cell scores do not depend on it."""
    results = aggregate_runs(frame)
    dataset = Dataset("hand", results, pd.DataFrame({"model": []}), pd.DataFrame({"task": []}),
                      {}, runs=frame)
    in_order = frame.equals(reference_sorted(frame, ["model", "task", "run"]))
    assert (dataset.run_cells is not None) == in_order
    if dataset.run_cells is not None:
        pd.testing.assert_frame_equal(_cell_scores(frame, dataset.run_cells),
                                      cell_scores(frame), check_exact=True)
