"""Repeated runs: combining a model's runs of a task into one (model, task) cell.

TeamForge runs every model several times per task. The published analysis kept the best of
3 runs, which inflates every score; this module offers both protocols:

``mean`` (the default)
    numeric columns are averaged over the cell's runs; the cell counts as passed when more
    than half of its runs with a ``passed`` flag passed (a cell without a flag in any run has
    none, and passes by its score against the task's threshold:
    :func:`~teamforge_analysis.scoring.cell_passes`).
``best``
    the cell is the run with the highest score (ties: the lowest run number), the seed's
    best-of-N protocol.

:func:`cell_scores` gives, per cell, the number of runs and the mean, best and sample standard
deviation of the score, from which :func:`~teamforge_analysis.scoring.leaderboard` computes the
standard error of each model's TeamForge score.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["AGGREGATES", "CELL_KEY", "aggregate_runs", "cell_scores"]

#: The ways runs can be combined.
AGGREGATES: tuple[str, ...] = ("mean", "best")
#: The key of a cell.
CELL_KEY: tuple[str, ...] = ("model", "task")


def _check_how(how: str) -> None:
    if how not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {', '.join(AGGREGATES)}, not {how!r}")


def aggregate_runs(runs: pd.DataFrame, *, how: str = "mean") -> pd.DataFrame:
    """One row per (model, task): the cell's runs combined by ``how``.

    Parameters
    ----------
    runs
        Run rows with ``model, task, run, score, passed`` and other numeric columns
        (``Dataset.runs``).
    how
        ``"mean"``: numeric columns averaged, passed when more than half the runs with a
        ``passed`` flag passed (missing when no run has one).
        ``"best"``: the run with the highest score; ties go to the lowest run number.

    Returns
    -------
    pandas.DataFrame
        The columns of ``runs`` without ``run``, one row per cell, sorted by model and task.
        When every cell has a single run, the rows are the runs themselves (same values and
        dtypes) under either protocol.

    Examples
    --------
    >>> runs = pd.DataFrame({"model": "m", "task": "t", "run": [1, 2, 3],
    ...                      "score": [0.4, 0.8, 0.8], "steps": [10, 12, 20],
    ...                      "passed": [False, True, True]})
    >>> aggregate_runs(runs).to_dict("records")
    [{'model': 'm', 'task': 't', 'score': 0.6666666666666666, 'steps': 14.0, 'passed': True}]
    >>> aggregate_runs(runs, how="best").to_dict("records")
    [{'model': 'm', 'task': 't', 'score': 0.8, 'steps': 12, 'passed': True}]
    """
    _check_how(how)
    keys = list(CELL_KEY)
    values = [c for c in runs.columns if c not in (*keys, "run")]
    grouped = runs.groupby(keys, sort=True)
    if grouped.ngroups == len(runs):  # one run per cell: the runs are the cells
        # (in key order: a stable sort of the group numbers, which are in key order)
        order = np.argsort(grouped.ngroup().to_numpy(), kind="stable")
        return runs[[*keys, *values]].take(order).reset_index(drop=True)
    if how == "best":
        score = runs["score"]
        best_score = grouped["score"].transform("max")
        # The runs with their cell's highest score (every run of a cell without scores), and
        # of those the lowest run: the same whatever order the rows come in.
        top = runs.loc[(score == best_score) | best_score.isna(), [*keys, "run"]]
        best = top.groupby(keys, sort=True)["run"].idxmin().to_numpy()
        return runs.loc[best, [*keys, *values]].reset_index(drop=True)
    # A cell's runs are summed in row order (Dataset.runs: run order), so the same rows give
    # the same means. The pass flag is averaged too: its mean is the share of runs passed.
    out = grouped[[c for c in values if pd.api.types.is_numeric_dtype(runs[c])]].mean()
    if "passed" in out:
        # More than half of the runs with a flag passed. A cell with no flag in any run keeps
        # its flag missing (not "failed"), so that cell_passes falls back to its score against
        # the task's pass_threshold, as for data without a passed column.
        share = out["passed"]
        flag = (share > 0.5).astype("boolean").mask(share.isna())
        out["passed"] = flag.astype(runs["passed"].dtype)
    out = _keys_as_in(out.reset_index(), runs, keys)
    return out[[*keys, *[c for c in values if c in out.columns]]]


def cell_scores(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (model, task) cell: ``runs``, ``score_mean``, ``score_best`` and ``score_sd``.

    ``score_sd`` is the sample standard deviation (ddof = 1) of the cell's run scores, NaN for
    a cell with one run.

    Examples
    --------
    >>> runs = pd.DataFrame({"model": "m", "task": "t", "run": [1, 2, 3],
    ...                      "score": [0.5, 0.7, 0.9]})
    >>> cell_scores(runs).round(6).to_dict("records")
    [{'model': 'm', 'task': 't', 'runs': 3, 'score_mean': 0.7, 'score_best': 0.9, 'score_sd': 0.2}]
    """
    keys = list(CELL_KEY)
    out = runs.groupby(keys, sort=True)["score"].agg(
        runs="size", score_mean="mean", score_best="max", score_sd="std")
    out["runs"] = out["runs"].astype(np.int64)
    return _keys_as_in(out.reset_index(), runs, keys)


def _keys_as_in(out: pd.DataFrame, frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """``out`` with its key columns of ``frame``'s dtypes (groupby makes object keys str; the
    Dataset contract keeps text as object)."""
    return out.astype({k: frame[k].dtype for k in keys})
