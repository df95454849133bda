"""Statistics a referee asks for: fixed-effects partial correlations, attainable p-value floors,
leave-one-out correlations, rank concordance, effect sizes and the data that would settle a claim.

Conventions as in :mod:`.stats`: frozen results with named fields and ``to_dict()``; a statistic
that is undefined for the data is ``None`` with a ``reason`` (never NaN, never an exception on
small or degenerate input); every test is two-sided at α = 0.05 with scipy's permutation
convention (twice the smaller one-sided p, capped at 1) unless its docstring says otherwise.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats as sps

from . import _fmt as fmt
from ._fmt import ALPHA
from .stats import (
    PERMUTATION_EXACT_MAX_N,
    ResultDisplay,
    correlation,
    finite_or_none,
    quiet,
)

__all__ = ["NEAR_PERFECT_R", "AttainablePResult", "BeyondConstructionResult", "ConcordanceResult",
           "MeanDifferenceResult", "PartialCorrelationResult", "SettleResult", "SizeTestResult",
           "beyond_construction", "fixed_effects_residuals", "floor_ceiling_warning", "kendalls_w",
           "leave_one_out_correlations", "mean_difference_interval",
           "min_attainable_correlation_p", "near_perfect_verdict",
           "partial_correlation_fixed_effects", "settle_correlation",
           "settle_fixed_effects_correlation", "settle_paired", "settle_size_test", "size_test",
           "size_verdict"]

Verdict = Literal["supported", "contradicted", "inconclusive", "not_computable"]

#: "Near-perfect" correlation, declared once: r >= 0.9.
NEAR_PERFECT_R = 0.9
#: Exact enumerations (Kendall's W arrangements, Mann–Whitney splits with ties) up to this many.
EXACT_MAX_ARRANGEMENTS = 20_000
# A residual whose norm is below this fraction of the centred variable's norm is rounding noise:
# the fixed effects explain the variable entirely.
_CONSTANT_TOLERANCE = 1e-10


# ----------------------------------------------------------------------------------------------
# Finding 3: partial correlation with fixed effects, beyond construction
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class PartialCorrelationResult(ResultDisplay):
    """Partial correlation controlling for fixed effects.

    ``k`` is the number of dummy columns (rank of the design minus the intercept: Σ(levels − 1)
    when the factors are not confounded); ``dof`` = n − k − 2 for the t test; the 95% interval
    is Fisher's with standard error 1/√(n − k − 3) (pingouin.partial_corr's convention).
    """

    n: int
    r: float | None = None
    ci95: tuple[float, float] | None = None
    p_value: float | None = None
    dof: int | None = None
    k: int | None = None
    reason: str | None = None


def partial_correlation_fixed_effects(data: pd.DataFrame, *, x: str, y: str,
                                      factors: Sequence[str] = ("model", "task")
                                      ) -> PartialCorrelationResult:
    """Partial correlation of ``y`` with ``x`` controlling for fixed effects of ``factors``.

    Both are residualised by least squares on an intercept and one dummy per factor level (the
    first level of each factor dropped); r is the correlation of the residuals, p is two-sided
    from t = r √(dof / (1 − r²)) with dof = n − k − 2, and ``ci95`` is
    tanh(atanh r ± z₀.₉₇₅ / √(n − k − 3)). Rows missing x, y or a factor are dropped. r and p need
    dof >= 1 and non-constant residuals; ``ci95`` needs n − k − 3 >= 1.

    Examples
    --------
    With one factor this is the correlation of the within-model deviations:
    r = 4 / √(5 × 4.5).

    >>> df = pd.DataFrame({"model": list("aabbcc"),
    ...                    "x": [1, 2, 2, 5, 3, 3], "y": [1, 3, 2, 4, 4, 3]})
    >>> res = partial_correlation_fixed_effects(df, x="x", y="y", factors=("model",))
    >>> res.n, res.k, res.dof, round(res.r, 4)
    (6, 2, 2, 0.8433)
    >>> [round(v, 3) for v in res.ci95]
    [-0.622, 0.997]
    """
    frame = data[[x, y, *factors]].dropna()
    n = len(frame)
    if n == 0:
        return PartialCorrelationResult(n=0, reason="no complete rows")
    residuals = fixed_effects_residuals(frame, [x, y], factors)
    resid, k = residuals.to_numpy(), residuals.attrs["k"]
    xy = frame[[x, y]].to_numpy(dtype=float)
    dof = n - k - 2
    if dof < 1:
        return PartialCorrelationResult(
            n=n, k=k, reason=f"needs n − k − 2 >= 1 residual degrees of freedom (n = {n}, k = {k})")
    for j, name in enumerate((x, y)):
        # Rounding leaves residuals of about n × eps × |x| even where the fixed effects explain
        # x entirely (a constant x has a centred norm of rounding noise too).
        noise = n * np.finfo(float).eps * float(np.abs(xy[:, j]).max())
        scale = float(np.linalg.norm(xy[:, j] - xy[:, j].mean()))
        if float(np.linalg.norm(resid[:, j])) <= max(_CONSTANT_TOLERANCE * scale, noise, 1e-300):
            return PartialCorrelationResult(
                n=n, dof=dof, k=k,
                reason=f"{name} is constant after removing the fixed effects of "
                       f"{', '.join(factors)}")
    # The residuals have mean 0 (the design has an intercept), so r is their cosine.
    rx, ry = resid[:, 0], resid[:, 1]
    r = float(np.clip(rx @ ry / (np.linalg.norm(rx) * np.linalg.norm(ry)), -1.0, 1.0))
    if abs(r) >= 1 - 1e-12:
        return PartialCorrelationResult(n=n, r=r, p_value=0.0, dof=dof, k=k,
                                        reason="ci95 is undefined when |r| = 1")
    t = r * math.sqrt(dof / (1 - r * r))
    p = finite_or_none(2 * sps.t.sf(abs(t), dof))
    if n - k - 3 < 1:
        return PartialCorrelationResult(n=n, r=r, p_value=p, dof=dof, k=k,
                                        reason=f"ci95 needs n − k − 3 >= 1 (n = {n}, k = {k})")
    half = float(sps.norm.ppf(0.975)) / math.sqrt(n - k - 3)
    ci = (math.tanh(math.atanh(r) - half), math.tanh(math.atanh(r) + half))
    return PartialCorrelationResult(n=n, r=r, ci95=ci, p_value=p, dof=dof, k=k)


def fixed_effects_residuals(data: pd.DataFrame, columns: Sequence[str],
                            factors: Sequence[str] = ("model", "task")) -> pd.DataFrame:
    """``columns`` residualised on an intercept and one dummy per level of each factor.

    Rows missing a column or a factor are dropped (the index is kept). ``.attrs["k"]`` is the
    number of dummy columns that are not redundant (Σ(levels − 1) when the factors are not
    confounded). By the Frisch–Waugh–Lovell theorem, the factor with the most levels is
    absorbed by subtracting group means and only the others' dummies (centred in the same
    groups) go to least squares: the residuals of the one regression on all dummies, without
    a rows × (models + tasks) design matrix.

    Examples
    --------
    >>> df = pd.DataFrame({"model": list("aabb"), "task": list("stst"),
    ...                    "x": [1.0, 2.0, 3.0, 5.0]})
    >>> res = fixed_effects_residuals(df, ["x"])
    >>> res["x"].round(2).tolist(), res.attrs["k"]
    ([0.25, -0.25, -0.25, 0.25], 2)
    """
    frame = data[[*columns, *factors]].dropna()
    if frame.empty or not factors:  # (no rows, or an intercept alone: centred values)
        out = frame[list(columns)].astype(float) - frame[list(columns)].astype(float).mean()
        out.attrs["k"] = 0
        return out
    codes = {name: pd.factorize(frame[name].astype(str))[0] for name in factors}
    absorbed = max(factors, key=lambda name: codes[name].max(initial=0))
    groups = codes[absorbed]
    sizes = np.bincount(groups)

    def within(values: np.ndarray) -> np.ndarray:
        sums = np.zeros((len(sizes), values.shape[1]))
        np.add.at(sums, groups, values)
        return values - (sums / np.maximum(sizes, 1)[:, None])[groups]

    resid = within(frame[list(columns)].to_numpy(dtype=float))
    k = max(len(sizes) - 1, 0)
    rest = [np.eye(codes[name].max() + 1)[codes[name]][:, 1:] for name in factors
            if name != absorbed]
    dummies = within(np.hstack([np.empty((len(groups), 0)), *rest]))
    if dummies.shape[1]:
        coef, _, rank, _ = np.linalg.lstsq(dummies, resid, rcond=None)
        resid = resid - dummies @ coef
        k += int(rank)
    out = pd.DataFrame(resid, index=frame.index, columns=list(columns))
    out.attrs["k"] = k
    return out


@dataclass(frozen=True, repr=False)
class BeyondConstructionResult(PartialCorrelationResult):
    """Partial correlation of the rest of the score with test_pass (model and task fixed).

    ``outcome`` names the outcome correlated: ``"score - 0.4 x test_pass"`` or ``"score"``.
    """

    outcome: str = "score"


def beyond_construction(data: pd.DataFrame, *, weight: float | None, score: str = "score",
                        test_pass: str = "test_pass",
                        factors: Sequence[str] = ("model", "task")) -> BeyondConstructionResult:
    """What of the score tracks test_pass beyond the grader's built-in ``weight × test_pass``.

    The outcome is score − weight × test_pass (the score itself when ``weight`` is None: no
    grader formula declared); its partial correlation with test_pass controls for the fixed
    effects of ``factors`` (:func:`partial_correlation_fixed_effects`), one row per cell.

    Examples
    --------
    >>> df = pd.DataFrame({"model": list("aaabbbccc"), "task": list("stu" * 3),
    ...                    "test_pass": [0.2, 0.5, 0.9, 0.1, 0.4, 0.7, 0.3, 0.3, 0.8],
    ...                    "score": [0.3, 0.4, 0.8, 0.2, 0.3, 0.8, 0.2, 0.4, 0.7]})
    >>> res = beyond_construction(df, weight=0.4)
    >>> res.outcome, res.n, res.k, res.dof, round(res.r, 3)
    ('score - 0.4 x test_pass', 9, 4, 3, -0.887)
    """
    outcome = "score" if weight is None else f"{score} - {weight:g} x {test_pass}"
    frame = data[[score, test_pass, *factors]].copy()
    frame["_outcome"] = frame[score] - (0.0 if weight is None else weight) * frame[test_pass]
    res = partial_correlation_fixed_effects(frame, x=test_pass, y="_outcome", factors=factors)
    reason = res.reason if res.reason is None else res.reason.replace("_outcome", outcome)
    return BeyondConstructionResult(n=res.n, r=res.r, ci95=res.ci95, p_value=res.p_value,
                                    dof=res.dof, k=res.k, outcome=outcome, reason=reason)


def near_perfect_verdict(result: PartialCorrelationResult | BeyondConstructionResult, *,
                         threshold: float = NEAR_PERFECT_R) -> tuple[Verdict, str]:
    """*supported* iff the whole 95% interval is >= ``threshold``; *contradicted* iff it is all
    below; *inconclusive* otherwise; *not_computable* without an interval.

    Examples
    --------
    >>> near_perfect_verdict(PartialCorrelationResult(n=12, r=0.004, ci95=(-0.75, 0.75)))
    ('contradicted', 'the whole 95% interval (-0.75 to 0.75) is below 0.9')
    """
    if result.r is None or result.ci95 is None:
        return "not_computable", f"the interval is undefined ({result.reason})"
    lo, hi = result.ci95
    span = f"the whole 95% interval ({fmt.span((lo, hi), fmt.corr)})"
    if lo >= threshold:
        return "supported", f"{span} is at or above {threshold:g}"
    if hi < threshold:
        return "contradicted", f"{span} is below {threshold:g}"
    return "inconclusive", (f"the 95% interval ({fmt.span((lo, hi), fmt.corr)}) contains "
                            f"{threshold:g}")


# ----------------------------------------------------------------------------------------------
# Finding 1: the attainable floor, leave-one-out, rank concordance, floor and ceiling
# ----------------------------------------------------------------------------------------------
def _verdict_p(x: np.ndarray, y: np.ndarray) -> float | None:
    """The p the correlation verdicts use: permutation where defined, else parametric."""
    return correlation(x, y).p_for_verdict


@dataclass(frozen=True, repr=False)
class AttainablePResult(ResultDisplay):
    """Smallest p a test could give with these values (their most extreme arrangement)."""

    n: int
    min_attainable_p: float | None = None
    reason: str | None = None


def min_attainable_correlation_p(x: Any, y: Any, *,
                                 test: Callable[[np.ndarray, np.ndarray], float | None] = _verdict_p
                                 ) -> AttainablePResult:
    """The smallest p ``test`` could give with the observed values of x and y.

    The test (by default the verdicts' own: ``stats.correlation(x, y).p_for_verdict``, an exact
    permutation p for n <= 8, Monte Carlo up to 100) is run on the most extreme arrangements of
    the observed values, y sorted in the order of x and in the reverse order, so ties and the
    Monte Carlo floor count. Incomplete pairs are dropped.

    Examples
    --------
    Four untied values: 2/4! under scipy's two-sided convention.

    >>> round(min_attainable_correlation_p([1, 2, 3, 4], [4, 1, 3, 2]).min_attainable_p, 4)
    0.0833
    """
    xa = np.asarray(x, dtype=float).ravel()
    ya = np.asarray(y, dtype=float).ravel()
    keep = np.isfinite(xa) & np.isfinite(ya)
    xs, ys = np.sort(xa[keep]), np.sort(ya[keep])
    n = int(xs.size)
    if n < 3 or np.ptp(xs) == 0 or np.ptp(ys) == 0:
        return AttainablePResult(n=n, reason="needs at least 3 pairs and non-constant values")
    ps = [p for p in (test(xs, ys), test(xs, ys[::-1])) if p is not None]
    if not ps:
        return AttainablePResult(n=n, reason="the test is undefined for these values")
    return AttainablePResult(n=n, min_attainable_p=min(ps))


def leave_one_out_correlations(sizes: pd.Series, level_scores: pd.Series | pd.DataFrame
                               ) -> pd.DataFrame:
    """For each model of known size, the correlation of size with score without it.

    ``level_scores`` is a Series (one level) or a models × levels DataFrame (a ``level``
    column is added). ``p_value`` is the verdicts' p (the exact permutation p) up to 8 models
    left, the parametric p beyond (``p_method`` says which); undefined values are None with a
    ``reason``.

    Examples
    --------
    >>> sizes = pd.Series({"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0})
    >>> scores = pd.Series({"a": .1, "b": .3, "c": .2, "d": .4})
    >>> out = leave_one_out_correlations(sizes, scores)
    >>> list(out["left_out"]), [round(r, 3) for r in out["r"]], list(out["n"])
    (['a', 'b', 'c', 'd'], [0.5, 0.929, 0.929, 0.5], [3, 3, 3, 3])
    """
    one_level = isinstance(level_scores, pd.Series)
    frame = level_scores.to_frame() if one_level else level_scores
    known = sizes.dropna().index.intersection(frame.index)
    rows = []
    for level in frame.columns:
        x = sizes.reindex(known).to_numpy(float)
        y = frame.loc[known, level].to_numpy(float)
        if np.isfinite(y).all() and len(known) - 1 > PERMUTATION_EXACT_MAX_N:
            # Beyond the exact permutation range the p is parametric (a Monte Carlo test per
            # model would cost seconds for a sensitivity check; p_method says so): all
            # leave-one-out samples at once, with scipy's pearsonr along an axis.
            rows += _leave_one_out_parametric(level, known, x, y)
            continue
        for model in known:
            rest = known.drop(model)
            res = correlation(sizes.reindex(rest).to_numpy(float),
                              frame.loc[rest, level].to_numpy(float))
            method = ("permutation" if res.p_permutation is not None
                      else "parametric" if res.p_value is not None else None)
            row = {"level": level, "left_out": model, "n": res.n, "r": res.r,
                   "p_value": res.p_for_verdict, "p_method": method,
                   "reason": res.reason if res.p_for_verdict is None else None}
            rows.append(row)
    # dtype object keeps None as None (pandas would turn it into NaN in float or str columns).
    out = pd.DataFrame(rows, columns=["level", "left_out", "n", "r", "p_value", "p_method",
                                      "reason"], dtype=object).astype({"n": int})
    return out.drop(columns="level") if one_level else out


def _leave_one_out_parametric(level: Any, known: pd.Index, x: np.ndarray, y: np.ndarray
                              ) -> list[dict[str, Any]]:
    n = len(known)
    keep = ~np.eye(n, dtype=bool)
    xs = np.broadcast_to(x, (n, n))[keep].reshape(n, n - 1)
    ys = np.broadcast_to(y, (n, n))[keep].reshape(n, n - 1)
    with quiet():
        res = sps.pearsonr(xs, ys, axis=1)
    rows = []
    for model, r, p in zip(known, res.statistic, res.pvalue, strict=True):
        defined = bool(np.isfinite(r) and np.isfinite(p))
        rows.append({"level": level, "left_out": model, "n": n - 1,
                     "r": float(r) if defined else None, "p_value": float(p) if defined else None,
                     "p_method": "parametric" if defined else None,
                     "reason": None if defined else "a constant sample without this model"})
    return rows


@dataclass(frozen=True, repr=False)
class ConcordanceResult(ResultDisplay):
    """Kendall's W of the items' rankings across raters (models ranked within each level)."""

    n_items: int
    n_raters: int
    w: float | None = None
    p_value: float | None = None
    method: str | None = None
    reason: str | None = None


def _rank_sum_spread(rank_sums: np.ndarray) -> np.ndarray:
    """S = Σ (R_i − mean R)², over the last axis."""
    return ((rank_sums - rank_sums.mean(axis=-1, keepdims=True)) ** 2).sum(axis=-1)


def kendalls_w(rankings: pd.DataFrame) -> ConcordanceResult:
    """Kendall's W of the models' rankings across levels, with its p-value.

    ``rankings`` is a models × levels frame of scores; models with a missing score are dropped.
    Within each level the models are ranked (average ranks for ties) and
    W = 12 S / (m²(n³ − n) − m Σ(t³ − t)), tie-corrected, for n models and m levels. The p is
    the upper tail (concordance), exact over all (n!)^(m−1) arrangements of the rankings within
    levels when there are at most 20,000 of them, else Friedman's χ² = m (n − 1) W on n − 1
    degrees of freedom.

    Examples
    --------
    Four models in the same order on three levels: W = 1, p = 1/(4!)².

    >>> res = kendalls_w(pd.DataFrame({"easy": [.9, .8, .7, .6], "hard": [.5, .4, .3, .2],
    ...                                "mid": [.6, .5, .4, .1]}, index=list("abcd")))
    >>> res.w, round(res.p_value, 5), res.method
    (1.0, 0.00174, 'exact (576 arrangements)')
    """
    complete = rankings.dropna()
    n, m = complete.shape
    if n < 2 or m < 2:
        return ConcordanceResult(n_items=n, n_raters=m,
                                 reason=f"needs at least 2 models and 2 levels (n = {n}, m = {m})")
    values = complete.to_numpy(dtype=float).T  # raters × items
    ranks = sps.rankdata(values, axis=1)
    ties = sum(float(np.sum(c ** 3 - c)) for c in
               (np.unique(row, return_counts=True)[1] for row in values))
    denominator = m ** 2 * (n ** 3 - n) - m * ties
    if denominator <= 0:
        return ConcordanceResult(n_items=n, n_raters=m,
                                 reason="every level scores all models the same")
    s_obs = float(_rank_sum_spread(ranks.sum(axis=0)))
    w = 12 * s_obs / denominator
    arrangements = math.factorial(n) ** (m - 1)
    if arrangements <= EXACT_MAX_ARRANGEMENTS:
        # W is unchanged by relabelling the items, so the first ranking stays fixed.
        sums = ranks[:1]
        for row in ranks[1:]:
            perms = np.array(list(itertools.permutations(row)))
            sums = (sums[:, None, :] + perms[None, :, :]).reshape(-1, n)
        spread = _rank_sum_spread(sums)
        p = float(np.mean(spread >= s_obs * (1 - 1e-12) - 1e-12))
        method = f"exact ({arrangements} arrangements)"
    else:
        with quiet():
            chi2 = (float(sps.friedmanchisquare(*values.T).statistic) if n >= 3
                    else m * (n - 1) * w)  # scipy needs 3 items; the identity holds for 2
        p = float(sps.chi2.sf(chi2, n - 1))
        method = f"Friedman chi-squared ({n - 1} dof)"
    return ConcordanceResult(n_items=n, n_raters=m, w=float(w), p_value=finite_or_none(p),
                             method=method)


def floor_ceiling_warning(level_scores: pd.DataFrame, *, low: float = 0.05, high: float = 0.95,
                          share: float = 0.25) -> list[dict[str, Any]]:
    """Levels where more than ``share`` of the models score <= ``low`` or >= ``high``.

    A floor or ceiling compresses the differences a correlation with size could show. Each
    entry: ``level``, ``n_models`` (with a score), ``n_floor``, ``n_ceiling``.

    Examples
    --------
    >>> floor_ceiling_warning(pd.DataFrame({"easy": [1.0, 0.97, 0.5, 0.6],
    ...                                     "hard": [0.3, 0.04, 0.5, 0.6]}))
    [{'level': 'easy', 'n_models': 4, 'n_floor': 0, 'n_ceiling': 2}]
    """
    out = []
    for level in level_scores.columns:
        scores = level_scores[level].dropna().to_numpy(dtype=float)
        n_floor, n_ceiling = int((scores <= low).sum()), int((scores >= high).sum())
        if scores.size and n_floor + n_ceiling > share * scores.size:
            out.append({"level": level, "n_models": int(scores.size), "n_floor": n_floor,
                        "n_ceiling": n_ceiling})
    return out


# ----------------------------------------------------------------------------------------------
# Finding 2: effect size
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class MeanDifferenceResult(ResultDisplay):
    """Mean of paired differences with its 95% t-interval, and their median."""

    n: int
    mean_d: float | None = None
    ci95: tuple[float, float] | None = None
    median_d: float | None = None
    reason: str | None = None


def mean_difference_interval(d: Any) -> MeanDifferenceResult:
    """95% t-interval mean ± t₀.₉₇₅,ₙ₋₁ · s/√n of the differences ``d`` (missing ones dropped).

    Examples
    --------
    >>> res = mean_difference_interval([2, 4, 2, 3])
    >>> res.mean_d, [round(v, 2) for v in res.ci95], res.median_d
    (2.75, [1.23, 4.27], 2.5)
    """
    da = np.asarray(d, dtype=float).ravel()
    da = da[np.isfinite(da)]
    n = int(da.size)
    if n == 0:
        return MeanDifferenceResult(n=0, reason="no complete differences")
    mean, median = float(da.mean()), float(np.median(da))
    if n < 2:
        return MeanDifferenceResult(n=n, mean_d=mean, median_d=median,
                                    reason="ci95 needs at least 2 differences")
    if np.ptp(da) == 0:
        return MeanDifferenceResult(n=n, mean_d=mean, median_d=median,
                                    reason=f"ci95 is undefined: every difference is {da[0]:g}")
    half = float(sps.t.ppf(0.975, n - 1)) * float(da.std(ddof=1)) / math.sqrt(n)
    return MeanDifferenceResult(n=n, mean_d=mean, ci95=(mean - half, mean + half),
                                median_d=median)


# ----------------------------------------------------------------------------------------------
# Finding 4: a symmetric size test
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class SizeTestResult(ResultDisplay):
    """Two-sided Mann–Whitney test of the sizes of passing against failing models.

    ``statistic`` is U of the passing models (the number of (passing, failing) pairs where the
    passing model is larger, ties counting 1/2); ``direction`` is "passing larger",
    "passing smaller" or "none" (U at its null mean).
    """

    n_passing: int
    n_failing: int
    statistic: float | None = None
    p_value: float | None = None
    method: str | None = None
    min_attainable_p: float | None = None
    separated: bool | None = None
    direction: str | None = None
    reason: str | None = None


def _mann_whitney(a: np.ndarray, b: np.ndarray) -> tuple[float, float, str]:
    """U of ``a``, two-sided p and the method: exact without ties, else a permutation test
    over all C(n, k) splits (a normal approximation when there are too many)."""
    splits = math.comb(a.size + b.size, a.size)
    if np.unique(np.concatenate([a, b])).size == a.size + b.size:
        res, method = sps.mannwhitneyu(a, b, method="exact"), "exact"
    elif min(a.size, b.size) == 1:
        # scipy's permutation test refuses a one-model group, whose n splits are listed here:
        # the lone model's U is its mid-rank − 1 among all n, and U of a is n_a n_b − U of b.
        ranks = sps.rankdata(np.concatenate([a, b])) - 1
        null = ranks if a.size == 1 else a.size - ranks
        observed = float(null[0] if a.size == 1 else null[-1])
        p = min(1.0, 2 * min(np.mean(null <= observed + 1e-9), np.mean(null >= observed - 1e-9)))
        return observed, float(p), f"permutation (all {splits} splits; ties)"
    elif splits <= EXACT_MAX_ARRANGEMENTS:
        # n_resamples >= the number of distinct splits makes scipy enumerate them all.
        res = sps.mannwhitneyu(a, b, method=sps.PermutationMethod(n_resamples=splits))
        method = f"permutation (all {splits} splits; ties)"
    else:
        res, method = sps.mannwhitneyu(a, b, method="asymptotic"), "asymptotic (ties)"
    return float(res.statistic), float(res.pvalue), method


def size_test(passing_sizes: Any, failing_sizes: Any) -> SizeTestResult:
    """Do passing models differ in size from failing ones? (``scipy.stats.mannwhitneyu``)

    ``min_attainable_p`` is the same test on the most extreme splits of the observed sizes
    (the passing models the largest or the smallest): 2/C(n, k) without ties. Missing sizes
    are dropped.

    Examples
    --------
    >>> res = size_test([70, 46.7], [9, 8])
    >>> res.statistic, round(res.p_value, 4), round(res.min_attainable_p, 4), res.separated
    (4.0, 0.3333, 0.3333, True)
    """
    a = np.asarray(passing_sizes, dtype=float).ravel()
    b = np.asarray(failing_sizes, dtype=float).ravel()
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size == 0 or b.size == 0:
        which = "no model passes" if a.size == 0 else "every model passes"
        return SizeTestResult(n_passing=int(a.size), n_failing=int(b.size),
                              reason=f"{which}, so there are no two groups to compare")
    with quiet():
        u, p, method = _mann_whitney(a, b)
        pooled = np.sort(np.concatenate([a, b]))
        k = a.size
        floor = min(_mann_whitney(pooled[-k:], pooled[:-k])[1],
                    _mann_whitney(pooled[:k], pooled[k:])[1])
    centre = a.size * b.size / 2
    direction = "passing larger" if u > centre else "passing smaller" if u < centre else "none"
    return SizeTestResult(n_passing=int(a.size), n_failing=int(b.size), statistic=u,
                          p_value=finite_or_none(p), method=f"Mann-Whitney U, two-sided, {method}",
                          min_attainable_p=finite_or_none(floor),
                          separated=bool(a.min() > b.max()), direction=direction)


def size_verdict(result: SizeTestResult, *, alpha: float = ALPHA) -> tuple[Verdict, str]:
    """*supported* iff p < α with the passing models larger; *contradicted* iff p < α with them
    smaller; *inconclusive* otherwise; *not_computable* when the test is undefined.

    Examples
    --------
    >>> size_verdict(size_test([70, 46.7], [9, 8]))
    ('inconclusive', 'p = 0.333 is not below 0.05 (the smallest attainable p = 0.333)')
    """
    if result.p_value is None:
        return "not_computable", f"the size test is undefined ({result.reason})"
    p = fmt.pval(result.p_value)
    if result.p_value < alpha and result.direction == "passing larger":
        return "supported", f"{p} (below {alpha:g}) and the passing models are larger"
    if result.p_value < alpha and result.direction == "passing smaller":
        return "contradicted", f"{p} (below {alpha:g}) and the passing models are smaller"
    floor = ("" if result.min_attainable_p is None
             else f" (the smallest attainable {fmt.pval(result.min_attainable_p)})")
    return "inconclusive", f"{p} is not below {alpha:g}{floor}"


# ----------------------------------------------------------------------------------------------
# What data would settle it
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class SettleResult(ResultDisplay):
    """How many units the rule's test needs: ``min_n_attainable`` (the fewest with which it
    could reach p < α at all, other things as observed) and ``n_for_80_power`` (for the power
    asked, 80% by default, at the observed effect; never below ``min_n_attainable``)."""

    unit: str
    n_observed: int | None = None
    min_n_attainable: int | None = None
    n_for_80_power: int | None = None
    method: str | None = None
    reason: str | None = None


_SEARCH_MAX_N = 200  # the floors below fall under any usual α long before this


def _z_sum(alpha: float, power: float) -> float:
    return float(sps.norm.ppf(1 - alpha / 2) + sps.norm.ppf(power))


def _first_n(start: int, floor_p: Callable[[int], float | None], alpha: float) -> int | None:
    for n in range(start, _SEARCH_MAX_N + 1):
        p = floor_p(n)
        if p is not None and p < alpha:
            return n
    return None


def _fisher_distance(r: float | None, null_r: float) -> float | None:
    if r is None or not math.isfinite(r):
        return None
    # |r| = 1 has an infinite Fisher z: any interval-defining n would do.
    clip = 1 - 1e-12
    return abs(float(np.arctanh(np.clip(r, -clip, clip)) - np.arctanh(null_r)))


def settle_correlation(r_observed: float | None, n_observed: int | None = None, *,
                       null_r: float = 0.0, alpha: float = ALPHA, power: float = 0.80
                       ) -> SettleResult:
    """Models needed by the correlation rule (exact permutation p for n <= 8).

    ``min_n_attainable``: the fewest untied models whose most extreme arrangement gives a
    permutation p below α (5 at α = 0.05: 2/5! = 0.017). ``n_for_80_power``: the Fisher-z
    approximation ((z₁₋α/₂ + z_power) / |atanh r − atanh null_r|)² + 3, rounded up.

    Examples
    --------
    >>> res = settle_correlation(0.5, 4)
    >>> res.min_n_attainable, res.n_for_80_power
    (5, 30)
    """
    min_n = _first_n(3, lambda n: min_attainable_correlation_p(np.arange(n), np.arange(n))
                     .min_attainable_p, alpha)
    distance = _fisher_distance(r_observed, null_r)
    if distance is None or distance == 0:
        return SettleResult("models", n_observed, min_n, None, reason=(
            "the observed effect is undefined" if distance is None
            else f"the observed r equals {null_r:g}, so no sample size gives power"))
    n_power = math.ceil((_z_sum(alpha, power) / distance) ** 2 + 3)
    return SettleResult("models", n_observed, min_n, max(n_power, min_n or 0), method=(
        "approximate: Fisher z normal theory, at least the exact permutation floor's n"))


def settle_fixed_effects_correlation(r_observed: float | None, *, n_models: int, n_tasks: int,
                                     null_r: float = 0.0, alpha: float = ALPHA,
                                     power: float = 0.80) -> SettleResult:
    """Models needed by a fixed-effects partial correlation on a complete models × tasks grid,
    the number of tasks held at ``n_tasks`` (finding 3: ``null_r=NEAR_PERFECT_R``).

    With M models and T tasks, n − k − 3 = (M − 1)(T − 1) − 2: the interval exists from the
    smallest M making it >= 1 (``min_n_attainable``, approximate: an interval far enough from
    ``null_r`` then excludes it), and the rule has the asked power once
    (M − 1)(T − 1) − 2 >= ((z₁₋α/₂ + z_power) / |atanh r − atanh null_r|)².

    Examples
    --------
    The bundled data's finding 3 (r = 0.004 against 0.9, 4 models × 3 tasks) already has it:

    >>> res = settle_fixed_effects_correlation(0.004, n_models=4, n_tasks=3, null_r=0.9)
    >>> res.min_n_attainable, res.n_for_80_power, res.unit
    (3, 4, 'models')
    """
    if n_tasks < 2:
        return SettleResult("models", n_models, reason=(
            "with one task the task effect leaves no residual variation to correlate"))
    min_n = math.ceil(3 / (n_tasks - 1) + 1)
    distance = _fisher_distance(r_observed, null_r)
    if distance is None or distance == 0:
        return SettleResult("models", n_models, min_n, None, reason=(
            "the observed effect is undefined" if distance is None
            else f"the observed r equals {null_r:g}, so no sample size gives power"))
    needed = (_z_sum(alpha, power) / distance) ** 2
    n_power = math.ceil((needed + 2) / (n_tasks - 1) + 1)
    return SettleResult("models", n_models, min_n, max(n_power, min_n), method=(
        f"approximate: Fisher z, SE 1/√(n − k − 3), {n_tasks} tasks held fixed"))


def settle_paired(d: Any, *, alpha: float = ALPHA, power: float = 0.80) -> SettleResult:
    """Models needed by the two-sided Wilcoxon signed-rank rule on differences ``d``.

    ``min_n_attainable``: the fewest non-zero differences whose exact p can fall below α
    (2/2ⁿ: 6 at α = 0.05). ``n_for_80_power``: the normal approximation
    ((z₁₋α/₂ + z_power) / (mean d / sd d))², divided by the Wilcoxon test's asymptotic relative
    efficiency 3/π, rounded up.

    Examples
    --------
    >>> res = settle_paired([2, 4, 2, 3])
    >>> res.min_n_attainable, res.n_for_80_power
    (6, 6)
    """
    da = np.asarray(d, dtype=float).ravel()
    da = da[np.isfinite(da)]
    min_n = _first_n(1, lambda n: float(sps.wilcoxon(np.arange(1.0, n + 1)).pvalue), alpha)
    if da.size < 2 or np.ptp(da) == 0 or da.mean() == 0:
        return SettleResult("models", int(da.size), min_n, None, reason=(
            "the standardised effect needs at least 2 differences that are not all equal"
            if da.size < 2 or np.ptp(da) == 0 else "the mean difference is 0"))
    effect = abs(float(da.mean())) / float(da.std(ddof=1))
    n_power = math.ceil((_z_sum(alpha, power) / effect) ** 2 / (3 / math.pi))
    return SettleResult("models", int(da.size), min_n, max(n_power, min_n or 0), method=(
        "approximate: normal theory for the mean, Wilcoxon efficiency 3/π"))


def settle_size_test(passing_sizes: Any, failing_sizes: Any, *, alpha: float = ALPHA,
                     power: float = 0.80) -> SettleResult:
    """Models needed by the two-sided Mann–Whitney size rule at the observed passing share c.

    ``min_n_attainable``: the fewest models with round(c n) passing (at least one in each
    group) whose most extreme split has exact p = 2/C(n, k) below α. ``n_for_80_power``:
    Noether's (1987) approximation (z₁₋α/₂ + z_power)² / (12 c (1 − c) (P − 1/2)²), with
    P = U / (n_passing n_failing) the observed probability that a passing model is larger.

    Examples
    --------
    >>> res = settle_size_test([70, 46.7], [9, 8])
    >>> res.min_n_attainable, res.n_for_80_power
    (8, 11)
    """
    a = np.asarray(passing_sizes, dtype=float).ravel()
    b = np.asarray(failing_sizes, dtype=float).ravel()
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    n = int(a.size + b.size)
    if a.size == 0 or b.size == 0:
        return SettleResult("models", n, reason="needs at least one passing and one failing model")
    share = a.size / n

    def floor_p(size: int) -> float:
        k = min(max(math.floor(share * size + 0.5), 1), size - 1)
        return 2 / math.comb(size, k)  # the exact test's most extreme split, without ties

    min_n = _first_n(2, floor_p, alpha)
    u = float(sps.mannwhitneyu(a, b, method="asymptotic").statistic)
    effect = u / (a.size * b.size) - 0.5
    if effect == 0:
        return SettleResult("models", n, min_n, None,
                            reason="passing and failing models do not differ in size (U at its "
                                   "null mean)")
    n_power = math.ceil(_z_sum(alpha, power) ** 2 / (12 * share * (1 - share) * effect ** 2))
    return SettleResult("models", n, min_n, max(n_power, min_n or 0), method=(
        "approximate: Noether (1987), passing share held as observed"))
