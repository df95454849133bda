"""The TeamForge leaderboard: weighted score per model, rank, per-task scores, tasks passed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .io import Dataset

__all__ = ["RANK_DECIMALS", "leaderboard", "score_matrix"]

#: Scores are compared for ranking after rounding to this many decimals, so that two models
#: whose weighted sums differ only by floating-point noise share a rank.
RANK_DECIMALS = 12


def score_matrix(dataset: Dataset, value: str = "score") -> pd.DataFrame:
    """Wide table of ``value`` by model (rows) and task (columns); missing cells are NaN.

    Columns follow tasks.csv's order (sorted by task name); rows are sorted by model.
    """
    wide = dataset.results.pivot(index="model", columns="task", values=value)
    return wide.reindex(columns=list(dataset.tasks["task"])).sort_index()


def leaderboard(dataset: Dataset) -> pd.DataFrame:
    """Rank models by TeamForge score, Σ weight × score over tasks.

    Parameters
    ----------
    dataset
        A loaded data folder.

    Returns
    -------
    pandas.DataFrame
        One row per model, best first: ``rank`` (nullable Int64; ties share the lower rank and
        are listed by name; models with a null score get rank <NA> and come last),
        ``model``, ``teamforge_score`` (NaN, shown as null, when any task is missing),
        one column per task with that task's score, ``tasks_passed`` and ``missing_tasks``
        (a list of task names).

    Examples
    --------
    >>> from teamforge_analysis.io import load_dataset
    >>> board = leaderboard(load_dataset())
    >>> int(board.loc[0, "rank"]), board.loc[0, "model"]
    (1, 'llama3-70b-8192')
    >>> round(board.loc[0, "teamforge_score"], 5)
    np.float64(0.74015)
    """
    tasks = list(dataset.tasks["task"])
    scores = score_matrix(dataset)
    weights = dataset.tasks.set_index("task")["weight"].reindex(tasks).to_numpy()
    values = scores.to_numpy(dtype=float)
    complete = ~np.isnan(values).any(axis=1)
    # A model missing any task has no TeamForge score (missing, reported as null).
    weighted = pd.Series(scores.fillna(0.0).to_numpy() @ weights).where(complete).to_numpy()

    passed = dataset.results.groupby("model")["passed"].sum().reindex(scores.index)
    missing = scores.isna().to_numpy()
    task_names = np.asarray(tasks, dtype=object)
    # Built in one go: adding one column per task would fragment the frame.
    board = pd.DataFrame(
        {
            "model": scores.index.to_numpy(dtype=object),
            "teamforge_score": weighted,
            **{task: values[:, i] for i, task in enumerate(tasks)},
            "tasks_passed": passed.to_numpy(dtype="int64"),
            "missing_tasks": [list(task_names[row]) for row in missing],
        }
    )

    rank_key = board["teamforge_score"].round(RANK_DECIMALS)
    board["rank"] = rank_key.rank(method="min", ascending=False).astype("Int64")
    board = board.assign(_key=-rank_key.fillna(-np.inf))
    board = board.sort_values(["_key", "model"], kind="stable").drop(columns="_key")
    columns = ["rank", "model", "teamforge_score", *tasks, "tasks_passed", "missing_tasks"]
    return board[columns].reset_index(drop=True)
