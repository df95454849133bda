"""Step logs: one row per agent step of every episode (one run of one model on one task).

A data folder may hold one step log: ``steps.jsonl`` (one JSON object per line),
``steps.csv`` or ``steps.parquet`` (read with pyarrow, the ``parquet`` extra), with the
columns of :data:`STEP_COLUMNS` (``data/README.md`` describes them). It is read and checked
with the other files (:mod:`.io`, :mod:`.validate`); a Parquet file's *line* is its row
number + 1. :func:`episodes` summarises the log per episode and :func:`reward_curves` gives
mean cumulative reward against scaled step position, and :func:`reward_bands` the mean of
every episode's cumulative reward interpolated onto one grid with a 95% band; all vectorised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import schema
from .io import STEP_LOG_NAMES, find_step_log, read_input
from .schema import ACTIONS, EPISODE_KEY, PHASES, RUN_COLUMN
from .validate import DataValidationError, Input, Problem, check, tidy

if TYPE_CHECKING:
    from .dataset import Dataset

__all__ = [
    "ACTIONS", "EPISODE_KEY", "EPISODE_SUMMARIES", "PHASES", "STEP_COLUMNS", "STEP_LOG_NAMES",
    "dataset_episodes", "episode_keys", "episodes", "find_step_log", "load_step_log",
    "reward_bands", "reward_curves", "tidy_steps",
]

#: Columns of the step frame, in order (optional ones are filled with missing values).
STEP_COLUMNS: tuple[str, ...] = tuple(c.name for c in schema.STEPS.columns)


def load_step_log(path: str | Path, *, results: pd.DataFrame | None = None) -> pd.DataFrame:
    """Load and check one step log file on its own.

    Parameters
    ----------
    path
        A ``.jsonl``, ``.csv`` or ``.parquet`` file.
    results
        Optional results frame (with or without a ``run`` column) to check episodes against.

    Returns
    -------
    pandas.DataFrame
        The tidy step frame (:data:`STEP_COLUMNS`, sorted by model, task, run, step).

    Raises
    ------
    DataValidationError
        With every problem found.
    """
    file = Path(path)
    if file.suffix not in (".jsonl", ".csv", ".parquet"):
        raise DataValidationError([Problem(file.name, "is not a .jsonl, .csv or .parquet file")])
    if not file.exists():
        raise DataValidationError([Problem(file.name, "does not exist")])
    inp, problems, _ = read_input(file, schema.STEPS)
    if inp is not None:
        given = [] if results is None else [Input.of_frame(schema.RESULTS, results)]
        problems += [p for p in check([*given, inp])[0] if p.file == file.name]
    if problems:
        raise DataValidationError(problems)
    return tidy_steps(inp.frame)


def tidy_steps(frame: pd.DataFrame) -> pd.DataFrame:
    """Declared columns in order (optional ones missing-filled), sorted by model, task, run,
    step."""
    frame = frame if RUN_COLUMN in frame else frame.assign(**{RUN_COLUMN: 1})
    return tidy(frame.sort_values([*EPISODE_KEY, "step"], kind="stable"), None, schema.STEPS)


# ----------------------------------------------------------------------------------------------
# Per-episode summaries
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Episodes:
    """Episode number of every step of a sorted step frame, and each episode's extent."""

    starts: np.ndarray  # bool per step: the first step of its episode
    code: np.ndarray  # episode number per step, 0, 1, ...
    count: int
    n_steps: np.ndarray  # per episode
    first: np.ndarray  # first step number, per episode
    last: np.ndarray  # last step number, per episode

    def position(self, step: np.ndarray, *, single: float) -> np.ndarray:
        """(step − first) / (last − first) per step; ``single`` for one-step episodes."""
        span = self.last - self.first
        spread = span > 0
        # In place on one new array (millions of steps): the same operations, the same bits.
        position = self.first[self.code]
        np.subtract(step, position, out=position)
        np.divide(position, np.where(spread, span, 1.0)[self.code], out=position)
        if not spread.all():
            position[~spread[self.code]] = single
        return position


def _episode_starts(steps: pd.DataFrame) -> np.ndarray:
    """Per step, whether it is its episode's first (the frame is sorted by episode, so an
    episode starts wherever a key changes)."""
    starts = np.zeros(len(steps), dtype=bool)
    starts[:1] = True
    if len(steps) > 1:
        # Column by column: one array of the three keys would be an object array.
        for key in EPISODE_KEY:
            values = steps[key].to_numpy()
            starts[1:] |= values[1:] != values[:-1]
    return starts


def episode_keys(steps: pd.DataFrame) -> pd.DataFrame:
    """The episodes of a tidy step frame: ``model, task, run``, one row each, in order.

    The rows of ``steps[["model", "task", "run"]].drop_duplicates()`` for a frame sorted by
    model, task, run, step (as ``Dataset.steps`` is), found by comparing neighbouring rows
    rather than by hashing every step's keys.

    Examples
    --------
    >>> log = pd.DataFrame({"model": "m", "task": ["t", "t", "u"], "run": 1,
    ...                     "step": [1, 2, 1]})
    >>> episode_keys(log).to_dict("records")
    [{'model': 'm', 'task': 't', 'run': 1}, {'model': 'm', 'task': 'u', 'run': 1}]
    """
    return steps.loc[_episode_starts(steps), list(EPISODE_KEY)].reset_index(drop=True)


def _episodes_of(steps: pd.DataFrame) -> _Episodes:
    """The episodes of a tidy step frame."""
    starts = _episode_starts(steps)
    code = np.cumsum(starts, dtype=np.intp)
    code -= 1
    first_rows = np.flatnonzero(starts)
    count = len(first_rows)
    step = steps["step"].to_numpy(dtype=float)
    # Episodes are runs of rows (a new number at each key change): reduce each run.
    first = np.minimum.reduceat(step, first_rows) if count else np.empty(0)
    last = np.maximum.reduceat(step, first_rows) if count else np.empty(0)
    n_steps = np.diff(np.append(first_rows, len(steps)))
    return _Episodes(starts, code, count, n_steps, first, last)


#: The per-episode summaries :func:`episodes` can compute.
EPISODE_SUMMARIES: tuple[str, ...] = (
    "planning_depth", "total_reward", "reward_slope", "first_full_pass_step")


def episodes(steps: pd.DataFrame, runs: pd.DataFrame | None = None,
             tasks: pd.DataFrame | None = None, *,
             summaries: Sequence[str] = EPISODE_SUMMARIES) -> pd.DataFrame:
    """One row per episode of a tidy step frame, with what the step-log findings use.

    Parameters
    ----------
    steps
        A tidy step frame (``Dataset.steps``), sorted by model, task, run, step.
    runs
        Optional run rows (``Dataset.runs``) to add each episode's ``score`` and ``passed``.
    tasks
        Optional tasks frame to add each episode's ``difficulty``.
    summaries
        Which of :data:`EPISODE_SUMMARIES` to compute (default: all); on millions of steps,
        leaving out what is not needed saves a pass or several over the steps.

    Returns
    -------
    pandas.DataFrame
        ``model, task, run``, ``n_steps``, ``first_step``, ``last_step``, ``planning_depth``
        (number of plan_step actions, 0 when none), ``total_reward`` (sum of rewards),
        ``reward_slope`` (least-squares slope of reward against the position
        (step − first) / (last − first); NaN for one-step episodes), ``first_full_pass_step``
        (first step with tests_passed = tests_total > 0; NaN when never), then ``score``,
        ``passed`` and ``difficulty`` when ``runs`` and ``tasks`` are given. (Only the
        ``summaries`` asked for, in this order.)

    Examples
    --------
    >>> log = pd.DataFrame({"model": "m", "task": "t", "run": 1, "step": [1, 2, 3],
    ...                     "action": ["plan_step", "edit_file", "commit"],
    ...                     "reward": [0.0, 0.5, 1.0], "tests_passed": [0, 2, 3],
    ...                     "tests_total": [3, 3, 3]})
    >>> episodes(log)[["planning_depth", "total_reward", "reward_slope",
    ...                "first_full_pass_step"]].to_dict("records")
    [{'planning_depth': 1, 'total_reward': 1.5, 'reward_slope': 1.0, 'first_full_pass_step': 3.0}]
    """
    return _episode_table(steps, _episodes_of(steps), runs, tasks, summaries=summaries)


def _episode_table(steps: pd.DataFrame, ep: _Episodes, runs: pd.DataFrame | None = None,
                   tasks: pd.DataFrame | None = None, *,
                   summaries: Sequence[str] = EPISODE_SUMMARIES) -> pd.DataFrame:
    """:func:`episodes` with the episodes of ``steps`` already found (``_episodes_of``)."""
    unknown = sorted(set(summaries) - set(EPISODE_SUMMARIES))
    if unknown:
        raise ValueError(f"unknown episode summaries {unknown}; choose from "
                         f"{', '.join(EPISODE_SUMMARIES)}")
    keys = list(EPISODE_KEY)
    out = steps.loc[ep.starts, keys].reset_index(drop=True)
    out["n_steps"] = ep.n_steps.astype(np.int64)
    out["first_step"] = ep.first.astype(np.int64)
    out["last_step"] = ep.last.astype(np.int64)
    computed = {"planning_depth": _planning_depth, "total_reward": _total_reward,
                "reward_slope": _reward_slope, "first_full_pass_step": _first_full_pass_step}
    for name in EPISODE_SUMMARIES:
        if name in summaries:
            out[name] = computed[name](steps, ep)
    if runs is not None:
        out = _with_run_results(out, runs[[*keys, "score", "passed"]])
    if tasks is not None:
        out["difficulty"] = out["task"].map(tasks.set_index("task")["difficulty"])
    return out


def dataset_episodes(dataset: Dataset, *, with_runs: bool = False, with_tasks: bool = False,
                     summaries: Sequence[str] = EPISODE_SUMMARIES) -> pd.DataFrame:
    """:func:`episodes` of ``dataset.steps`` (which must be present), with its runs' score
    and passed (``with_runs``) and its tasks' difficulty (``with_tasks``); the episodes are
    found from the sorted steps by comparing neighbouring rows."""
    assert dataset.steps is not None
    return _episode_table(dataset.steps, _episodes_of(dataset.steps),
                          dataset.runs if with_runs else None,
                          dataset.tasks if with_tasks else None, summaries=summaries)


def _with_run_results(table: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """``table`` (one row per episode) with each episode's run's score and passed: a left
    merge on the episode key, or, when every run has steps and both are in key order (as
    Dataset.runs and a tidy step log are), the same columns side by side."""
    keys = list(EPISODE_KEY)
    if len(runs) == len(table) and all(
            np.array_equal(table[k].to_numpy(), runs[k].to_numpy()) for k in keys):
        return table.assign(score=runs["score"].to_numpy(), passed=runs["passed"].to_numpy())
    return table.merge(runs, on=keys, how="left", validate="1:1")


def _planning_depth(steps: pd.DataFrame, ep: _Episodes) -> np.ndarray:
    # (numpy's == on the object array: pandas' is several times slower on millions of rows)
    is_plan = steps["action"].to_numpy() == "plan_step"
    # Counted from the plan steps' episode numbers (no per-step weights to convert and sum).
    return np.bincount(ep.code[is_plan], minlength=ep.count).astype(np.int64, copy=False)


def _total_reward(steps: pd.DataFrame, ep: _Episodes) -> np.ndarray:
    return np.bincount(ep.code, steps["reward"].to_numpy(dtype=float), ep.count)


def _reward_slope(steps: pd.DataFrame, ep: _Episodes) -> np.ndarray:
    episode, n_episodes, n_steps = ep.code, ep.count, ep.n_steps
    reward = steps["reward"].to_numpy(dtype=float)
    position = ep.position(steps["step"].to_numpy(dtype=float), single=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_position = np.bincount(episode, position, n_episodes) / n_steps
        mean_reward = np.bincount(episode, reward, n_episodes) / n_steps
        # dx = position - mean, dy = reward - mean, then dx * dy and dx * dx, each made in
        # place over a step-long array (the same operations as new arrays, fewer pages).
        dx = np.subtract(position, mean_position[episode], out=position)
        dy = mean_reward[episode]
        np.subtract(reward, dy, out=dy)
        sxy = np.bincount(episode, np.multiply(dx, dy, out=dy), n_episodes)
        sxx = np.bincount(episode, np.multiply(dx, dx, out=dy), n_episodes)
        # One-step episodes have no slope (missing).
        return pd.Series(sxy / np.where(sxx > 0, sxx, 1)).where(n_steps >= 2).to_numpy()


def _first_full_pass_step(steps: pd.DataFrame, ep: _Episodes) -> np.ndarray:
    full_pass_step = np.full(ep.count, np.inf)
    if "tests_passed" in steps and "tests_total" in steps:
        step = steps["step"].to_numpy(dtype=float)
        passed_tests = steps["tests_passed"].to_numpy(dtype=float)
        total_tests = steps["tests_total"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            full = (total_tests > 0) & (passed_tests == total_tests)
        np.minimum.at(full_pass_step, ep.code[full], step[full])
    # Episodes that never pass every test have no such step (missing).
    return pd.Series(full_pass_step).where(np.isfinite(full_pass_step)).to_numpy()


def reward_curves(steps: pd.DataFrame, tasks: pd.DataFrame, *, bins: int = 10) -> pd.DataFrame:
    """Mean cumulative reward against scaled step position, per difficulty level.

    Each step's position in its episode is (step − first) / (last − first), in [0, 1] (a
    one-step episode sits at 1). Positions are cut into ``bins`` equal bins; within a bin each
    episode contributes the mean of its cumulative reward there, and episodes are averaged
    with equal weight (long episodes do not count more).

    Returns
    -------
    pandas.DataFrame
        Long form: ``difficulty``, ``position`` (bin centre), ``mean_cumulative_reward``,
        ``episodes`` (how many episodes have a step in the bin).

    Examples
    --------
    >>> log = pd.DataFrame({"model": "m", "task": "t", "run": 1, "step": [1, 2, 3],
    ...                     "action": "edit_file", "reward": [1.0, 1.0, 1.0]})
    >>> tasks = pd.DataFrame({"task": ["t"], "difficulty": ["easy"]})
    >>> reward_curves(log, tasks, bins=2)["mean_cumulative_reward"].tolist()
    [1.0, 2.5]
    """
    ep = _episodes_of(steps)
    episode = ep.code
    position = ep.position(steps["step"].to_numpy(dtype=float), single=1.0)
    cumulative = pd.Series(steps["reward"].to_numpy(dtype=float)).groupby(episode).cumsum()
    bin_index = np.minimum((position * bins).astype(np.int64), bins - 1)
    difficulty = steps["task"].map(tasks.set_index("task")["difficulty"]).to_numpy()
    per_episode = pd.DataFrame({"difficulty": difficulty, "episode": episode, "bin": bin_index,
                                "cumulative": cumulative.to_numpy()})
    per_episode = per_episode.groupby(["difficulty", "episode", "bin"], sort=False)[
        "cumulative"].mean().reset_index()
    curves = per_episode.groupby(["difficulty", "bin"], sort=True)["cumulative"].agg(
        ["mean", "size"]).reset_index()
    return pd.DataFrame({
        "difficulty": curves["difficulty"].astype(object),
        "position": (curves["bin"].to_numpy() + 0.5) / bins,
        "mean_cumulative_reward": curves["mean"].to_numpy(dtype=float),
        "episodes": curves["size"].to_numpy(dtype=np.int64),
    })


def reward_bands(steps: pd.DataFrame, tasks: pd.DataFrame, *, points: int = 51) -> pd.DataFrame:
    """Mean cumulative reward of the same episodes at every position, with a 95% t-band.

    Each episode's cumulative reward is interpolated linearly onto one grid of ``points``
    positions from 0 to 1 (position = (step − first) / (last − first); a one-step episode is
    constant at its reward), then averaged over the level's episodes. Unlike
    :func:`reward_curves`' bins, every grid point averages every episode of the level, so the
    curve's changes are changes of the episodes, not of which episodes fall in a bin, and its
    last point is the mean final total reward.

    Returns
    -------
    pandas.DataFrame
        Long form, levels in the order of first appearance in ``steps``: ``difficulty``,
        ``position``, ``mean_cumulative_reward``, ``ci_low``, ``ci_high`` (mean ± t₀.₉₇₅,n−1 ×
        SD / √n; missing for a single episode) and ``episodes``.

    Examples
    --------
    >>> log = pd.DataFrame({"model": "m", "task": "t", "run": [1, 1, 2, 2],
    ...                     "step": [1, 2, 1, 2], "action": "edit_file",
    ...                     "reward": [1.0, 1.0, 0.0, 2.0]})
    >>> tasks = pd.DataFrame({"task": ["t"], "difficulty": ["easy"]})
    >>> reward_bands(log, tasks, points=3)["mean_cumulative_reward"].tolist()
    [0.5, 1.25, 2.0]
    """
    from scipy import stats

    ep = _episodes_of(steps)
    grid = np.linspace(0.0, 1.0, points)
    value = _interpolated_cumulative(steps, ep, grid)  # episodes x points
    level_of_task = tasks.set_index("task")["difficulty"]
    level = steps["task"].to_numpy()[ep.starts]
    level = pd.Series(level).map(level_of_task).to_numpy()
    frames = []
    for name in pd.unique(level):
        rows = value[level == name]
        n = len(rows)
        mean = rows.mean(axis=0)
        if n > 1:
            half = stats.t.ppf(0.975, n - 1) * rows.std(axis=0, ddof=1) / np.sqrt(n)
        else:
            half = pd.Series([None] * points, dtype=float).to_numpy()  # missing: no spread
        frames.append(pd.DataFrame({
            "difficulty": name, "position": grid, "mean_cumulative_reward": mean,
            "ci_low": mean - half, "ci_high": mean + half, "episodes": n}))
    columns = ["difficulty", "position", "mean_cumulative_reward", "ci_low", "ci_high",
               "episodes"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def _interpolated_cumulative(steps: pd.DataFrame, ep: _Episodes, grid: np.ndarray
                             ) -> np.ndarray:
    """Every episode's cumulative reward at each grid position (episodes × grid), linear
    between its steps, found for all episodes at once by one sorted search."""
    position = ep.position(steps["step"].to_numpy(dtype=float), single=1.0)
    cumulative = pd.Series(steps["reward"].to_numpy(dtype=float)).groupby(
        ep.code).cumsum().to_numpy()
    # Positions lie in [0, 1], so episode number x 2 + position orders the steps by episode,
    # then position: one searchsorted finds every (episode, grid point)'s neighbouring steps.
    key = ep.code * 2.0 + position
    episode = np.repeat(np.arange(ep.count), len(grid))
    query = episode * 2.0 + np.tile(grid, ep.count)
    right = np.searchsorted(key, query, side="right")
    left = right - 1
    n = len(key)
    has_left = (left >= 0) & (ep.code[np.clip(left, 0, n - 1)] == episode)
    has_right = (right < n) & (ep.code[np.clip(right, 0, n - 1)] == episode)
    left_c, right_c = np.clip(left, 0, n - 1), np.clip(right, 0, n - 1)
    span = position[right_c] - position[left_c]
    both = has_left & has_right & (span > 0)
    weight = np.where(both, (query - key[left_c]) / np.where(both, span, 1.0), 0.0)
    value = np.where(has_left, cumulative[left_c], cumulative[right_c])
    value = np.where(both, cumulative[left_c] + weight * (cumulative[right_c]
                                                          - cumulative[left_c]), value)
    return value.reshape(ep.count, len(grid))
