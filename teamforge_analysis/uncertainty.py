"""Leaderboard uncertainty (issue 14): score intervals, rank intervals, paired comparisons.

Scores are resampled by a seeded, stratified percentile bootstrap over the (model, task) cell
scores: tasks are drawn with replacement within each level that has two or more tasks (of
positive weight), and each level keeps its share of the total weight. When no level has two
tasks, runs are drawn within each cell instead. Models are compared in pairs on the tasks both
have, with a paired sign-flip permutation test and Holm's adjustment across the pairs shown.
Undefined quantities are ``None`` (NaN in the frames) with a ``reason`` in words.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations, pairwise
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from . import _fmt as fmt
from ._checks import require_count, require_dataset
from ._fmt import ALPHA
from .dataset import Dataset
from .scoring import (
    RANK_DECIMALS,
    cell_matrix,
    leaderboard,
    level_task_weights,
    score_matrix,
    task_weights,
)
from .stats import finite_or_none, quiet

__all__ = [
    "JSON_INTERVALS",
    "LeaderboardUncertainty",
    "holm",
    "leaderboard_uncertainty",
    "pairwise_comparisons",
    "score_intervals",
    "smallest_holm_p",
    "smallest_p",
]

METHOD = "stratified percentile bootstrap"
DEFAULT_RESAMPLES = 2_000
DEFAULT_SEED = 20_261_214
#: Coverage of the intervals of :func:`leaderboard_uncertainty` (the JSON's ``ci95``).
CONFIDENCE = 0.95
#: Sign-flip p-values are exact (all 2^n flips) up to this many tasks, else Monte Carlo.
PERMUTATION_EXACT_MAX_TASKS = 16
PERMUTATION_RESAMPLES = 9_999
#: The power ``tasks_for_80_power`` is for, and beyond how many tasks it is not reported:
#: such an estimate says nothing a reader can act on (and overflows).
POWER = 0.80
MAX_TASKS_REPORTED = 10**9
# z_{1−α/2} + z_{power}: a two-sided test at α with that power needs ((z · sd / mean)² tasks.
_Z_POWER = float(sps.norm.ppf(1 - ALPHA / 2) + sps.norm.ppf(POWER))
#: Frame columns behind each interval of ``to_dict()``: ``"ci95": [ci_low, ci_high]`` etc.
JSON_INTERVALS: dict[str, tuple[str, str]] = {
    "ci95": ("ci_low", "ci_high"),
    "rank_ci95": ("rank_low", "rank_high"),
    "run_se_ci95": ("run_se_ci_low", "run_se_ci_high"),
}
MODEL_COLUMNS = ("model", "score", "n_tasks", "ci_low", "ci_high", "rank", "rank_low",
                 "rank_high", "run_se", "run_se_ci_low", "run_se_ci_high", "run_se_df",
                 "reason")
PAIR_COLUMNS = ("model_a", "model_b", "n_tasks", "difference", "ci_low", "ci_high", "p_value",
                "p_holm", "verdict", "tasks_for_80_power", "reason")
# Memory bound (elements) of one block of run resamples.
_BLOCK = 4_000_000


@dataclass(frozen=True, eq=False)
class _Design:
    """What is resampled: scores (models × tasks, NaN = missing) and each task's level/weight."""

    models: np.ndarray
    scores: np.ndarray
    weight: np.ndarray  # absolute task weights (0: task left out of every computation)
    level: np.ndarray  # level code per task
    runs: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]  # n -> (model, task, values)
    run_sd: np.ndarray
    run_n: np.ndarray
    source: str | None  # "tasks", "runs" or None
    reason: str | None


def _design(dataset: Dataset) -> _Design:
    require_dataset(dataset)  # (the first use of the dataset by every public function here)
    wide = score_matrix(dataset)
    models = wide.index.to_numpy(dtype=object)
    weight = task_weights(dataset)
    level, level_names = pd.factorize(level_task_weights(dataset)["level"])
    weight = np.where(weight > 0, weight, 0.0)
    run_n = np.nan_to_num(cell_matrix(dataset, "runs").to_numpy(dtype=float))
    run_sd = cell_matrix(dataset, "score_sd").to_numpy(dtype=float)
    used = weight > 0
    per_level = np.bincount(level[used], minlength=level.max(initial=-1) + 1)
    single = {name for code, name in enumerate(level_names) if per_level[code] == 1}
    fixed = [str(level) for level in dataset.levels if level in single]
    source, reason, groups = None, None, {}
    if dataset.aggregate == "best":
        reason = ("scores are best-of-N over runs, and the bootstrap is not defined for a "
                  "best-of-N score")
    elif (per_level >= 2).any():
        source = "tasks"
        if fixed:
            reason = f"levels with one task held fixed: {', '.join(fixed)}"
    elif (run_n >= 2).any():
        source, groups = "runs", _run_blocks(dataset, wide)
        reason = "no level has two or more tasks, so runs are resampled within each cell"
        if (run_n[:, used] == 1).any():
            reason += "; cells with one run held fixed"
    else:
        reason = ("no source of variation to resample (every level has one task and every "
                  "cell one run), so no interval can be estimated")
    return _Design(models, wide.to_numpy(dtype=float), weight, level, groups, run_sd, run_n,
                   source, reason)


def _run_blocks(dataset: Dataset, wide: pd.DataFrame
                ) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The run scores of every cell with two or more runs, grouped by run count n: model rows,
    task columns and an (cells × n) block of scores, for resampling runs within cells."""
    runs = dataset.runs
    mi = wide.index.get_indexer(runs["model"])
    ti = wide.columns.get_indexer(runs["task"])
    order = np.lexsort((ti, mi))
    mi, ti, values = mi[order], ti[order], runs["score"].to_numpy(dtype=float)[order]
    cell = mi * wide.shape[1] + ti
    starts = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]])
    sizes = np.diff(np.r_[starts, len(cell)])
    blocks = {}
    for n in np.unique(sizes[sizes >= 2]):
        first = starts[sizes == n]
        blocks[int(n)] = (mi[first], ti[first], values[first[:, None] + np.arange(n)])
    return blocks


def _renormalised(design: _Design, mask: np.ndarray) -> np.ndarray:
    """Task weights over the tasks in ``mask``: within each level scaled back to the level's
    share; the shares of levels with no such task go to the others in proportion."""
    weight = np.where(mask, design.weight, 0.0)
    level_sum = np.bincount(design.level, weight, minlength=design.level.max() + 1)
    share = np.bincount(design.level, design.weight, minlength=len(level_sum))
    share = np.where(level_sum > 0, share, 0.0)
    if share.sum() <= 0:
        return weight
    share *= design.weight.sum() / share.sum()
    with quiet():
        return np.where(mask, weight * (share / level_sum)[design.level], 0.0)


def _draws(design: _Design, rows: np.ndarray, weight: np.ndarray, resamples: int,
           rng: np.random.Generator) -> np.ndarray:
    """Resampled weighted scores, shape (resamples, len(rows)); the same draws for every row
    (so differences of columns are paired). ``weight`` is 0 outside the tasks used."""
    values = np.nan_to_num(design.scores[rows])
    used = weight > 0
    out = np.zeros((resamples, len(rows)))
    if design.source == "runs":
        cells = np.broadcast_to(values, (resamples, *values.shape)).copy()
        column = np.full(len(design.models), -1)
        column[rows] = np.arange(len(rows))
        for n, (mi, ti, block) in design.runs.items():
            keep = (column[mi] >= 0) & used[ti]
            k, t, block = column[mi][keep], ti[keep], block[keep]
            step = max(1, _BLOCK // max(1, block.size))
            for start in range(0, resamples, step):
                stop = min(resamples, start + step)
                pick = rng.integers(0, n, size=(stop - start, *block.shape))
                cells[start:stop, k, t] = np.take_along_axis(
                    np.broadcast_to(block, pick.shape), pick, axis=2).mean(axis=2)
        return cells @ weight
    for code in np.unique(design.level[used]):
        cols = np.flatnonzero(used & (design.level == code))
        w = weight[cols]
        if len(cols) < 2:
            out += values[:, cols] @ w
            continue
        n = len(cols)
        pick = rng.integers(0, n, size=(resamples, n))
        counts = np.bincount((pick + n * np.arange(resamples)[:, None]).ravel(),
                             minlength=resamples * n).reshape(resamples, n)
        drawn = counts * w
        # Within the level, the drawn tasks' weights are scaled back to the level's share.
        drawn *= w.sum() / drawn.sum(axis=1, keepdims=True)
        out += drawn @ values[:, cols].T
    return out


def _rank_key(values: np.ndarray) -> np.ndarray:
    """``values`` rounded to RANK_DECIMALS significant digits (floating-point noise ties)."""
    with quiet():
        magnitude = np.floor(np.log10(np.abs(values)))
    scale = 10.0 ** (RANK_DECIMALS - 1 - np.where(np.isfinite(magnitude), magnitude, 0.0))
    return np.round(values * scale) / scale


def _percentile(draws: np.ndarray, confidence: float) -> np.ndarray:
    tail = (1 - confidence) / 2
    return np.quantile(draws, [tail, 1 - tail], axis=0)


def _seed(seed: int, *keys: int) -> np.random.Generator:
    # Each use of randomness has its own stream, so that one result does not depend on
    # which others were asked for (adjacent pairs or all pairs give the same numbers).
    return np.random.default_rng([seed, *keys])


def score_intervals(dataset: Dataset, *, resamples: int = DEFAULT_RESAMPLES,
                    seed: int = DEFAULT_SEED, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Each model's score with its bootstrap interval, rank interval and run-noise interval.

    Parameters
    ----------
    dataset
        A loaded data folder.
    resamples, seed
        Bootstrap resamples and the seed of their generator.
    confidence
        Coverage of the intervals.

    Returns
    -------
    pandas.DataFrame
        One row per model, in leaderboard order (best first; models missing a task last):
        ``model, score, n_tasks`` (tasks scored), ``ci_low, ci_high`` (percentile bootstrap
        interval), ``rank`` (the leaderboard's), ``rank_low, rank_high`` (quantiles of the
        resampled ranks by ``inverted_cdf``; ranks of scores rounded to 12 significant digits,
        ties to the lower rank), ``run_se`` (√(Σ w_t² s_t² / n_t), runs' sample SDs s_t),
        ``run_se_ci_low, run_se_ci_high`` (mean-of-runs score ± t quantile × run_se with
        ``run_se_df``, Welch–Satterthwaite's df = (Σ v_t)² / Σ v_t² / (n_t − 1),
        v_t = w_t² s_t² / n_t) and ``reason`` (why a value is missing). ``.attrs`` holds
        ``method``, ``ci_method`` (``"tasks"``, ``"runs"`` or ``None``), ``resamples``,
        ``seed`` and ``reason`` (the interval's, for all models).

    Examples
    --------
    >>> from teamforge_analysis import load_dataset
    >>> table = score_intervals(load_dataset())
    >>> table[["model", "score", "rank", "ci_low", "rank_low"]].head(2)
                 model    score  rank  ci_low  rank_low
    0  llama3-70b-8192  0.74015     1     NaN      <NA>
    1   llama3-8b-8192  0.55275     2     NaN      <NA>
    >>> table.attrs["reason"].split(", ")[-1]
    'so no interval can be estimated'
    """
    return _score_intervals(dataset, _design(dataset), resamples, seed, confidence)[0]


def _score_intervals(dataset: Dataset, design: _Design, resamples: int, seed: int,
                     confidence: float, board: pd.DataFrame | None = None
                     ) -> tuple[pd.DataFrame, np.ndarray | None, np.ndarray]:
    """score_intervals' frame, the resampled scores of the complete models, and those rows."""
    require_count("resamples", resamples, 1)
    require_count("seed", seed, 0)
    if isinstance(confidence, bool) or not isinstance(confidence, int | float) \
            or not 0 < confidence < 1:
        raise ValueError(f"confidence must be a number between 0 and 1, not {confidence!r}")
    board = leaderboard(dataset) if board is None else board
    position = pd.Index(design.models).get_indexer(board["model"])
    scores = design.scores[position]
    complete = ~np.isnan(scores).any(axis=1)
    rows = position[complete]
    out = pd.DataFrame({"model": board["model"].to_numpy(dtype=object),
                        "score": board["teamforge_score"].to_numpy(dtype=float),
                        "n_tasks": (~np.isnan(scores)).sum(axis=1).astype(np.int64),
                        "rank": board["rank"].array})
    for column in MODEL_COLUMNS[3:-1]:
        if column not in out:
            out[column] = math.nan
    draws = None
    if design.source is not None and len(rows):
        draws = _draws(design, rows, design.weight, resamples, _seed(seed, 0))
        out.loc[complete, ["ci_low", "ci_high"]] = _percentile(draws, confidence).T
        ranks = sps.rankdata(-_rank_key(draws), method="min", axis=1)
        tail = (1 - confidence) / 2
        bounds = np.quantile(ranks, [tail, 1 - tail], axis=0, method="inverted_cdf")
        out.loc[complete, ["rank_low", "rank_high"]] = bounds.T
    for name in ("rank_low", "rank_high"):
        out[name] = out[name].astype("Int64")
    run_reason = _run_noise(dataset, design, out, position, confidence)
    reasons = []
    for i, row_complete in enumerate(complete):
        parts = []
        if not row_complete:
            missing = board["missing_tasks"].iloc[i]
            parts.append(f"missing {len(missing)} task(s) ({', '.join(missing[:3])}"
                         f"{', ...' if len(missing) > 3 else ''}): no weighted score")
        elif design.source is None:
            parts.append(str(design.reason))
        if row_complete and run_reason[i]:
            parts.append(f"no run-based interval ({run_reason[i]})")
        reasons.append("; ".join(parts) or None)
    out["reason"] = pd.Series(reasons, dtype=object)
    out.attrs.update(method=METHOD, ci_method=design.source, resamples=resamples, seed=seed,
                     reason=design.reason)
    return out[list(MODEL_COLUMNS)], draws, rows


def _run_noise(dataset: Dataset, design: _Design, out: pd.DataFrame, position: np.ndarray,
               confidence: float) -> list[str | None]:
    """Fill the run-based columns of ``out`` (rows: ``position``); say per row why not."""
    used = design.weight > 0
    w = design.weight[used]
    n, sd = design.run_n[position][:, used], design.run_sd[position][:, used]
    with quiet():
        v = w**2 * sd**2 / n
        se = np.sqrt(v.sum(axis=1))
        df = v.sum(axis=1) ** 2 / (v**2 / (n - 1)).sum(axis=1)
        # Identical runs everywhere: no spread, a zero-width interval and no df.
        half = np.where(se > 0, sps.t.ppf(0.5 + confidence / 2, df) * se, 0.0)
    mean = np.nan_to_num(design.scores[position][:, used]) @ w
    complete = ~np.isnan(design.scores[position]).any(axis=1)
    reasons = [None if not whole else  # (a missing task: said already)
               "the run-based standard error is of the mean of runs, and scores are "
               "best-of-N" if dataset.aggregate == "best" else
               "one run per cell" if (row < 2).all() else
               "some cells have one run" if (row < 2).any() else None
               for row, whole in zip(n, complete, strict=True)]
    ok = np.array([r is None for r in reasons], dtype=bool) & complete
    out.loc[ok, "run_se"] = se[ok]
    out.loc[ok, "run_se_ci_low"] = (mean - half)[ok]
    out.loc[ok, "run_se_ci_high"] = (mean + half)[ok]
    out.loc[ok, "run_se_df"] = np.where(se > 0, df, math.nan)[ok]
    return reasons


def _order(design: _Design, board_models: np.ndarray) -> tuple[list[int], str]:
    """Model rows in comparison order, and how it was made."""
    present = ~np.isnan(design.scores)
    common = present.all(axis=0) & (design.weight > 0)
    position = pd.Index(design.models).get_indexer(board_models)
    if present.all():
        return list(position), "score"  # (the leaderboard's order)
    if not common.any():
        return list(range(len(design.models))), "name"
    score = np.nan_to_num(design.scores) @ _renormalised(design, common)
    key = _rank_key(score)
    return list(np.lexsort((design.models.astype(str), -key))), "score_on_common_tasks"


def _sign_flip_ps(differences: list[np.ndarray], seed: int) -> list[float]:
    """Two-sided p of each Σ d under random sign flips of the d_t (scipy's definitions).

    The Monte Carlo flips depend only on the seed and n, so a pair's p does not depend on
    which other pairs are compared; pairs with the same n share them (one matrix product)."""
    out = [math.nan] * len(differences)
    by_n: dict[int, list[int]] = {}
    for i, d in enumerate(differences):
        if len(d) == 1:
            out[i] = 1.0  # (both flips of one difference are as extreme: scipy wants two)
        elif len(d) <= PERMUTATION_EXACT_MAX_TASKS:
            # n_resamples ≥ 2^n makes scipy enumerate every sign flip: an exact p.
            out[i] = float(sps.permutation_test(
                (d,), _sum, permutation_type="samples", vectorized=True,
                n_resamples=2 ** len(d), alternative="two-sided").pvalue)
        else:
            by_n.setdefault(len(d), []).append(i)
    # scipy's Monte Carlo path flips signs one observation at a time (0.2 s a pair at 500
    # tasks); here the same estimator (its +1 adjustment and tie tolerance) by matrix products.
    for n, members in by_n.items():
        d = np.stack([differences[i] for i in members], axis=1)  # n × pairs
        flips = _seed(seed, 2, n).integers(0, 2, size=(PERMUTATION_RESAMPLES, n), dtype=np.int8)
        step = max(1, _BLOCK // n)
        # Σ ±d_t = 2 Σ_{t flipped up} d_t − Σ d_t, in blocks to bound the float copies.
        null = np.concatenate([2.0 * (flips[i:i + step].astype(float) @ d)
                               for i in range(0, PERMUTATION_RESAMPLES, step)])
        observed = d.sum(axis=0)
        null -= observed
        gamma = np.abs(observed) * np.finfo(float).eps * 100
        less = ((null <= observed + gamma).sum(axis=0) + 1) / (PERMUTATION_RESAMPLES + 1)
        greater = ((null >= observed - gamma).sum(axis=0) + 1) / (PERMUTATION_RESAMPLES + 1)
        for i, p in zip(members, np.minimum(1.0, 2 * np.minimum(less, greater)), strict=True):
            out[i] = float(p)
    return out


def _sum(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.sum(x, axis=axis)


def holm(p_values: list[float | None]) -> list[float | None]:
    """Holm's step-down adjustment; ``None`` entries are left out of the family.

    Examples
    --------
    >>> [None if p is None else round(p, 6) for p in holm([0.01, None, 0.04, 0.03])]
    [0.03, None, 0.06, 0.06]
    """
    known = [(p, i) for i, p in enumerate(p_values) if p is not None]
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for step, (p, i) in enumerate(sorted(known)):
        running = max(running, min(1.0, (len(known) - step) * p))
        adjusted[i] = running
    return adjusted


def pairwise_comparisons(dataset: Dataset, *, pairs: str = "adjacent",
                         resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
                         confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Paired comparisons of models adjacent in the ranking (or of all pairs).

    Each pair is compared on the tasks both models have (weights renormalised within levels
    over those tasks; a level with no shared task gives its share to the others in
    proportion; tasks of weight 0 left out). ``difference`` is model_a's weighted score
    minus model_b's (model_a is the one ahead, so it is ≥ 0); ``ci_low, ci_high`` its paired
    percentile bootstrap interval (the same resampled tasks, unadjusted); ``p_value`` a
    two-sided sign-flip permutation p of the per-task weighted differences (exact up to 16
    tasks, else 9,999 seeded flips); ``p_holm`` Holm's adjustment over the pairs reported;
    ``verdict`` ``"ahead"`` (p_holm < 0.05), ``"indistinguishable"``, or ``None`` with no
    shared task. ``tasks_for_80_power`` is approximate: the tasks a two-sided paired test at
    α = 0.05 would need for 80% power at the observed mean and SD of the per-task weighted
    differences, n = ((z_0.975 + z_0.8) · sd / mean)² by the normal approximation (at least 6,
    the fewest with which an exact sign-flip test can reach 0.05; before any adjustment). It
    is null, with the reason, when the shared tasks include no level with two or more tasks
    (the bootstrap's rule too): then each task is its level's only one, the SD of the
    differences is a spread of levels, not of tasks sampled within a level, and more tasks
    would mean more tasks per level, whose spread these data cannot show (the bundled data's
    case); also with fewer than two shared tasks, or differences that average 0 (within
    rounding). The same difference on every task needs the fewest, 6.

    Parameters
    ----------
    dataset
        A loaded data folder.
    pairs
        ``"adjacent"`` (neighbours in the order by score, ties by name) or ``"all"``.
    resamples, seed, confidence
        As for :func:`score_intervals`.

    Returns
    -------
    pandas.DataFrame
        One row per pair: ``model_a, model_b, n_tasks, difference, ci_low, ci_high, p_value,
        p_holm, verdict, tasks_for_80_power, reason``. ``.attrs["order"]`` says how models
        were ordered: ``"score"``, ``"score_on_common_tasks"`` (some model misses a task) or
        ``"name"`` (no task common to all models); ``.attrs["pairs"]`` is ``pairs``.

    Examples
    --------
    >>> from teamforge_analysis import load_dataset
    >>> table = pairwise_comparisons(load_dataset())
    >>> table[["model_a", "model_b", "n_tasks", "p_value", "verdict"]].head(1)
               model_a         model_b  n_tasks  p_value            verdict
    0  llama3-70b-8192  llama3-8b-8192        3     0.25  indistinguishable
    """
    design = _design(dataset)
    board, draws, rows = _score_intervals(dataset, design, resamples, seed, confidence)
    return _pairs(design, board, draws, rows, pairs, resamples, seed, confidence)


def _pairs(design: _Design, board: pd.DataFrame, draws: np.ndarray | None, rows: np.ndarray,
           pairs: str, resamples: int, seed: int, confidence: float) -> pd.DataFrame:
    order, how = _order(design, board["model"].to_numpy(dtype=object))
    if pairs == "adjacent":
        chosen = list(pairwise(order))
    elif pairs == "all":
        chosen = list(combinations(order, 2))
    else:
        raise ValueError(f'pairs must be "adjacent" or "all", not {pairs!r}')
    column = {int(row): k for k, row in enumerate(rows)}
    present = ~np.isnan(design.scores) & (design.weight > 0)
    records, differences, resampled = [], [], {}
    for a, b in chosen:
        mask = present[a] & present[b]
        w = _renormalised(design, mask)
        d = w[mask] * (design.scores[a, mask] - design.scores[b, mask])
        if round(d.sum(), RANK_DECIMALS) < 0:  # model_a: the one ahead on the shared tasks
            a, b, d = b, a, -d
        record: dict[str, Any] = {"model_a": design.models[a], "model_b": design.models[b],
                                  "n_tasks": int(mask.sum()), "difference": math.nan,
                                  "ci_low": math.nan, "ci_high": math.nan, "p_value": None,
                                  "tasks_for_80_power": None, "reason": []}
        reasons = record["reason"]
        if not mask.any():
            reasons.append("no task that both models have")
            records.append(record)
            continue
        record["difference"] = float(d.sum())
        differences.append(d)
        diffs = None
        # (A level with two shared tasks: what the bootstrap resamples and power extrapolates.)
        sampled = bool((np.bincount(design.level[mask]) >= 2).any())
        if design.source is None:
            reasons.append(str(design.reason))
        elif draws is not None and a in column and b in column and mask.all(
                where=design.weight > 0):
            diffs = draws[:, column[a]] - draws[:, column[b]]
        elif design.source == "tasks" and not sampled:
            reasons.append("no interval: no level has two or more shared tasks")
        else:
            pair_draws = _draws(design, np.array([a, b]), w, resamples,
                                _seed(seed, 1, min(a, b), max(a, b)))
            diffs = pair_draws[:, 0] - pair_draws[:, 1]
        if diffs is not None:
            resampled[len(records)] = diffs
        record["tasks_for_80_power"] = _tasks_for_power(d, sampled, reasons)
        records.append(record)
    if resampled:  # (one quantile call for every pair's resampled differences)
        bounds = _percentile(np.column_stack(list(resampled.values())), confidence).T
        for i, (low, high) in zip(resampled, bounds, strict=True):
            records[i]["ci_low"], records[i]["ci_high"] = float(low), float(high)
    tested = [r for r in records if r["n_tasks"] > 0]
    for record, p in zip(tested, _sign_flip_ps(differences, seed), strict=True):
        record["p_value"] = p
    return _pair_frame(records, [r["n_tasks"] for r in tested], confidence, how, pairs)


def _pair_frame(records: list[dict[str, Any]], tested: list[int], confidence: float, how: str,
                pairs: str) -> pd.DataFrame:
    """The pairs' frame: Holm's adjustment across the pairs, verdicts and reasons added."""
    adjusted = holm([r["p_value"] for r in records])
    for record, p_holm in zip(records, adjusted, strict=True):
        record["p_holm"] = p_holm
        record["verdict"] = None if p_holm is None else (
            "ahead" if p_holm < ALPHA else "indistinguishable")
        record["reason"] = "; ".join(_verdict_reason(record, tested, confidence)
                                     + record["reason"]) or None
    out = pd.DataFrame(records, columns=list(PAIR_COLUMNS))
    for name in ("p_value", "p_holm"):
        out[name] = out[name].astype(float)
    out["tasks_for_80_power"] = out["tasks_for_80_power"].astype("Int64")
    out["verdict"] = out["verdict"].astype(object)
    out.attrs.update(order=how, pairs=pairs)
    return out


#: Why a pair has no power estimate when none of its levels has two shared tasks.
NO_TASK_SPREAD = ("no power estimate: no level has two or more shared tasks, so the per-task "
                  "differences spread across levels, not across tasks drawn from a level, and "
                  "say nothing of how more tasks would vary")


#: Relative size below which a mean or SD of per-task differences is rounding noise.
_RELATIVE_ZERO = 1e-12


def _tasks_for_power(d: np.ndarray, sampled: bool, reasons: list[str]) -> int | None:
    """Tasks for 80% power, or None with the reason added to ``reasons``; ``sampled`` says
    whether some level has two or more of the pair's shared tasks."""
    if len(d) < 2:
        reasons.append("no power estimate: fewer than two shared tasks")
        return None
    if not sampled:
        reasons.append(NO_TASK_SPREAD)
        return None
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    # Compared with a tolerance: equal differences leave an SD of rounding noise (1e-17),
    # which must not decide between "none" and a number.
    if abs(mean) <= _RELATIVE_ZERO * float(np.abs(d).max()):
        reasons.append("no power estimate: the per-task differences average 0")
        return None
    if sd <= _RELATIVE_ZERO * abs(mean):  # (the same difference on every task)
        return MIN_TASKS_FOR_SIGNIFICANCE
    needed = (_Z_POWER * sd / mean) ** 2
    if needed > MAX_TASKS_REPORTED:
        reasons.append(f"no power estimate: the difference is so small against its spread "
                       f"that more than {MAX_TASKS_REPORTED:,} tasks would be needed")
        return None
    return max(MIN_TASKS_FOR_SIGNIFICANCE, math.ceil(needed))


def smallest_p(n_tasks: int) -> float:
    """The smallest two-sided p the sign-flip test can give on ``n_tasks`` differences: 2 of
    all 2^n flips when exact, else 2 of the Monte Carlo flips + 1 (its +1 adjustment).

    Examples
    --------
    >>> smallest_p(3), smallest_p(500)
    (0.25, 0.0002)
    """
    if n_tasks <= PERMUTATION_EXACT_MAX_TASKS:
        return min(1.0, 2 / 2**n_tasks)
    return 2 / (PERMUTATION_RESAMPLES + 1)


def smallest_holm_p(n_tasks: int, tested: Sequence[int]) -> float:
    """The smallest Holm-adjusted p a pair on ``n_tasks`` shared tasks can get when the pairs
    tested share ``tested`` tasks (one entry per pair, this one included).

    Holm's adjusted p of any pair is at least len(tested) × the smallest raw p of all (its
    first step) and at least its own raw p (its last), so the floor is the larger of
    len(tested) × the smallest :func:`smallest_p` of the pairs and this pair's own.

    Examples
    --------
    >>> smallest_holm_p(3, [3, 3, 3]), smallest_holm_p(6, [20, 20, 6])
    (0.75, 0.03125)
    """
    floor = len(tested) * min(smallest_p(n) for n in tested)
    return min(1.0, max(smallest_p(n_tasks), floor))


#: The fewest tasks with which the sign-flip test can reach p < α at all (2 / 2^6 with α =
#: 0.05): the normal approximation's smaller answers would promise what the test cannot give.
MIN_TASKS_FOR_SIGNIFICANCE = next(n for n in range(1, PERMUTATION_EXACT_MAX_TASKS + 2)
                                  if smallest_p(n) < ALPHA)


def _verdict_reason(record: dict[str, Any], tested: list[int], confidence: float
                    ) -> list[str]:
    p = record["p_holm"]
    if p is None:
        return []
    n_pairs = len(tested)
    family = f"Holm-adjusted over {n_pairs} pair(s)"
    if record["verdict"] == "ahead":
        return [f"{fmt.pval(p)}, below {ALPHA:g} ({family})"]
    text = f"{fmt.pval(p)}, not below {ALPHA:g} ({family})"
    if record["ci_low"] > 0 or record["ci_high"] < 0:
        text += (f"; the unadjusted {fmt.pct(confidence)} interval excludes 0, but the adjusted "
                 "test does not reject")
    n = record["n_tasks"]
    if (floor := smallest_holm_p(n, tested)) >= ALPHA:
        text += (f"; with {n} tasks the smallest this test can give is "
                 f"{fmt.pval(smallest_p(n))}, {fmt.pval(floor)} after Holm over {n_pairs} "
                 "pair(s), so 'ahead' was out of reach")
    return [text]


@dataclass(frozen=True, eq=False)
class LeaderboardUncertainty:
    """Score and rank intervals per model and paired comparisons (issue 14's JSON section).

    ``models`` and ``pairs`` are the frames of :func:`score_intervals` and
    :func:`pairwise_comparisons`; ``pair_order`` says how models were ordered for the pairs,
    ``pair_selection`` which pairs were compared (``"adjacent"`` in that order, or ``"all"``):
    Holm's adjustment is across those pairs.
    """

    method: str
    ci_method: str | None
    resamples: int
    seed: int
    reason: str | None
    pair_order: str
    pair_selection: str
    models: pd.DataFrame
    pairs: pd.DataFrame

    def __repr__(self) -> str:
        from .display import one_line_repr

        return one_line_repr("LeaderboardUncertainty", [
            ("ci_method", self.ci_method), ("models", len(self.models)),
            ("pairs", len(self.pairs)), ("reason", self.reason)])

    def _repr_html_(self) -> str:
        from .display import table_html
        from .report import uncertainty_tables

        return "".join(table_html(part) for part in uncertainty_tables(
            {"leaderboard_uncertainty": self.to_dict()}))

    def to_frame(self) -> pd.DataFrame:
        """The per-model table (score and rank intervals, run noise), one row per model."""
        return self.models.copy()

    def to_dict(self) -> dict[str, Any]:
        """The ``leaderboard_uncertainty`` section: intervals as two-element lists, ``None``
        (with a ``reason``) where undefined, never NaN."""
        return {"method": self.method, "ci_method": self.ci_method,
                "resamples": self.resamples, "seed": self.seed, "reason": self.reason,
                "pair_order": self.pair_order, "pair_selection": self.pair_selection,
                "models": [_record(row, MODEL_KEYS) for row in self.models.to_dict("records")],
                "pairs": [_record(row, PAIR_KEYS) for row in self.pairs.to_dict("records")]}


#: Keys of to_dict's model and pair records, in order.
MODEL_KEYS = ("model", "score", "n_tasks", "ci95", "rank", "rank_ci95", "run_se",
              "run_se_ci95", "reason")
PAIR_KEYS = ("model_a", "model_b", "n_tasks", "difference", "ci95", "p_value", "p_holm",
             "verdict", "tasks_for_80_power", "reason")
_INTEGERS = frozenset({"n_tasks", "rank", "rank_ci95", "tasks_for_80_power"})
_TEXTS = frozenset({"model", "model_a", "model_b", "verdict", "reason"})


def _record(row: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """One JSON record of a frame row: None for any missing value, ints, finite floats."""
    def plain(value: Any, key: str) -> Any:
        if value is None or pd.isna(value):
            return None
        return int(value) if key in _INTEGERS else finite_or_none(value)

    out: dict[str, Any] = {}
    for key in keys:
        if key in _TEXTS:
            out[key] = row[key]
        elif key in JSON_INTERVALS:
            bounds = [plain(row[column], key) for column in JSON_INTERVALS[key]]
            out[key] = None if None in bounds else bounds
        else:
            out[key] = plain(row[key], key)
    return out


def leaderboard_uncertainty(dataset: Dataset, *, pairs: str = "adjacent",
                            resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
                            board: pd.DataFrame | None = None) -> LeaderboardUncertainty:
    """:func:`score_intervals` and :func:`pairwise_comparisons` (at :data:`CONFIDENCE`) from the
    same resamples.

    ``board`` is ``leaderboard(dataset)`` when the caller has it already (else computed).

    Examples
    --------
    >>> from teamforge_analysis import load_dataset
    >>> section = leaderboard_uncertainty(load_dataset()).to_dict()
    >>> section["ci_method"], section["models"][0]["ci95"], section["pairs"][0]["verdict"]
    (None, None, 'indistinguishable')
    """
    design = _design(dataset)
    models, draws, rows = _score_intervals(dataset, design, resamples, seed, CONFIDENCE, board)
    table = _pairs(design, models, draws, rows, pairs, resamples, seed, CONFIDENCE)
    return LeaderboardUncertainty(METHOD, design.source, resamples, seed, design.reason,
                                  table.attrs["order"], table.attrs["pairs"], models, table)
