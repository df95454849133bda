"""The TeamForge leaderboard: weighted score per model, rank, per-task scores, tasks passed.

With repeated runs the leaderboard also gives each model's score under both run protocols
(mean over runs and best of N), the standard error of the mean-based score and the fewest runs
of any of its cells.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._checks import require_choice, require_dataset
from .dataset import Dataset

__all__ = [
    "LEVEL_PREFIX",
    "MAX_TASK_COLUMNS",
    "RANK_DECIMALS",
    "RUN_COLUMNS",
    "TASK_PREFIX",
    "cell_matrix",
    "cell_passes",
    "leaderboard",
    "level_gaps",
    "level_scores",
    "level_scores_with_gaps",
    "level_task_weights",
    "score_matrix",
    "task_weights",
    "tasks_by_level",
    "weighted_total",
]

#: Per-task and per-level columns of the leaderboard frame carry these prefixes, so that no
#: task or level name can collide with another column ("rank", "model", ...).
TASK_PREFIX = "task:"
LEVEL_PREFIX = "level:"
#: With more tasks than this, leaderboards (tables and figure) show one column per level
#: instead of one per task.
MAX_TASK_COLUMNS = 8

#: Scores are compared for ranking after rounding to this many decimals, so that two models
#: whose weighted sums differ only by floating-point noise share a rank.
RANK_DECIMALS = 12


def score_matrix(dataset: Dataset, value: str = "score") -> pd.DataFrame:
    """Wide table of ``value`` by model (rows) and task (columns); missing cells are NaN.

    Columns follow tasks.csv's order (sorted by task name); rows are sorted by model.
    """
    _require_measure(dataset, value)
    wide = dataset.results.pivot(index="model", columns="task", values=value)
    return wide.reindex(columns=list(dataset.tasks["task"])).sort_index()


def cell_matrix(dataset: Dataset, column: str) -> pd.DataFrame:
    """Wide table of a column of ``dataset.cells`` (run statistics) laid out as
    :func:`score_matrix`."""
    require_choice("column", column, [c for c in dataset.cells.columns
                                      if c not in ("model", "task")])
    wide = dataset.cells.pivot(index="model", columns="task", values=column)
    return wide.reindex(columns=list(dataset.tasks["task"])).sort_index()


def tasks_by_level(dataset: Dataset) -> list[str]:
    """The tasks as tables, columns and texts list them: easiest level first (the order of
    ``dataset.levels``), then by name.

    Examples
    --------
    >>> from teamforge_analysis import load_dataset
    >>> tasks_by_level(load_dataset())
    ['easy_bugfix_chunk_list', 'medium_refactor_stats', 'hard_lru_cache_performance']
    """
    return list(dataset.tasks.sort_values(["difficulty_rank", "difficulty", "task"])["task"])


def _require_measure(dataset: Dataset, value: object) -> None:
    """``value`` must name a measure column of ``dataset.results`` (not model or task)."""
    require_dataset(dataset)
    require_choice("value", value, [c for c in dataset.results.columns
                                     if c not in ("model", "task")])


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


def level_task_weights(dataset: Dataset) -> pd.DataFrame:
    """Each task's level and its weight within the level (the level's weights sum to 1).

    A level whose weights are all zero weighs its tasks equally; ``equal_fallback`` marks its
    tasks, from which the caveats (:func:`.caveats.caveats`) warn of it.

    Returns
    -------
    pandas.DataFrame
        Index ``task`` (in tasks order), columns ``level``, ``weight`` (within the level) and
        ``equal_fallback`` (bool).
    """
    tasks = dataset.tasks
    weight = tasks["weight"].astype(float)
    level_total = weight.groupby(tasks["difficulty"]).transform("sum")
    level_size = tasks.groupby("difficulty")["task"].transform("size")
    fallback = (level_total <= 0).to_numpy()
    within = np.where(fallback, 1.0 / level_size, weight / level_total.where(~fallback, 1.0))
    return pd.DataFrame({"level": tasks["difficulty"].to_numpy(dtype=object),
                         "weight": within, "equal_fallback": fallback},
                        index=pd.Index(tasks["task"], name="task"))


def level_scores(dataset: Dataset, value: str = "score", *,
                 skip_blank: bool = False) -> pd.DataFrame:
    """Per model, the weight-weighted mean of ``value`` over each level's tasks.

    Weighting by the task weights (equal weights when the data declare none) makes a level's
    score independent of how its problems are grouped into tasks whenever task weights are
    proportional to problem counts. A model without a result on some task of a level has no
    score on that level (NaN), so that every model's level score averages the same tasks.
    ``skip_blank`` is for optional measures (``steps``): a result whose ``value`` is blank is
    left out, the weights of the level's other tasks scaled up to sum to 1; a model with no
    value on any task of a level (or only on tasks of weight 0) has none there.
    :func:`level_gaps` says why each missing value is missing.

    Returns
    -------
    pandas.DataFrame
        Index ``model`` (sorted), one column per level of ``dataset.levels``, easiest first.

    Examples
    --------
    >>> from teamforge_analysis import load_dataset
    >>> level_scores(load_dataset(), "steps").loc["gemma2-9b-it"].tolist()
    [18.0, 30.0, 40.0]
    """
    return _level_scores(_LevelInputs.of(dataset, value), dataset.levels, skip_blank)


def _level_scores(inputs: _LevelInputs, levels: tuple[str, ...], skip_blank: bool
                  ) -> pd.DataFrame:
    out = {}
    for level in levels:
        values, present, weights = inputs.on(level)
        if not skip_blank:
            out[level] = weighted_total(values, weights)
            continue
        known = ~np.isnan(values)
        total = np.where(known, values, 0.0) @ weights
        weight = known.astype(float) @ weights
        with np.errstate(invalid="ignore", divide="ignore"):
            # (rows with every value known keep weighted_total's exact sum: weights sum to 1)
            mean = np.where(known.all(axis=1), total, total / weight)
        out[level] = pd.Series(mean).where(present.all(axis=1) & (weight > 0)).to_numpy()
    return pd.DataFrame(out, index=inputs.models)


def level_gaps(dataset: Dataset, value: str = "score", *,
               skip_blank: bool = False) -> pd.DataFrame:
    """Why :func:`level_scores` (with the same arguments) has no value for a model on a level.

    Returns
    -------
    pandas.DataFrame
        One row per missing (model, level), easiest level first, then by model: ``model``,
        ``level``, ``reason`` and ``tasks`` (a list, in tasks order). ``reason`` is
        ``"no result"`` (``tasks``: those of the level without a result row), ``"blank"``
        (``tasks``: those whose ``value`` is blank; with ``skip_blank``, every task of the
        level) or ``"zero weight"`` (with ``skip_blank``: the level's tasks with a value all
        weigh 0; ``tasks``: the blank ones).

    Examples
    --------
    >>> from teamforge_analysis import load_dataset
    >>> level_gaps(load_dataset()).empty
    True
    """
    return level_scores_with_gaps(dataset, value, skip_blank=skip_blank)[1]


def level_scores_with_gaps(dataset: Dataset, value: str = "score", *,
                           skip_blank: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`level_scores` and :func:`level_gaps` from one models × tasks table (a finding
    that reports both builds it once)."""
    inputs = _LevelInputs.of(dataset, value)
    scores = _level_scores(inputs, dataset.levels, skip_blank)
    rows = []
    for level in dataset.levels:
        values, present, _ = inputs.on(level)
        names = inputs.tasks[(inputs.within["level"] == level).to_numpy()]
        for i in np.flatnonzero(scores[level].isna().to_numpy()):
            absent, blank = ~present[i], present[i] & np.isnan(values[i])
            reason = ("no result" if absent.any() else
                      "zero weight" if skip_blank and not blank.all() else "blank")
            rows.append((inputs.models[i], level, reason,
                         list(names[absent if absent.any() else blank])))
    return scores, pd.DataFrame(rows, columns=["model", "level", "reason", "tasks"])


class _LevelInputs:
    """A measure's values and which results exist, as models × tasks arrays, with each task's
    level and weight within it (shared by :func:`level_scores` and :func:`level_gaps`)."""

    def __init__(self, within: pd.DataFrame, wide: pd.DataFrame, present: np.ndarray) -> None:
        self.within, self.models, self.tasks = within, wide.index, within.index.to_numpy()
        self.values, self.present = wide.to_numpy(), present

    @classmethod
    def of(cls, dataset: Dataset, value: str) -> _LevelInputs:
        _require_measure(dataset, value)
        within = level_task_weights(dataset)
        results = dataset.results
        wide = results.pivot(index="model", columns="task", values=value)
        wide = wide.reindex(columns=within.index).astype(float).sort_index()
        # Which cells have a result at all: a blank value is not a missing result.
        rows = results[["model", "task"]].assign(_row=1.0)
        present = rows.pivot(index="model", columns="task", values="_row")
        present = present.reindex(index=wide.index, columns=within.index).notna().to_numpy()
        return cls(within, wide.rename_axis(index="model"), present)

    def on(self, level: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The level's values, presence and within-level weights."""
        columns = (self.within["level"] == level).to_numpy()
        return (self.values[:, columns], self.present[:, columns],
                self.within["weight"].to_numpy()[columns])


def cell_passes(dataset: Dataset, frame: pd.DataFrame | None = None) -> pd.Series:
    """Whether each row of ``frame`` (default: ``dataset.results``) passed its task.

    The row's ``passed`` flag where given; otherwise score >= the task's ``pass_threshold``;
    ``<NA>`` where neither is known.

    Returns
    -------
    pandas.Series
        Nullable booleans (``"boolean"`` dtype), aligned with ``frame``.
    """
    frame = dataset.results if frame is None else frame
    threshold = frame["task"].map(dataset.tasks.set_index("task")["pass_threshold"])
    by_score = (frame["score"] >= threshold).astype("boolean").mask(threshold.isna())
    if "passed" not in frame:
        return by_score
    return frame["passed"].astype("boolean").fillna(by_score)


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
        missing), ``runs`` (the fewest runs of any of the model's cells), one column
        ``task:<name>`` per task (:func:`tasks_by_level`) with that task's score, one column
        ``level:<name>`` per level
        (easiest first) with the model's score on that level (:func:`level_scores`),
        ``tasks_passed`` (nullable: see :func:`cell_passes`) and ``missing_tasks`` (a list of
        task names, in the same order).

    Examples
    --------
    >>> from teamforge_analysis import load_dataset
    >>> board = leaderboard(load_dataset())
    >>> int(board.loc[0, "rank"]), board.loc[0, "model"]
    (1, 'llama3-70b-8192')
    >>> round(board.loc[0, "teamforge_score"], 5)
    np.float64(0.74015)
    """
    require_dataset(dataset)
    tasks, by_level = list(dataset.tasks["task"]), tasks_by_level(dataset)
    scores = score_matrix(dataset)
    weights = task_weights(dataset)
    values = scores.to_numpy(dtype=float)
    weighted = weighted_total(values, weights)

    passed = cell_passes(dataset).groupby(dataset.results["model"]).sum(min_count=1)
    passed = passed.reindex(scores.index)
    missing = scores.isna().to_numpy()
    by_level_columns = pd.Index(tasks).get_indexer(by_level)
    names = np.asarray(by_level, dtype=object)
    on_levels = level_scores(dataset).reindex(scores.index)
    # Built in one go: adding one column per task would fragment the frame.
    board = pd.DataFrame(
        {
            "model": scores.index.to_numpy(dtype=object),
            "teamforge_score": weighted,
            **_run_columns(dataset, scores.index, weights),
            **{TASK_PREFIX + task: values[:, i] for i, task in enumerate(tasks)},
            **{LEVEL_PREFIX + level: on_levels[level].to_numpy()
               for level in dataset.levels},
            "tasks_passed": passed.astype("Int64").array,
            "missing_tasks": [list(names[row]) for row in missing[:, by_level_columns]],
        }
    )

    rank_key = board["teamforge_score"].round(RANK_DECIMALS)
    board["rank"] = rank_key.rank(method="min", ascending=False).astype("Int64")
    order = np.lexsort((board["model"].to_numpy(dtype=str),
                        -rank_key.fillna(-np.inf).to_numpy()))
    board = board.iloc[order]
    columns = ["rank", "model", "teamforge_score", *RUN_COLUMNS,
               *(TASK_PREFIX + task for task in by_level),
               *(LEVEL_PREFIX + level for level in dataset.levels), "tasks_passed",
               "missing_tasks"]
    return board[columns].reset_index(drop=True)


#: Leaderboard columns about repeated runs, in order.
RUN_COLUMNS = ("teamforge_score_mean", "teamforge_score_best", "teamforge_score_se", "runs")


def _run_columns(dataset: Dataset, models: pd.Index, weights: np.ndarray
                 ) -> dict[str, np.ndarray]:
    """Mean-of-runs and best-of-runs TeamForge scores, the SE of the first, fewest runs."""
    def wide(column: str) -> np.ndarray:
        return cell_matrix(dataset, column).reindex(index=models).to_numpy(dtype=float)

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
