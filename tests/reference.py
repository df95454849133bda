"""Reference statistics written out by hand for the tests (numpy, math, scipy.special only).

Nothing here calls teamforge_analysis: these are the independent values the library is checked
against.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from scipy import special

Z975 = 1.959964  # two-sided 95% normal quantile, to the 6 decimals of printed tables


# ----------------------------------------------------------------------------------------------
# Hand-written reference formulas
# ----------------------------------------------------------------------------------------------
def pearson_by_hand(x: Any, y: Any) -> float:
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    dx, dy = x - x.mean(), y - y.mean()
    return float(np.sum(dx * dy) / math.sqrt(np.sum(dx**2) * np.sum(dy**2)))


def t_test_p_by_hand(r: float, n: int) -> float:
    """Two-sided p of t = r √(df / (1 − r²)), df = n − 2, as a regularized incomplete beta."""
    df = n - 2
    t2 = r * r * df / (1 - r * r)
    return float(special.betainc(df / 2, 0.5, df / (df + t2)))


def fisher_ci_by_hand(r: float, n: int) -> tuple[float, float]:
    half = Z975 / math.sqrt(n - 3)
    return math.tanh(math.atanh(r) - half), math.tanh(math.atanh(r) + half)


def average_ranks(values: Any) -> list[float]:
    """1-based ranks, ties getting the mean of the ranks they span (no scipy)."""
    values = list(values)
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def has_nan(value: Any) -> bool:
    if isinstance(value, dict):
        return any(has_nan(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(has_nan(v) for v in value)
    return isinstance(value, float) and not math.isfinite(value)


def zou_by_hand(r12: float, r13: float, r23: float, n: int) -> tuple[float, float]:
    """Zou (2007) eqs (10)-(11): 95% interval for r12 - r13 sharing variable 1."""
    l1, u1 = fisher_ci_by_hand(r12, n)
    l2, u2 = fisher_ci_by_hand(r13, n)
    num = (r23 - r12 * r13 / 2) * (1 - r12**2 - r13**2 - r23**2) + r23**3
    c = num / ((1 - r12**2) * (1 - r13**2))
    lower = r12 - r13 - math.sqrt(
        (r12 - l1) ** 2 + (u2 - r13) ** 2 - 2 * c * (r12 - l1) * (u2 - r13)
    )
    upper = r12 - r13 + math.sqrt(
        (u1 - r12) ** 2 + (r13 - l2) ** 2 - 2 * c * (u1 - r12) * (r13 - l2)
    )
    return lower, upper


def rm_corr_by_hand(x: Any, y: Any, subject: Any) -> tuple[float, int, float]:
    """Repeated-measures correlation (Bakdash & Marusich 2017): r, dof and two-sided p.

    x and y are centred on their subject's means; r is the Pearson correlation of the centred
    values and dof = N - k - 1 for N observations of k subjects.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    subject = np.asarray(subject)
    xc, yc = x.copy(), y.copy()
    for s in np.unique(subject):
        mask = subject == s
        xc[mask] -= x[mask].mean()
        yc[mask] -= y[mask].mean()
    r = float(np.sum(xc * yc) / math.sqrt(np.sum(xc**2) * np.sum(yc**2)))
    dof = len(x) - len(np.unique(subject)) - 1
    t2 = r * r * dof / (1 - r * r)
    return r, dof, float(special.betainc(dof / 2, 0.5, dof / (dof + t2)))


def exact_permutation_p(x: Any, y: Any) -> float:
    """Two-sided p of Pearson's r over all n! pairings of x with y (observed one included)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    observed = pearson_by_hand(x, y)
    tol = 1e-12
    rs = np.array([pearson_by_hand(x[list(p)], y) for p in itertools.permutations(range(len(x)))])
    greater = np.sum(rs >= observed - tol)
    less = np.sum(rs <= observed + tol)
    return float(min(1.0, 2 * min(greater, less) / len(rs)))


def partial_r_fixed_effects_by_hand(x: Any, y: Any, models: Any, tasks: Any
                                    ) -> tuple[float, tuple[float, float] | None]:
    """Partial r of y with x given model and task dummies (least squares residuals), and its
    Fisher-z 95% interval with standard error 1/√(n − k − 3), k = (models − 1) + (tasks − 1)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    model_levels, task_levels = sorted(set(models)), sorted(set(tasks))
    design = [np.ones_like(x)]
    design += [np.array([m == level for m in models], dtype=float) for level in model_levels[1:]]
    design += [np.array([t == level for t in tasks], dtype=float) for level in task_levels[1:]]
    z = np.column_stack(design)
    residual = [v - z @ np.linalg.lstsq(z, v, rcond=None)[0] for v in (x, y)]
    r = pearson_by_hand(*residual)
    k = len(model_levels) - 1 + len(task_levels) - 1
    spare = len(x) - k - 3
    if spare < 1:
        return r, None
    half = Z975 / math.sqrt(spare)
    return r, (math.tanh(math.atanh(r) - half), math.tanh(math.atanh(r) + half))


def near_perfect_verdict_by_hand(interval: tuple[float, float] | None) -> str:
    if interval is None:
        return "not_computable"
    if interval[0] >= 0.9:
        return "supported"
    if interval[1] < 0.9:
        return "contradicted"
    return "inconclusive"


def mann_whitney_by_enumeration(passing: list[float], failing: list[float]
                                ) -> tuple[float, float, float]:
    """U of ``passing`` (pairs where the passing value is larger, ties 1/2), its two-sided p
    over every split of the pooled values into groups of these sizes (2 × the smaller tail,
    at most 1), and the smallest p any split could give (the passing group the largest or the
    smallest values)."""
    pooled = [*passing, *failing]
    k = len(passing)

    def u_of(group: list[float], rest: list[float]) -> float:
        return sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in group for b in rest)

    def two_sided(u: float) -> float:
        us = []
        for chosen in itertools.combinations(range(len(pooled)), k):
            group = [pooled[i] for i in chosen]
            rest = [pooled[i] for i in range(len(pooled)) if i not in chosen]
            us.append(u_of(group, rest))
        us_array = np.array(us)
        low, high = np.mean(us_array <= u + 1e-9), np.mean(us_array >= u - 1e-9)
        return float(min(1.0, 2 * min(low, high)))

    ordered = sorted(pooled)
    largest = two_sided(u_of(ordered[-k:], ordered[:-k]))
    return u_of(passing, failing), two_sided(u_of(passing, failing)), largest
