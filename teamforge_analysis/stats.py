"""Inferential statistics with explicit degenerate cases.

Every result carries its sample size and uncertainty. A statistic that is undefined for the data
is ``None`` with a ``reason``; nothing here returns NaN, raises on small or constant input, or lets
a numpy/scipy warning reach the user.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special as spc
from scipy import stats as sps

__all__ = ["CorrelationResult", "DifferenceResult", "PairedTestResult", "correlation", "fisher_ci",
           "paired_wilcoxon", "zou_difference"]

def _normal_quantile(q: float) -> float:
    """The standard normal quantile: ``scipy.stats.norm.ppf(q)``, which is ``ndtri(q)``.

    Called directly: norm.ppf's argument checking costs 0.1 ms a call, and a run on a large
    data set asks for a few hundred quantiles.
    """
    return float(spc.ndtri(q))


#: Two-sided 95% normal quantile, used by every Fisher-z interval here.
Z_975 = float(sps.norm.ppf(0.975))
#: Normal quantile for 80% power, used by :func:`min_detectable_r`.
Z_80 = float(sps.norm.ppf(0.80))

#: The fewest complete pairs a correlation is computed from (fewer: every statistic is null).
CORRELATION_MIN_N = 3
#: Exact permutation p-values (all n! pairings) up to this n.
PERMUTATION_EXACT_MAX_N = 8
#: Monte Carlo permutation p-values up to this n; above it the permutation p is null (the
#: parametric p agrees at such sizes, and the resampling would dominate the run time).
PERMUTATION_MAX_N = 100
#: Resamples and seed of the Monte Carlo permutation test (fixed, so results are reproducible).
PERMUTATION_RESAMPLES = 9_999
PERMUTATION_SEED = 20_240_601

# |r| closer to 1 than this is treated as a perfect correlation (Fisher z is infinite there).
_PERFECT_R_TOLERANCE = 1e-12


@contextmanager
def quiet() -> Iterator[None]:
    """Silence numpy floating-point and scipy warnings: degenerate cases are handled explicitly."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def finite_or_none(value: Any) -> float | None:
    """``float(value)`` when it is finite, else ``None`` (never NaN or inf in the outputs)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


class ResultDisplay:
    """A frozen result's ``to_dict()`` (fields in order, intervals as lists, None never NaN),
    one-line ``repr`` and HTML (shown by Jupyter)."""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)  # type: ignore[call-overload]
        for key, value in out.items():
            if isinstance(value, tuple):
                out[key] = list(value)
            elif isinstance(value, float):
                out[key] = finite_or_none(value)
        return out

    def __repr__(self) -> str:
        from .display import one_line_repr

        return one_line_repr(type(self).__name__, self.to_dict().items())  # type: ignore[attr-defined]

    def _repr_html_(self) -> str:
        from .display import result_html

        return result_html(type(self).__name__, self.to_dict())  # type: ignore[attr-defined]


@dataclass(frozen=True, repr=False)
class CorrelationResult(ResultDisplay):
    """Pearson and Spearman correlation of two samples, with n and a 95% interval.

    Attributes
    ----------
    n : int
        Number of complete (x, y) pairs used.
    r, p_value : float or None
        Pearson's r and its two-sided p-value (``scipy.stats.pearsonr``).
    ci95 : tuple of float or None
        95% interval for r by Fisher's z transform, as
        ``scipy.stats.pearsonr(x, y).confidence_interval()``; ``None`` when n <= 3 or |r| = 1.
    spearman_rho, spearman_p : float or None
        ``scipy.stats.spearmanr`` (its p uses a t approximation, rough for small n).
    p_permutation : float or None
        Two-sided permutation p-value of Pearson's r (x permuted, y fixed), from
        ``scipy.stats.permutation_test``: exact for n <= 8, Monte Carlo (9,999 resamples, fixed
        seed) for n <= 100, ``None`` above.
    permutation_method : str or None
        How ``p_permutation`` was computed.
    kendall_tau, kendall_p : float or None
        ``scipy.stats.kendalltau``.
    min_detectable_r : float or None
        Smallest |r| detectable with 80% power at α = 0.05 (two-sided) for this n.
    reason : str or None
        Why any of the fields above is ``None``.
    """

    n: int
    r: float | None = None
    p_value: float | None = None
    ci95: tuple[float, float] | None = None
    spearman_rho: float | None = None
    spearman_p: float | None = None
    p_permutation: float | None = None
    permutation_method: str | None = None
    kendall_tau: float | None = None
    kendall_p: float | None = None
    min_detectable_r: float | None = None
    reason: str | None = None

    @property
    def p_for_verdict(self) -> float | None:
        """The p-value verdict rules use: ``p_permutation`` where defined, else ``p_value``."""
        return self.p_permutation if self.p_permutation is not None else self.p_value

    @property
    def statistic(self) -> float | None:
        """Alias of ``r``, as scipy names it."""
        return self.r



def _complete_pairs(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    xa = np.asarray(x, dtype=float).ravel()
    ya = np.asarray(y, dtype=float).ravel()
    if xa.shape != ya.shape:
        raise ValueError(f"x and y differ in length ({xa.size} and {ya.size})")
    keep = np.isfinite(xa) & np.isfinite(ya)
    return xa[keep], ya[keep]


def fisher_ci(r: float, n: int, *, confidence: float = 0.95) -> tuple[float, float] | None:
    """Fisher-z interval tanh(atanh r ± z/√(n − 3)); ``None`` when n <= 3 or |r| = 1.

    Examples
    --------
    >>> lo, hi = fisher_ci(0.5, 28)
    >>> round(lo, 3), round(hi, 3)
    (0.156, 0.736)
    """
    if n <= 3 or abs(r) >= 1 - _PERFECT_R_TOLERANCE:
        return None
    z = _normal_quantile(0.5 + confidence / 2)
    half = z / math.sqrt(n - 3)
    centre = math.atanh(r)
    return (math.tanh(centre - half), math.tanh(centre + half))


def _fisher_interval(pearson: Any, r: float | None, n: int, reasons: list[str]
                     ) -> tuple[float, float] | None:
    """scipy's Fisher-z 95% interval of Pearson's r, or None with its reason in ``reasons``."""
    if r is not None and n > 3 and abs(r) < 1 - _PERFECT_R_TOLERANCE:
        with quiet():
            interval = pearson.confidence_interval(confidence_level=0.95)
        lo, hi = finite_or_none(interval.low), finite_or_none(interval.high)
        return None if lo is None or hi is None else (lo, hi)
    reasons.append("ci95 needs n > 3 (Fisher z standard error is 1/√(n − 3))" if n <= 3
                   else "ci95 is undefined when |r| = 1 (Fisher z is infinite)")
    return None


def correlation(x: Any, y: Any) -> CorrelationResult:
    """Pearson r with p-value and 95% interval, and Spearman's rho, for paired samples.

    Pairs where either value is missing are dropped; ``n`` counts the pairs used.

    Parameters
    ----------
    x, y : array_like
        Paired samples of equal length.

    Returns
    -------
    CorrelationResult

    Examples
    --------
    Anscombe's quartet, set I (Anscombe 1973): r = 0.816.

    >>> x = [10, 8, 13, 9, 11, 14, 6, 4, 12, 7, 5]
    >>> y = [8.04, 6.95, 7.58, 8.81, 8.33, 9.96, 7.24, 4.26, 10.84, 4.82, 5.68]
    >>> res = correlation(x, y)
    >>> res.n, round(res.r, 3)
    (11, 0.816)

    Degenerate input gives ``None`` with a reason, not NaN:

    >>> correlation([1, 2], [3, 4]).reason
    'needs at least 3 complete pairs (n = 2)'
    """
    xa, ya = _complete_pairs(x, y)
    n = int(xa.size)
    if n < CORRELATION_MIN_N:
        return CorrelationResult(
            n=n, reason=f"needs at least {CORRELATION_MIN_N} complete pairs (n = {n})")
    for name, values in (("x", xa), ("y", ya)):
        if np.ptp(values) == 0:
            return CorrelationResult(
                n=n, reason=f"{name} is constant ({values[0]:g} for all {n} pairs)"
            )
    with quiet():
        pearson = sps.pearsonr(xa, ya)
        spearman = sps.spearmanr(xa, ya)
    r = finite_or_none(pearson.statistic)
    reasons: list[str] = []
    ci = _fisher_interval(pearson, r, n, reasons)
    rho = finite_or_none(spearman.statistic)
    if rho is None:
        reasons.append("Spearman's rho is undefined (ranks of one sample are constant)")
    with quiet():
        kendall = sps.kendalltau(xa, ya)
    tau = finite_or_none(kendall.statistic)
    p_perm, perm_method, perm_reason = permutation_p(xa, ya)
    if perm_reason:
        reasons.append(perm_reason)
    mdr = min_detectable_r(n)
    if mdr is None:
        reasons.append("min_detectable_r needs n > 3")
    return CorrelationResult(
        n=n,
        r=r,
        p_value=finite_or_none(pearson.pvalue),
        ci95=ci,
        spearman_rho=rho,
        spearman_p=finite_or_none(spearman.pvalue) if rho is not None else None,
        p_permutation=p_perm,
        permutation_method=perm_method,
        kendall_tau=tau,
        kendall_p=finite_or_none(kendall.pvalue) if tau is not None else None,
        min_detectable_r=mdr,
        reason="; ".join(reasons) or None,
    )


def min_detectable_r(n: int, *, alpha: float = 0.05, power: float = 0.80) -> float | None:
    """Smallest |r| detectable with ``power`` at two-sided ``alpha``.

    tanh((z₁₋α/₂ + z_power) / √(n − 3)), the Fisher-z approximation; ``None`` for n <= 3.

    Examples
    --------
    >>> round(min_detectable_r(4), 3), round(min_detectable_r(28), 3)
    (0.993, 0.508)
    """
    if n <= 3:
        return None
    z_alpha = _normal_quantile(1 - alpha / 2)
    z_power = _normal_quantile(power)
    return math.tanh((z_alpha + z_power) / math.sqrt(n - 3))


def permutation_p(x: np.ndarray, y: np.ndarray) -> tuple[float | None, str | None, str | None]:
    """Two-sided permutation p-value of Pearson's r, permuting ``x`` against fixed ``y``.

    Returns ``(p, method, reason)`` from ``scipy.stats.permutation_test`` (pairings): exact
    over all n! pairings for n <= 8; Monte Carlo with 9,999 resamples drawn from
    ``numpy.random.default_rng(PERMUTATION_SEED)`` (a fresh generator per call, so the same
    data give the same p) for n <= 100; ``(None, None, reason)`` above 100 or for degenerate
    input.
    """
    n = int(x.size)
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None, None, "p_permutation needs n >= 3 and non-constant samples"
    if n > PERMUTATION_MAX_N:
        return None, None, (f"p_permutation is not computed for n > {PERMUTATION_MAX_N} "
                            "(p_value is reliable there)")
    exact = n <= PERMUTATION_EXACT_MAX_N
    y_centred = y - y.mean()
    y_norm = math.sqrt(float(y_centred @ y_centred))

    def pearson_r(xs: np.ndarray, axis: int = -1) -> np.ndarray:
        # Vectorised over resamples (scipy passes them stacked along the other axes).
        xs = np.moveaxis(xs, axis, -1)
        xc = xs - xs.mean(axis=-1, keepdims=True)
        return (xc @ y_centred) / (np.sqrt((xc * xc).sum(axis=-1)) * y_norm)

    with quiet():
        res = sps.permutation_test(
            (x,), pearson_r, permutation_type="pairings", vectorized=True,
            alternative="two-sided",
            n_resamples=np.inf if exact else PERMUTATION_RESAMPLES,
            rng=np.random.default_rng(PERMUTATION_SEED))
    p = finite_or_none(res.pvalue)
    method = (f"exact ({math.factorial(n)} pairings)" if exact else
              f"Monte Carlo ({PERMUTATION_RESAMPLES} resamples, seed {PERMUTATION_SEED})")
    return (p, method, None) if p is not None else (None, None, "p_permutation is undefined")


@dataclass(frozen=True, repr=False)
class DifferenceResult(ResultDisplay):
    """Difference of two dependent correlations that share one variable, with Zou's interval."""

    n: int
    difference: float | None = None
    ci95: tuple[float, float] | None = None
    reason: str | None = None



def zou_difference(r12: float | None, r13: float | None, r23: float | None, n: int
                   ) -> DifferenceResult:
    """Zou's (2007) 95% interval for r12 − r13, two correlations sharing variable 1.

    Zou, G. Y. (2007). Toward using confidence intervals to compare correlations.
    *Psychological Methods*, 12(4), 399–413, eq. (10)–(11).

    Parameters
    ----------
    r12, r13
        The two correlations being compared (both with variable 1).
    r23
        Correlation between variables 2 and 3.
    n
        Sample size (all three correlations on the same n cases).

    Examples
    --------
    Zou's published example 2: [−0.093, 0.517].

    >>> res = zou_difference(0.396, 0.179, 0.088, 66)
    >>> [round(v, 3) for v in res.ci95]
    [-0.093, 0.517]
    """
    if r12 is None or r13 is None:
        return DifferenceResult(n=n, reason="a correlation being compared is undefined")
    difference = r12 - r13
    if r23 is None:
        return DifferenceResult(n=n, difference=difference,
                                reason="ci95 needs the correlation between the two levels")
    if n <= 3:
        return DifferenceResult(n=n, difference=difference,
                                reason=f"ci95 needs n > 3 (n = {n})")
    if max(abs(r12), abs(r13), abs(r23)) >= 1 - _PERFECT_R_TOLERANCE:
        return DifferenceResult(n=n, difference=difference,
                                reason="ci95 is undefined when any |r| = 1")
    ci12 = fisher_ci(r12, n)
    ci13 = fisher_ci(r13, n)
    assert ci12 is not None and ci13 is not None
    (l1, u1), (l2, u2) = ci12, ci13
    # Correlation between the two correlation estimates (Zou 2007, eq. 11).
    c = ((r23 - 0.5 * r12 * r13) * (1 - r12**2 - r13**2 - r23**2) + r23**3) / (
        (1 - r12**2) * (1 - r13**2)
    )
    lower = difference - math.sqrt(
        max((r12 - l1) ** 2 + (u2 - r13) ** 2 - 2 * c * (r12 - l1) * (u2 - r13), 0.0)
    )
    upper = difference + math.sqrt(
        max((u1 - r12) ** 2 + (r13 - l2) ** 2 - 2 * c * (u1 - r12) * (r13 - l2), 0.0)
    )
    return DifferenceResult(n=n, difference=difference, ci95=(lower, upper))


@dataclass(frozen=True, repr=False)
class PairedTestResult(ResultDisplay):
    """Wilcoxon signed-rank test of paired differences against 0."""

    n: int
    statistic: float | None = None
    p_value: float | None = None
    method: str | None = None
    median: float | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "statistic": self.statistic,
            "p_value": self.p_value,
            "method": self.method,
            "n": self.n,
            "median_difference": self.median,
            "reason": self.reason,
        }


def _wilcoxon_method(d: np.ndarray) -> str:
    """Name the null distribution ``scipy.stats.wilcoxon(d)`` uses with ``method='auto'``.

    Mirrors scipy >= 1.13: exact without ties or zeros for n <= 50; an exact enumeration of all
    sign flips (permutation test) with ties or zeros for n <= 13; the normal approximation
    otherwise.
    """
    n = d.size
    if n > 50:
        return "asymptotic"
    nonzero = np.abs(d[d != 0])
    has_ties_or_zeros = nonzero.size < n or np.unique(nonzero).size < nonzero.size
    if not has_ties_or_zeros:
        return "exact"
    return "permutation (all sign flips)" if n <= 13 else "asymptotic"


def paired_wilcoxon(d: Any) -> PairedTestResult:
    """Two-sided Wilcoxon signed-rank test of differences ``d``, as ``scipy.stats.wilcoxon(d)``.

    ``n`` counts the non-missing differences. With no non-zero difference the test is undefined.

    Examples
    --------
    Four positive differences: the smallest two-sided p attainable with n = 4 is 2/2⁴.

    >>> res = paired_wilcoxon([1, 2, 3, 4])
    >>> res.n, res.p_value
    (4, 0.125)
    """
    da = np.asarray(d, dtype=float).ravel()
    da = da[np.isfinite(da)]
    n = int(da.size)
    if n == 0:
        return PairedTestResult(n=0, reason="no complete differences")
    median = float(np.median(da))
    if not np.any(da != 0):
        return PairedTestResult(n=n, median=median, reason="every difference is zero")
    with quiet():
        res = sps.wilcoxon(da)
    return PairedTestResult(
        n=n,
        statistic=finite_or_none(res.statistic),
        p_value=finite_or_none(res.pvalue),
        method=f"scipy.stats.wilcoxon, two-sided, {_wilcoxon_method(da)}",
        median=median,
    )


@dataclass(frozen=True, repr=False)
class RepeatedMeasuresResult(ResultDisplay):
    """Repeated-measures correlation (Bakdash & Marusich 2017)."""

    n: int
    subjects: int
    r: float | None = None
    dof: int | None = None
    p_value: float | None = None
    ci95: tuple[float, float] | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "r": self.r,
            "dof": self.dof,
            "p_value": self.p_value,
            "ci95": None if self.ci95 is None else list(self.ci95),
            "n": self.n,
            "subjects": self.subjects,
            "reason": self.reason,
        }


def repeated_measures_correlation(data: Any, *, x: str, y: str, subject: str
                                  ) -> RepeatedMeasuresResult:
    """Repeated-measures correlation of ``x`` and ``y`` within ``subject``.

    Bakdash & Marusich (2017). The common within-subject slope of an ANCOVA
    ``y ~ C(subject) + x``: equivalently the Pearson
    correlation of ``x`` and ``y`` after centring each on its subject's means, with
    dof = N − k − 1 (N observations, k subjects), a two-sided t test on dof, and the interval
    tanh(atanh r ± z₀.₉₇₅/√(dof − 1)). Agrees with ``pingouin.rm_corr``.

    Parameters
    ----------
    data : pandas.DataFrame
        Long-form data; rows with a missing ``x`` or ``y`` are dropped.
    x, y, subject : str
        Column names.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"s": [1, 1, 1, 2, 2, 2], "x": [1, 2, 3, 1, 2, 3],
    ...                    "y": [1, 3, 2, 5, 6, 8]})
    >>> res = repeated_measures_correlation(df, x="x", y="y", subject="s")
    >>> res.dof, round(res.r, 4)
    (3, 0.7746)
    """
    frame = data[[x, y, subject]].dropna(subset=[x, y])
    n = len(frame)
    groups = frame.groupby(subject, sort=False, observed=True)
    k = int(groups.ngroups)
    dof = n - k - 1
    if dof < 1:
        return RepeatedMeasuresResult(
            n=n, subjects=k, reason=f"needs more observations than subjects + 1 (N = {n}, k = {k})"
        )
    xc = (frame[x] - groups[x].transform("mean")).to_numpy(dtype=float)
    yc = (frame[y] - groups[y].transform("mean")).to_numpy(dtype=float)
    sxx, syy, sxy = float(xc @ xc), float(yc @ yc), float(xc @ yc)
    if sxx <= 0 or syy <= 0:
        which = x if sxx <= 0 else y
        return RepeatedMeasuresResult(n=n, subjects=k, dof=dof,
                                      reason=f"{which} does not vary within any {subject}")
    r = max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))
    reason = None
    if abs(r) >= 1 - _PERFECT_R_TOLERANCE:
        p: float | None = 0.0
        ci = None
        reason = "ci95 is undefined when |r| = 1"
    else:
        t = r * math.sqrt(dof / (1 - r * r))
        p = finite_or_none(2 * sps.t.sf(abs(t), dof))
        ci = fisher_ci(r, dof + 2)
        if ci is None:
            reason = "ci95 needs dof > 1"
    return RepeatedMeasuresResult(n=n, subjects=k, r=r, dof=dof, p_value=p, ci95=ci, reason=reason)


#: Beyond this many shuffled values (units × resamples) the stratified permutation test uses
#: the permutation distribution's exact moments instead of shuffles.
_MAX_SHUFFLED_VALUES = 20_000_000


@dataclass(frozen=True, repr=False)
class StratifiedPermutationResult(ResultDisplay):
    """Two-sided permutation p of Pearson's r with x shuffled only within strata."""

    n: int
    r: float | None = None
    p_value: float | None = None
    strata: int = 0
    method: str | None = None
    reason: str | None = None



def stratified_permutation_correlation(x: Any, y: Any, strata: Any, *,
                                       resamples: int = PERMUTATION_RESAMPLES,
                                       seed: int = PERMUTATION_SEED
                                       ) -> StratifiedPermutationResult:
    """Pearson's r of x and y with a permutation p that shuffles x only within each stratum.

    Units of the same stratum (for episodes: the same model and task) are exchangeable under
    the null; units of different strata are not, so a plain permutation over all units would
    take differences between strata for evidence. The p is two-sided by scipy's convention
    (twice the smaller one-sided p, at most 1), Monte Carlo with ``resamples`` seeded shuffles
    and the +1 correction.

    Examples
    --------
    >>> res = stratified_permutation_correlation([1, 2, 3, 4, 1, 2, 3, 4],
    ...                                          [1, 2, 3, 5, 2, 2, 4, 4], list("aaaabbbb"))
    >>> round(res.r, 3), res.strata, res.p_value < 0.1
    (0.925, 2, True)
    """
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    groups = pd.factorize(pd.Series(list(strata)))[0]
    keep = np.isfinite(xa) & np.isfinite(ya)
    xa, ya, groups = xa[keep], ya[keep], groups[keep]
    n = int(xa.size)
    n_strata = int(np.unique(groups).size)
    if n < 3 or np.ptp(xa) == 0 or np.ptp(ya) == 0:
        return StratifiedPermutationResult(n=n, strata=n_strata, reason=(
            "needs at least 3 complete pairs and non-constant values"))
    r = float(np.corrcoef(xa, ya)[0, 1])
    varies = pd.Series(xa).groupby(groups).transform("nunique").to_numpy() > 1
    if not varies.any():
        return StratifiedPermutationResult(n=n, r=r, strata=n_strata, reason=(
            "x is constant within every stratum, so no within-stratum shuffle changes r"))
    if n * resamples > _MAX_SHUFFLED_VALUES:
        p_value = _stratified_normal_p(xa, ya, groups)
        method = (f"permutation within {n_strata} strata (normal approximation from the "
                  "permutation distribution's exact mean and variance)")
    else:
        p_value = _stratified_shuffled_p(xa, ya, groups, r, resamples, seed)
        method = f"permutation within {n_strata} strata ({resamples} seeded shuffles)"
    return StratifiedPermutationResult(n=n, r=r, p_value=p_value, strata=n_strata,
                                       method=method)


def _stratified_normal_p(xa: np.ndarray, ya: np.ndarray, groups: np.ndarray) -> float:
    """Many units: the permutation distribution's exact mean and variance with a normal tail
    (the shuffles would need n x resamples values). Within strata Σx, Σx², Σy and Σy² are
    fixed, so r is affine in T = Σ x·y, whose moments are known stratum by stratum."""
    frame = pd.DataFrame({"x": xa, "y": ya, "g": groups})
    stats = frame.groupby("g").agg(n=("x", "size"), mx=("x", "mean"), my=("y", "mean"),
                                   vx=("x", "var"), vy=("y", "var"))
    mean_t = float((stats["n"] * stats["mx"] * stats["my"]).sum())
    # Var(Σ_i x_π(i) y_i) within a stratum: Sxx·Syy / (n_s − 1) = (n_s − 1)·vx·vy
    var_t = float(((stats["n"] - 1) * stats["vx"].fillna(0) * stats["vy"].fillna(0)).sum())
    z = (float(xa @ ya) - mean_t) / math.sqrt(var_t)
    return float(min(1.0, 2 * sps.norm.sf(abs(z))))


def _stratified_shuffled_p(xa: np.ndarray, ya: np.ndarray, groups: np.ndarray, r: float,
                           resamples: int, seed: int) -> float:
    """The two-sided Monte Carlo p of ``resamples`` seeded shuffles of x within strata."""
    n = xa.size
    rng = np.random.default_rng(seed)
    by_stratum = np.argsort(groups, kind="stable")
    centred_y = ya - ya.mean()
    null = np.empty(resamples)
    chunk = max(1, _MAX_SHUFFLED_VALUES // (10 * n))  # rows shuffled at a time (memory)
    for start in range(0, resamples, chunk):
        rows = min(chunk, resamples - start)
        # One shuffle per row: sort by (stratum, a random key) and take x in that order.
        order = np.lexsort((rng.random((rows, n)), np.broadcast_to(groups, (rows, n))))
        shuffled = np.empty((rows, n))
        shuffled[:, by_stratum] = xa[order]
        centred = shuffled - shuffled.mean(axis=1, keepdims=True)
        null[start:start + rows] = (centred @ centred_y) / np.sqrt(
            (centred**2).sum(axis=1) * (centred_y**2).sum())
    tolerance = 1e-12 * max(1.0, abs(r))
    low = (np.sum(null <= r + tolerance) + 1) / (resamples + 1)
    high = (np.sum(null >= r - tolerance) + 1) / (resamples + 1)
    return float(min(1.0, 2 * min(low, high)))
