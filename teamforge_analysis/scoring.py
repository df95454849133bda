"""The TeamForge leaderboard: weighted score per model, rank, per-task scores, tasks passed.

With repeated runs the leaderboard also gives each model's score under both run protocols
(mean over runs and best of N), the standard error of the mean-based score and the fewest runs
of any of its cells.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .io import Dataset
from .runs import cell_scores

__all__ = ["RANK_DECIMALS", "RUN_COLUMNS", "leaderboard", "score_matrix", "task_weights",
           "weighted_total"]

#: Scores are compared for ranking after rounding to this many decimals, so that two models
#: whose weighted sums differ only by floating-point noise share a rank.
RANK_DECIMALS = 12


def score_matrix(dataset: Dataset, value: str = "score") -> pd.DataFrame:
    """Wide table of ``value`` by model (rows) and task (columns); missing cells are NaN.

    Columns follow tasks.csv's order (sorted by task name); rows are sorted by model.
    """
    wide = dataset.results.pivot(index="model", columns="task", values=value)
    return wide.reindex(columns=list(dataset.tasks["task"])).sort_index()


def task_weights(dataset: Dataset) -> np.ndarray:
    """Each task's weight, in the order of tasks.csv's (sorted) task column."""
    return dataset.tasks["weight"].to_numpy(dtype=float)


def weighted_total(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Σ_t weight_t × value_t for each row (model) of a models × tasks array.

    A row missing any task's value has no total (NaN, reported as null): a TeamForge score
    over some of the tasks would not be comparable with the others.

    Examples
    --------
    >>> values = np.array([[1.0, 0.5], [1.0, None]], dtype=float)  # None: a missing task
    >>> weighted_total(values, np.array([0.2, 0.8])).round(6).tolist()
    [0.6, nan]
    """
    complete = ~np.isnan(values).any(axis=1)
    return pd.Series(np.where(np.isnan(values), 0.0, values) @ weights).where(complete).to_numpy()


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
        ``model``, ``teamforge_score`` (NaN, shown as null, when any task is missing; the
        score under the dataset's run protocol, ``dataset.aggregate``),
        ``teamforge_score_mean`` and ``teamforge_score_best`` (Σ weight × the mean, or the
        best, of the task's run scores), ``teamforge_score_se`` (standard error of
        ``teamforge_score_mean``, √(Σ_t w_t² s_t² / n_t) with s_t the sample standard deviation
        (ddof = 1) of the model's n_t runs on task t; NaN when any n_t is 1 or a task is
        missing), ``runs`` (the fewest runs of any of the model's cells), one column per task
        with that task's score, ``tasks_passed`` and ``missing_tasks`` (a list of task names).

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
    weights = task_weights(dataset)
    values = scores.to_numpy(dtype=float)
    weighted = weighted_total(values, weights)

    passed = dataset.results.groupby("model")["passed"].sum().reindex(scores.index)
    missing = scores.isna().to_numpy()
    task_names = np.asarray(tasks, dtype=object)
    # Built in one go: adding one column per task would fragment the frame.
    board = pd.DataFrame(
        {
            "model": scores.index.to_numpy(dtype=object),
            "teamforge_score": weighted,
            **_run_columns(dataset, scores.index, tasks, weights),
            **{task: values[:, i] for i, task in enumerate(tasks)},
            "tasks_passed": passed.to_numpy(dtype="int64"),
            "missing_tasks": [list(task_names[row]) for row in missing],
        }
    )

    rank_key = board["teamforge_score"].round(RANK_DECIMALS)
    board["rank"] = rank_key.rank(method="min", ascending=False).astype("Int64")
    board = board.assign(_key=-rank_key.fillna(-np.inf))
    board = board.sort_values(["_key", "model"], kind="stable").drop(columns="_key")
    columns = ["rank", "model", "teamforge_score", *RUN_COLUMNS, *tasks, "tasks_passed",
               "missing_tasks"]
    return board[columns].reset_index(drop=True)


#: Leaderboard columns about repeated runs, in order.
RUN_COLUMNS = ("teamforge_score_mean", "teamforge_score_best", "teamforge_score_se", "runs")


def _run_columns(dataset: Dataset, models: pd.Index, tasks: list[str], weights: np.ndarray
                 ) -> dict[str, np.ndarray]:
    """Mean-of-runs and best-of-runs TeamForge scores, the SE of the first, fewest runs."""
    assert dataset.runs is not None
    cells = cell_scores(dataset.runs).set_index(["model", "task"])

    def wide(column: str) -> np.ndarray:
        table = cells[column].unstack("task").reindex(index=models, columns=tasks)
        return table.to_numpy(dtype=float)

    mean, best, sd, n = wide("score_mean"), wide("score_best"), wide("score_sd"), wide("runs")
    complete = ~np.isnan(mean).any(axis=1)
    with np.errstate(invalid="ignore"):
        # A missing s_t (a cell with one run) or a missing task propagates to a missing SE.
        se = np.sqrt((weights**2 * sd**2 / n).sum(axis=1))
    fewest = np.where(np.isnan(n), np.inf, n).min(axis=1)
    return {
        "teamforge_score_mean": weighted_total(mean, weights),
        "teamforge_score_best": weighted_total(best, weights),
        "teamforge_score_se": pd.Series(se).where(complete).to_numpy(),
        "runs": fewest.astype(np.int64),
    }
