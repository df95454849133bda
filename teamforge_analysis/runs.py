"""Repeated runs: combining a model's runs of a task into one (model, task) cell.

TeamForge runs every model several times per task. The published analysis kept the best of
3 runs, which inflates every score; this module offers both protocols:

``mean`` (the default)
    numeric columns are averaged over the cell's runs; the cell counts as passed when more
    than half of its runs passed.
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

__all__ = ["AGGREGATES", "CELL_KEY", "aggregate_runs", "cell_scores", "sort_by_keys"]

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
        ``"mean"``: numeric columns averaged, passed when more than half the runs passed.
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
    ordered = sort_by_keys(runs, [*keys, "run"])
    return _aggregate(ordered, _cells_in_order(ordered, keys), how)


def _aggregate(ordered: pd.DataFrame, cells: tuple[np.ndarray, np.ndarray] | None, how: str
               ) -> pd.DataFrame:
    """aggregate_runs of run rows sorted by model, task, run, whose cells (see
    ``_cells_in_order``) are known; ``None``: missing keys, grouped by pandas."""
    keys = list(CELL_KEY)
    values = [c for c in ordered.columns if c not in (*keys, "run")]
    single = (len(cells[1]) == len(ordered)) if cells is not None \
        else not ordered.duplicated(keys).any()
    if single:
        return ordered[[*keys, *values]]
    if how == "mean" and cells is not None:
        means = _means_of_sorted_cells(ordered, cells[1], values)
        if means is not None:
            return _with_keys(means, ordered, keys, cells)[[*keys, *means.columns]]
    grouped = ordered.groupby(_group_by(keys, cells), sort=True)
    if how == "best":
        # idxmax keeps the first maximum, and rows are sorted by run within a cell.
        best = grouped["score"].idxmax().to_numpy()
        return ordered.loc[best, [*keys, *values]].reset_index(drop=True)
    numeric = [c for c in values if c != "passed" and pd.api.types.is_numeric_dtype(ordered[c])]
    out = grouped[numeric].mean()
    if "passed" in values:
        counts = grouped["passed"].agg(["sum", "count"])
        out["passed"] = 2 * counts["sum"].to_numpy() > counts["count"].to_numpy()
    out = _with_keys(out, ordered, keys, cells)
    return out[[*keys, *[c for c in values if c in out.columns]]]


def _means_of_sorted_cells(ordered: pd.DataFrame, starts: np.ndarray, values: list[str]
                           ) -> pd.DataFrame | None:
    """The "mean" protocol for run rows sorted by cell, each cell starting at ``starts``:
    sums over each cell's contiguous rows (``ufunc.reduceat``), without grouping machinery.

    The numbers of pandas' grouped mean (pandas 3.1 sums sorted groups with ``reduceat``
    too; the tests require them exactly): float columns are summed as they are,
    whole-number columns exactly as integers (pandas sums them as floats, which is exact
    below 2**53). ``None`` when a number is missing (pandas then skips it).
    """
    sizes = np.diff(starts, append=len(ordered))
    out: dict[str, np.ndarray] = {}
    for name in values:
        column = ordered[name].to_numpy()
        if name == "passed":
            if column.dtype != bool:
                return None
            passed = np.add.reduceat(column, starts, dtype=np.int64)
            out[name] = 2 * passed > sizes  # (more than half of the cell's runs)
        elif column.dtype.kind in "iu":
            out[name] = np.add.reduceat(column, starts).astype(np.float64) / sizes
        elif column.dtype.kind == "f":
            if np.isnan(column).any():
                return None
            out[name] = np.add.reduceat(column, starts) / sizes
        elif pd.api.types.is_numeric_dtype(column.dtype):
            return None  # (a numeric type pandas would average in its own way)
    return pd.DataFrame(out)


def _group_by(keys: list[str], cells: tuple[np.ndarray, np.ndarray] | None
              ) -> list[str] | np.ndarray:
    """What to group run rows by: each row's cell number when the cells are known (the same
    groups, rows and order as the key columns, without hashing a million names again), else
    the key columns."""
    return keys if cells is None else cells[0]


def _with_keys(out: pd.DataFrame, frame: pd.DataFrame, keys: list[str],
               cells: tuple[np.ndarray, np.ndarray] | None) -> pd.DataFrame:
    """A per-cell frame grouped by ``_group_by`` with its key columns first, of ``frame``'s
    dtypes."""
    if cells is None:
        return _keys_as_in(out.reset_index(), frame, keys)
    out = out.reset_index(drop=True)
    for position, key in enumerate(keys):
        out.insert(position, key, frame[key].take(cells[1]).reset_index(drop=True))
    return out


def _keys_as_in(out: pd.DataFrame, frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """``out`` with its key columns of ``frame``'s dtypes (groupby makes object keys str)."""
    return out.astype({k: frame[k].dtype for k in keys})


def _cells_in_order(frame: pd.DataFrame, keys: Sequence[str]
                    ) -> tuple[np.ndarray, np.ndarray] | None:
    """For rows sorted by ``keys``: each row's cell (0, 1, ... for each distinct key, in
    order) and the first row of each cell. ``None`` when a key is missing or the rows are not
    in key order."""
    same = _same_as_next(frame, keys)
    if same is None or not len(frame):
        return None
    return _cells_of(same)


def _cells_of(same: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``_cells_in_order`` from whether each row's keys equal the next row's."""
    n_rows = len(same) + 1
    starts = np.flatnonzero(~same) + 1
    # int32 and summed in place: one array of half the size (fresh memory is slow to touch)
    dtype = np.int32 if n_rows < 2**31 else np.intp
    cell = np.zeros(n_rows, dtype=dtype)
    cell[starts] = 1
    np.cumsum(cell, out=cell)
    return cell, np.concatenate([[0], starts])


def _in_key_order(frame: pd.DataFrame, keys: Sequence[str]) -> bool:
    """Whether rows are sorted by ``keys`` (first key first) and no key is missing."""
    return _same_as_next(frame, keys) is not None


def _same_as_next(frame: pd.DataFrame, keys: Sequence[str]) -> np.ndarray | None:
    """For rows sorted by ``keys`` with no key missing: whether each row's keys equal the next
    row's (one entry fewer than rows). ``None`` when a key is missing, or rows are out of order.

    Values are ordered only where they change: within a run of equal names the comparison
    is an identity check, so a million rows of a few hundred names cost a few vector passes.
    """
    same = np.ones(max(len(frame) - 1, 0), dtype=bool)  # pairs of rows equal on keys so far
    for key in keys:
        column = frame[key].to_numpy()
        if not len(column):
            continue
        if column.dtype.kind in "biuf":  # numbers: whole-column masks, no index arrays
            if column.dtype.kind == "f" and np.isnan(column).any():
                return None
            if (same & (column[:-1] > column[1:])).any():
                return None
            same &= column[1:] == column[:-1]
            continue
        try:
            changed = np.asarray(column[1:] != column[:-1], dtype=bool)
            # A missing value differs from its neighbours (NaN even from NaN) unless they are
            # missing too, so looking at the first row of each run of equal values finds it.
            heads = np.concatenate([[0], np.flatnonzero(changed) + 1])
            if pd.isna(column[heads]).any():
                return None
            check = np.flatnonzero(same & changed)  # the first key that differs
            if np.asarray(column[check] > column[check + 1], dtype=bool).any():
                return None
        except TypeError:  # values of different kinds (or pd.NA): let pandas sort them
            return None
        same &= ~changed
    return same


def sort_by_keys(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """``frame.sort_values(keys, kind="stable").reset_index(drop=True)``, faster on big frames.

    Each key is compared through integer codes in its sorted order (missing values last, as
    with sort_values) rather than value by value, and a frame already in order is returned
    without being copied.

    Examples
    --------
    >>> frame = pd.DataFrame({"model": ["b", "a", "a"], "run": [1, 2, 1]})
    >>> sort_by_keys(frame, ["model", "run"]).to_dict("list")
    {'model': ['a', 'a', 'b'], 'run': [1, 2, 1]}
    """
    if _in_key_order(frame, keys):
        return frame.reset_index(drop=True)
    ranks = []
    for key in keys:
        codes, uniques = pd.factorize(frame[key], sort=True)
        ranks.append(np.where(codes < 0, len(uniques), codes))
    order = np.lexsort(ranks[::-1])  # stable, like sort_values(kind="stable")
    if (order == np.arange(len(order))).all():  # (in order, with missing keys last)
        return frame.reset_index(drop=True)
    return frame.take(order).reset_index(drop=True)


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
    return _cell_scores(runs, _cells_in_order(runs, list(CELL_KEY)))


def _cell_scores(runs: pd.DataFrame, cells: tuple[np.ndarray, np.ndarray] | None
                 ) -> pd.DataFrame:
    """cell_scores of run rows whose cells are known (``None``: not in key order)."""
    keys = list(CELL_KEY)
    if cells is not None:
        summary = _score_summary_of_sorted_cells(runs["score"].to_numpy(), cells[1])
        if summary is not None:
            return _with_keys(summary, runs, keys, cells)
    out = runs.groupby(_group_by(keys, cells), sort=True)["score"].agg(
        runs="size", score_mean="mean", score_best="max", score_sd="std")
    out["runs"] = out["runs"].astype(np.int64)
    return _with_keys(out, runs, keys, cells)


def _score_summary_of_sorted_cells(score: np.ndarray, starts: np.ndarray
                                   ) -> pd.DataFrame | None:
    """cell_scores' columns for scores sorted by cell, each cell starting at ``starts``;
    ``None`` when a score is missing (pandas then skips it).

    The numbers of pandas' grouped size, mean, max and std of sorted groups (the tests
    require them exactly), computed the same way without its grouping machinery: the mean
    and the best by ``ufunc.reduceat`` over each cell's rows, the standard deviation
    (ddof = 1) by Welford's updates in row order, as pandas' ``group_var`` does, for every
    cell at once (step j updates the cells with more than j runs).
    """
    if score.dtype.kind != "f" or np.isnan(score).any():
        return None
    sizes = np.diff(starts, append=len(score))
    mean = np.add.reduceat(score, starts) / sizes
    best = np.maximum.reduceat(score, starts)
    # Cells by decreasing size, so that the cells still updated at step j are a prefix.
    by_size = np.argsort(-sizes, kind="stable")
    descending = sizes[by_size]
    rows = starts[by_size].astype(np.intp)  # each cell's row for the current step
    running = np.zeros(len(starts))
    squares = np.zeros(len(starts))
    for step in range(int(descending[0]) if len(descending) else 0):
        k = int(np.count_nonzero(descending > step))  # (cells with more than `step` runs)
        value = score[rows[:k]]
        old = running[:k].copy()
        running[:k] += (value - old) / (step + 1)
        squares[:k] += (value - running[:k]) * (value - old)
        rows[:k] += 1
    sd = np.empty(len(starts))
    with np.errstate(invalid="ignore"):  # (a one-run cell: 0 / 0, undefined, as for pandas)
        sd[by_size] = np.sqrt(squares / (descending - 1))
    return pd.DataFrame({"runs": sizes.astype(np.int64), "score_mean": mean,
                         "score_best": best, "score_sd": sd})
