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
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

__all__ = [
    "CorrelationResult",
    "DifferenceResult",
    "PairedTestResult",
    "correlation",
    "fisher_ci",
    "paired_wilcoxon",
    "zou_difference",
]

#: Two-sided 95% normal quantile, used by every Fisher-z interval here.
Z_975 = float(sps.norm.ppf(0.975))

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


@dataclass(frozen=True)
class CorrelationResult:
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
        ``scipy.stats.spearmanr``.
    reason : str or None
        Why any of the fields above is ``None``.
    """

    n: int
    r: float | None = None
    p_value: float | None = None
    ci95: tuple[float, float] | None = None
    spearman_rho: float | None = None
    spearman_p: float | None = None
    reason: str | None = None

    @property
    def statistic(self) -> float | None:
        """Alias of ``r``, as scipy names it."""
        return self.r

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "r": self.r,
            "p_value": self.p_value,
            "ci95": None if self.ci95 is None else list(self.ci95),
            "spearman_rho": self.spearman_rho,
            "spearman_p": self.spearman_p,
            "reason": self.reason,
        }


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
    z = float(sps.norm.ppf(0.5 + confidence / 2))
    half = z / math.sqrt(n - 3)
    centre = math.atanh(r)
    return (math.tanh(centre - half), math.tanh(centre + half))


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
    if n < 3:
        return CorrelationResult(n=n, reason=f"needs at least 3 complete pairs (n = {n})")
    for name, values in (("x", xa), ("y", ya)):
        if np.ptp(values) == 0:
            return CorrelationResult(
                n=n, reason=f"{name} is constant ({values[0]:g} for all {n} pairs)"
            )
    with quiet():
        pearson = sps.pearsonr(xa, ya)
        spearman = sps.spearmanr(xa, ya)
    r = finite_or_none(pearson.statistic)
    reasons = []
    ci: tuple[float, float] | None = None
    if r is not None and n > 3 and abs(r) < 1 - _PERFECT_R_TOLERANCE:
        with quiet():
            interval = pearson.confidence_interval(confidence_level=0.95)
        lo, hi = finite_or_none(interval.low), finite_or_none(interval.high)
        ci = None if lo is None or hi is None else (lo, hi)
    elif n <= 3:
        reasons.append("ci95 needs n > 3 (Fisher z standard error is 1/√(n − 3))")
    else:
        reasons.append("ci95 is undefined when |r| = 1 (Fisher z is infinite)")
    rho = finite_or_none(spearman.statistic)
    if rho is None:
        reasons.append("Spearman's rho is undefined (ranks of one sample are constant)")
    return CorrelationResult(
        n=n,
        r=r,
        p_value=finite_or_none(pearson.pvalue),
        ci95=ci,
        spearman_rho=rho,
        spearman_p=finite_or_none(spearman.pvalue) if rho is not None else None,
        reason="; ".join(reasons) or None,
    )


@dataclass(frozen=True)
class DifferenceResult:
    """Difference of two dependent correlations that share one variable, with Zou's interval."""

    n: int
    difference: float | None = None
    ci95: tuple[float, float] | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "difference": self.difference,
            "ci95": None if self.ci95 is None else list(self.ci95),
            "reason": self.reason,
        }


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


@dataclass(frozen=True)
class PairedTestResult:
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
