"""teamforge_analysis.stats checked against independently computed values.

Reference values come from published examples (Anscombe 1973, Zou 2007), from closed-form
formulas written out here with numpy/math/scipy.special, from exact enumeration, and from
pingouin (a test-only reference implementation). No test compares the library with itself.
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from reference import (
    Z975,
    average_ranks,
    fisher_ci_by_hand,
    has_nan,
    pearson_by_hand,
    t_test_p_by_hand,
    zou_by_hand,
)

from teamforge_analysis.stats import (
    CorrelationResult,
    correlation,
    fisher_ci,
    paired_wilcoxon,
    zou_difference,
)


def no_warnings_correlation(x: Any, y: Any) -> CorrelationResult:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return correlation(x, y)


# ----------------------------------------------------------------------------------------------
# Anscombe's quartet (F. J. Anscombe, Graphs in statistical analysis, Am. Stat. 27, 1973)
# ----------------------------------------------------------------------------------------------
ANSCOMBE_X123 = [10, 8, 13, 9, 11, 14, 6, 4, 12, 7, 5]
ANSCOMBE = {
    "I": (ANSCOMBE_X123, [8.04, 6.95, 7.58, 8.81, 8.33, 9.96, 7.24, 4.26, 10.84, 4.82, 5.68]),
    "II": (ANSCOMBE_X123, [9.14, 8.14, 8.74, 8.77, 9.26, 8.10, 6.13, 3.10, 9.13, 7.26, 4.74]),
    "III": (ANSCOMBE_X123, [7.46, 6.77, 12.74, 7.11, 7.81, 8.84, 6.08, 5.39, 8.15, 6.42, 5.73]),
    "IV": (
        [8, 8, 8, 8, 8, 8, 8, 19, 8, 8, 8],
        [6.58, 5.76, 7.71, 8.84, 8.47, 7.04, 5.25, 12.50, 5.56, 7.91, 6.89],
    ),
}


@pytest.mark.parametrize("name", list(ANSCOMBE))
def test_anscombe_r_is_0_816(name: str) -> None:
    x, y = ANSCOMBE[name]
    res = no_warnings_correlation(x, y)
    assert res.n == 11
    # Anscombe prints r = 0.816 for all four sets; set IV's r is 0.81652, which rounds to 0.817.
    assert res.r == pytest.approx(0.816, abs=6e-4)
    assert round(res.r, 3) == (0.817 if name == "IV" else 0.816)
    assert res.statistic == res.r


@pytest.mark.parametrize("name", list(ANSCOMBE))
def test_anscombe_against_hand_formulas(name: str) -> None:
    x, y = ANSCOMBE[name]
    res = no_warnings_correlation(x, y)
    r = pearson_by_hand(x, y)
    assert res.r == pytest.approx(r, abs=1e-12)
    assert res.p_value == pytest.approx(t_test_p_by_hand(r, 11), rel=1e-9)
    assert res.ci95 == pytest.approx(fisher_ci_by_hand(r, 11), abs=1e-6)
    rho = pearson_by_hand(average_ranks(x), average_ranks(y))
    assert res.spearman_rho == pytest.approx(rho, abs=1e-12)
    assert res.spearman_p == pytest.approx(t_test_p_by_hand(rho, 11), rel=1e-9)
    assert res.reason is None


def test_anscombe_set_i_published_p_value() -> None:
    # r = 0.8164, t = r sqrt(9 / (1 - r^2)) = 4.241, two-sided p = 0.00217 with 9 df.
    x, y = ANSCOMBE["I"]
    res = correlation(x, y)
    assert res.p_value == pytest.approx(0.00217, abs=5e-6)
    assert res.ci95 is not None
    assert [round(v, 3) for v in res.ci95] == [0.424, 0.951]


def _pingouin_corr(x: Any, y: Any, method: str = "pearson") -> dict[str, Any]:
    pingouin = pytest.importorskip("pingouin")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        row = pingouin.corr(np.asarray(x, float), np.asarray(y, float), method=method)
    record = row.iloc[0].to_dict()
    ci_key = next(k for k in record if str(k).startswith("CI95"))
    p_key = next(k for k in record if str(k).replace("_", "-") == "p-val")
    return {"n": int(record["n"]), "r": float(record["r"]), "p": float(record[p_key]),
            "ci95": [float(v) for v in record[ci_key]]}


@pytest.mark.parametrize("name", list(ANSCOMBE))
def test_anscombe_against_pingouin(name: str) -> None:
    x, y = ANSCOMBE[name]
    ref = _pingouin_corr(x, y)
    res = correlation(x, y)
    assert res.n == ref["n"]
    assert res.r == pytest.approx(ref["r"], abs=1e-12)
    assert res.p_value == pytest.approx(ref["p"], rel=1e-9)
    # pingouin rounds its interval to 2 decimals.
    assert res.ci95 == pytest.approx(ref["ci95"], abs=0.005 + 1e-9)
    spear = _pingouin_corr(x, y, method="spearman")
    assert res.spearman_rho == pytest.approx(spear["r"], abs=1e-12)
    assert res.spearman_p == pytest.approx(spear["p"], rel=1e-9)


def test_random_samples_against_hand_formulas_and_pingouin(rng: np.random.Generator) -> None:
    for n in (4, 5, 8, 20, 57):
        x = rng.normal(size=n)
        y = 0.5 * x + rng.normal(size=n)
        res = no_warnings_correlation(x, y)
        r = pearson_by_hand(x, y)
        assert res.n == n
        assert res.r == pytest.approx(r, abs=1e-12)
        assert res.p_value == pytest.approx(t_test_p_by_hand(r, n), rel=1e-8, abs=1e-15)
        assert res.ci95 == pytest.approx(fisher_ci_by_hand(r, n), abs=1e-6)
        ref = _pingouin_corr(x, y)
        assert res.p_value == pytest.approx(ref["p"], rel=1e-8, abs=1e-15)
        assert res.ci95 == pytest.approx(ref["ci95"], abs=0.005 + 1e-9)


def test_n_equals_4_closed_forms() -> None:
    # With df = 2 the t test's two-sided p is exactly 1 - |r|, and the Fisher half-width is z.
    x, y = [1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 2.0, 5.0]
    r = pearson_by_hand(x, y)
    res = correlation(x, y)
    assert res.p_value == pytest.approx(1 - abs(r), abs=1e-12)
    assert res.ci95 == pytest.approx(
        (math.tanh(math.atanh(r) - Z975), math.tanh(math.atanh(r) + Z975)), abs=1e-6
    )


# ----------------------------------------------------------------------------------------------
# Degenerate input: None with a reason, never NaN, never a warning
# ----------------------------------------------------------------------------------------------
DEGENERATE = {
    "empty": ([], []),
    "one pair": ([1.0], [2.0]),
    "two pairs": ([1, 2], [3, 4]),
    "two pairs after NaN": ([1, 2, np.nan], [3, 4, 5]),
    "constant x": ([2, 2, 2, 2, 2], [1, 2, 3, 4, 5]),
    "constant y": ([1, 2, 3, 4, 5], [7, 7, 7, 7, 7]),
    "both constant": ([1, 1, 1], [2, 2, 2]),
    "all NaN": ([np.nan] * 4, [np.nan] * 4),
}


@pytest.mark.parametrize("case", list(DEGENERATE))
def test_degenerate_correlation_is_none_with_reason(case: str) -> None:
    x, y = DEGENERATE[case]
    res = no_warnings_correlation(x, y)
    assert res.r is None
    assert res.p_value is None
    assert res.ci95 is None
    assert res.spearman_rho is None
    assert res.spearman_p is None
    assert res.reason
    assert not has_nan(res.to_dict())


def test_fewer_than_three_pairs_reason() -> None:
    res = correlation([1, 2], [3, 4])
    assert res.n == 2
    assert res.reason == "needs at least 3 complete pairs (n = 2)"


def test_constant_sample_is_named() -> None:
    assert correlation([1, 1, 1, 1], [1, 2, 3, 4]).reason.startswith("x is constant")
    assert correlation([1, 2, 3, 4], [5, 5, 5, 5]).reason.startswith("y is constant")


def test_n_equals_3_has_r_and_p_but_no_interval() -> None:
    res = no_warnings_correlation([1, 2, 3], [1, 3, 2])
    assert res.n == 3
    assert res.r == pytest.approx(0.5, abs=1e-12)
    # t = 0.5 / sqrt(0.75) = 1/sqrt(3) with 1 df: p = 1 - (2/pi) atan(1/sqrt(3)) = 2/3.
    assert res.p_value == pytest.approx(2 / 3, abs=1e-12)
    assert res.ci95 is None
    assert "n > 3" in res.reason
    assert res.to_dict()["ci95"] is None


@pytest.mark.parametrize(
    ("x", "y", "sign"),
    [([1, 2, 3, 4], [2, 4, 6, 8], 1), ([1, 2, 3, 4, 5], [5, 3, 1, -1, -3], -1)],
)
def test_perfect_correlation_has_no_interval(x: list[int], y: list[int], sign: int) -> None:
    res = no_warnings_correlation(x, y)
    assert res.r == pytest.approx(sign, abs=1e-12)
    assert res.ci95 is None
    assert "|r| = 1" in res.reason
    assert res.spearman_rho == pytest.approx(sign)
    assert not has_nan(res.to_dict())


def test_missing_pairs_are_dropped() -> None:
    x = [1, 2, np.nan, 4, 5, 6, None]
    y = [2, 1, 4, np.nan, 7, 8, 3]
    res = no_warnings_correlation(x, y)
    kept_x, kept_y = [1, 2, 5, 6], [2, 1, 7, 8]
    assert res.n == 4
    assert res.r == pytest.approx(pearson_by_hand(kept_x, kept_y), abs=1e-12)
    assert res.p_value == pytest.approx(1 - res.r, abs=1e-12)  # n = 4: p = 1 - |r|


def test_pandas_missing_values_are_dropped() -> None:
    x = pd.Series([1.0, 2.0, None, 4.0, 5.0], dtype="Float64")
    y = pd.Series([1.0, 3.0, 2.0, 5.0, 4.0])
    res = no_warnings_correlation(x, y)
    assert res.n == 4
    assert res.r == pytest.approx(pearson_by_hand([1, 2, 4, 5], [1, 3, 5, 4]), abs=1e-12)


def test_lengths_must_match() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        correlation([1, 2, 3], [1, 2])


def test_to_dict_is_json_ready() -> None:
    res = correlation(*ANSCOMBE["I"])
    d = res.to_dict()
    assert set(d) == {"n", "r", "p_value", "ci95", "spearman_rho", "spearman_p", "p_permutation",
                      "permutation_method", "kendall_tau", "kendall_p", "min_detectable_r",
                      "reason"}
    assert isinstance(d["ci95"], list)
    assert not has_nan(d)


# ----------------------------------------------------------------------------------------------
# fisher_ci
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("r", "n"), [(0.5, 28), (-0.3, 10), (0.0, 4), (0.99, 100)])
def test_fisher_ci_matches_formula(r: float, n: int) -> None:
    assert fisher_ci(r, n) == pytest.approx(fisher_ci_by_hand(r, n), abs=1e-6)


def test_fisher_ci_textbook_value() -> None:
    lo, hi = fisher_ci(0.5, 28)
    assert (round(lo, 3), round(hi, 3)) == (0.156, 0.736)


@pytest.mark.parametrize(("r", "n"), [(0.5, 3), (0.5, 2), (1.0, 10), (-1.0, 10)])
def test_fisher_ci_undefined(r: float, n: int) -> None:
    assert fisher_ci(r, n) is None


# ----------------------------------------------------------------------------------------------
# zou_difference
# ----------------------------------------------------------------------------------------------
def test_zou_2007_published_example() -> None:
    # Zou (2007), Psychological Methods 12(4), example 2: r12 = .396, r13 = .179, r23 = .088,
    # n = 66, 95% interval for r12 - r13 is (-0.093, 0.517).
    res = zou_difference(0.396, 0.179, 0.088, 66)
    assert res.n == 66
    assert res.difference == pytest.approx(0.217, abs=1e-12)
    assert res.ci95 is not None
    assert [round(v, 3) for v in res.ci95] == [-0.093, 0.517]
    assert res.reason is None


def test_zou_interval_by_hand() -> None:
    # Zou's eqs (10)-(11), written out independently in reference.zou_by_hand.
    for args in [(0.6, 0.2, 0.4, 40), (0.396, 0.179, 0.088, 66), (-0.3, 0.5, -0.2, 12)]:
        assert zou_difference(*args).ci95 == pytest.approx(zou_by_hand(*args), abs=1e-6)


def test_zou_swapping_the_correlations_negates_the_interval() -> None:
    a = zou_difference(0.396, 0.179, 0.088, 66)
    b = zou_difference(0.179, 0.396, 0.088, 66)
    assert b.difference == pytest.approx(-a.difference)
    assert b.ci95 == pytest.approx((-a.ci95[1], -a.ci95[0]), abs=1e-12)


@pytest.mark.parametrize(
    ("args", "difference", "reason"),
    [
        ((None, 0.2, 0.1, 10), None, "undefined"),
        ((0.3, None, 0.1, 10), None, "undefined"),
        ((0.3, 0.2, None, 10), 0.1, "between the two levels"),
        ((0.3, 0.2, 0.1, 3), 0.1, "n > 3"),
        ((0.3, 0.2, 0.1, 2), 0.1, "n > 3"),
        ((1.0, 0.2, 0.1, 10), 0.8, "|r| = 1"),
        ((0.3, -1.0, 0.1, 10), 1.3, "|r| = 1"),
        ((0.3, 0.2, 1.0, 10), 0.1, "|r| = 1"),
    ],
)
def test_zou_null_cases(args: tuple, difference: float | None, reason: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = zou_difference(*args)
    assert res.ci95 is None
    assert reason in res.reason
    if difference is None:
        assert res.difference is None
    else:
        assert res.difference == pytest.approx(difference)
    assert not has_nan(res.to_dict())


# ----------------------------------------------------------------------------------------------
# paired_wilcoxon
# ----------------------------------------------------------------------------------------------
def exact_signed_rank_p(d: list[float]) -> float:
    """Two-sided exact p by enumerating all 2^n sign assignments (no zeros, no ties)."""
    ranks = average_ranks([abs(v) for v in d])
    w_minus = sum(r for r, v in zip(ranks, d, strict=True) if v < 0)
    w_plus = sum(r for r, v in zip(ranks, d, strict=True) if v > 0)
    observed = min(w_minus, w_plus)
    total = sum(ranks)
    extreme = 0
    for signs in itertools.product((0, 1), repeat=len(d)):
        w = sum(r for r, s in zip(ranks, signs, strict=True) if s)
        if min(w, total - w) <= observed:
            extreme += 1
    return extreme / 2 ** len(d)


def test_wilcoxon_four_positive_differences() -> None:
    # Of the 2^4 = 16 sign patterns only all-positive and all-negative are as extreme: 2/16.
    res = paired_wilcoxon([1, 2, 3, 4])
    assert res.n == 4
    assert res.p_value == 2 / 16 == 0.125
    assert res.statistic == 0
    assert res.median == 2.5
    assert res.reason is None
    assert "two-sided" in res.method


def test_wilcoxon_negative_differences_same_p() -> None:
    assert paired_wilcoxon([-4, -3, -2, -1]).p_value == pytest.approx(0.125)
    assert paired_wilcoxon([-4, -3, -2, -1]).median == -2.5


def test_wilcoxon_six_positive_differences() -> None:
    assert paired_wilcoxon([1, 2, 3, 4, 5, 6]).p_value == pytest.approx(2 / 64)


@pytest.mark.parametrize("d", [[1, -2, 3, 4, 5], [-1, 2, -3, 4, 5, 6.5], [0.3, -0.1, 0.7, 1.1]])
def test_wilcoxon_against_enumeration(d: list[float]) -> None:
    res = paired_wilcoxon(d)
    assert res.p_value == pytest.approx(exact_signed_rank_p(d), abs=1e-12)
    assert res.median == pytest.approx(float(np.median(d)))


def test_wilcoxon_hand_worked_mixed_signs() -> None:
    # d = 1, -2, 3, 4, 5: W- = 2. Sign patterns with negative-rank sum <= 2: {}, {1}, {2}
    # -> 3 of 32, two-sided p = 6/32.
    res = paired_wilcoxon([1, -2, 3, 4, 5])
    assert res.statistic == 2
    assert res.p_value == pytest.approx(6 / 32)


def test_wilcoxon_all_zero_differences() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = paired_wilcoxon([0, 0, 0])
    assert res.n == 3
    assert res.p_value is None
    assert res.statistic is None
    assert res.median == 0
    assert res.reason == "every difference is zero"
    assert not has_nan(res.to_dict())


@pytest.mark.parametrize("d", [[], [np.nan, np.nan]])
def test_wilcoxon_no_differences(d: list[float]) -> None:
    res = paired_wilcoxon(d)
    assert res.n == 0
    assert res.p_value is None
    assert res.reason == "no complete differences"


def test_wilcoxon_drops_missing() -> None:
    res = paired_wilcoxon([1, np.nan, 2, 3, 4])
    assert res.n == 4
    assert res.p_value == pytest.approx(0.125)


# ----------------------------------------------------------------------------------------------
# Properties of correlation (hypothesis)
# ----------------------------------------------------------------------------------------------
values = st.integers(min_value=-60, max_value=60)
samples = st.integers(min_value=3, max_value=25).flatmap(
    lambda n: st.tuples(st.lists(values, min_size=n, max_size=n),
                        st.lists(values, min_size=n, max_size=n))
)
PROPERTY_SETTINGS = settings(max_examples=50, deadline=None,
                             suppress_health_check=[HealthCheck.filter_too_much])


def _usable(x: list[int], y: list[int]) -> CorrelationResult:
    assume(len(set(x)) > 1 and len(set(y)) > 1)
    res = no_warnings_correlation(x, y)
    assert res.r is not None
    return res


@PROPERTY_SETTINGS
@given(samples)
def test_property_bounds_and_interval_contains_r(sample: tuple[list[int], list[int]]) -> None:
    x, y = sample
    res = _usable(x, y)
    assert -1 <= res.r <= 1
    assert 0 <= res.p_value <= 1
    assert -1 <= res.spearman_rho <= 1
    if res.ci95 is not None:
        lo, hi = res.ci95
        assert -1 <= lo <= res.r <= hi <= 1
    else:
        assert res.n == 3 or abs(res.r) == pytest.approx(1)
    assert not has_nan(res.to_dict())


@PROPERTY_SETTINGS
@given(samples, st.integers(min_value=1, max_value=1000), st.integers(-10_000, 10_000))
def test_property_invariant_under_positive_affine_x(
    sample: tuple[list[int], list[int]], scale: int, shift: int
) -> None:
    x, y = sample
    res = _usable(x, y)
    assume(abs(res.r) < 1 - 1e-6)
    moved = no_warnings_correlation([scale * v + shift for v in x], y)
    assert moved.n == res.n
    assert moved.r == pytest.approx(res.r, abs=1e-9)
    assert moved.p_value == pytest.approx(res.p_value, rel=1e-6, abs=1e-12)
    assert moved.spearman_rho == pytest.approx(res.spearman_rho, abs=1e-12)
    if res.ci95 is None:
        assert moved.ci95 is None
    else:
        assert moved.ci95 == pytest.approx(res.ci95, abs=1e-8)


@PROPERTY_SETTINGS
@given(samples, st.data())
def test_property_invariant_under_shuffling_pairs(
    sample: tuple[list[int], list[int]], data: st.DataObject
) -> None:
    x, y = sample
    res = _usable(x, y)
    assume(abs(res.r) < 1 - 1e-6)
    order = data.draw(st.permutations(range(len(x))))
    shuffled = no_warnings_correlation([x[i] for i in order], [y[i] for i in order])
    assert shuffled.r == pytest.approx(res.r, abs=1e-12)
    assert shuffled.p_value == pytest.approx(res.p_value, rel=1e-9, abs=1e-12)
    assert shuffled.spearman_rho == pytest.approx(res.spearman_rho, abs=1e-12)
    assert (shuffled.ci95 is None) == (res.ci95 is None)
    if res.ci95 is not None:
        assert shuffled.ci95 == pytest.approx(res.ci95, abs=1e-10)


@PROPERTY_SETTINGS
@given(samples)
def test_property_sign_flips_under_negation(sample: tuple[list[int], list[int]]) -> None:
    x, y = sample
    res = _usable(x, y)
    assume(abs(res.r) < 1 - 1e-6)
    flipped = no_warnings_correlation([-v for v in x], y)
    assert flipped.r == pytest.approx(-res.r, abs=1e-12)
    assert flipped.p_value == pytest.approx(res.p_value, rel=1e-9, abs=1e-12)
    assert flipped.spearman_rho == pytest.approx(-res.spearman_rho, abs=1e-12)
    if res.ci95 is None:
        assert flipped.ci95 is None
    else:
        assert flipped.ci95 == pytest.approx((-res.ci95[1], -res.ci95[0]), abs=1e-10)


@PROPERTY_SETTINGS
@given(samples)
def test_property_matches_hand_formula(sample: tuple[list[int], list[int]]) -> None:
    x, y = sample
    res = _usable(x, y)
    assert res.r == pytest.approx(pearson_by_hand(x, y), abs=1e-10)


@pytest.mark.parametrize("q", [0.5, 0.8, 0.9, 0.95, 0.975, 0.995, 0.01])
def test_normal_quantile_is_norm_ppf(q: float) -> None:
    """The quantile used by Fisher intervals and min_detectable_r is scipy's norm.ppf."""
    from scipy.stats import norm

    from teamforge_analysis.stats import _normal_quantile

    assert _normal_quantile(q) == float(norm.ppf(q))


def test_stratified_permutation_p_matches_an_enumeration_within_strata() -> None:
    # INVENTED: two strata of four units; every within-stratum arrangement enumerated by hand
    import itertools

    from teamforge_analysis.stats import stratified_permutation_correlation

    x = np.array([1.0, 2.0, 3.0, 4.0, 2.0, 3.0, 5.0, 6.0])
    y = np.array([0.2, 0.1, 0.5, 0.4, 1.0, 1.4, 1.2, 1.9])
    strata = ["a"] * 4 + ["b"] * 4
    observed = np.corrcoef(x, y)[0, 1]
    null = [np.corrcoef(np.concatenate([x[:4][list(p)], x[4:][list(q)]]), y)[0, 1]
            for p in itertools.permutations(range(4)) for q in itertools.permutations(range(4))]
    null = np.array(null)
    exact = min(1.0, 2 * min(np.mean(null <= observed + 1e-12), np.mean(null >= observed - 1e-12)))
    res = stratified_permutation_correlation(x, y, strata)
    assert res.r == pytest.approx(observed, abs=1e-12)
    assert res.strata == 2
    assert res.p_value == pytest.approx(exact, abs=0.02)  # 9,999 seeded shuffles
    # a plain permutation over all units would mistake the strata's offset for evidence
    plain = np.array([np.corrcoef(x[list(p)], y)[0, 1]
                      for p in itertools.islice(itertools.permutations(range(8)), 0, None, 7)])
    assert np.mean(np.abs(plain) >= abs(observed)) < exact


def test_stratified_permutation_degenerate_inputs_say_why() -> None:
    from teamforge_analysis.stats import stratified_permutation_correlation

    constant_within = stratified_permutation_correlation([1, 1, 2, 2], [0.1, 0.3, 0.2, 0.5],
                                                         ["a", "a", "b", "b"])
    assert constant_within.p_value is None and "constant within every stratum" in \
        constant_within.reason
    too_few = stratified_permutation_correlation([1, 2], [1, 2], ["a", "a"])
    assert too_few.r is None and too_few.reason


def test_stratified_permutation_on_many_units_matches_shuffles_by_hand() -> None:
    # INVENTED: 3,000 episodes in 300 strata, too many to shuffle 9,999 times in memory; the
    # library then uses the permutation distribution's exact moments. Checked against 2,000
    # within-stratum shuffles done here.
    from teamforge_analysis.stats import stratified_permutation_correlation

    rng = np.random.default_rng(7)
    groups = rng.integers(0, 300, 3000)
    x = rng.integers(0, 6, 3000).astype(float)
    y = (rng.random(3000) < 0.3 + 0.01 * x + 0.001 * groups).astype(float)
    res = stratified_permutation_correlation(x, y, groups)
    assert "normal approximation" in res.method
    observed = np.corrcoef(x, y)[0, 1]
    null = []
    for _ in range(2000):
        shuffled = x.copy()
        for g in np.unique(groups):
            members = np.flatnonzero(groups == g)
            shuffled[members] = rng.permutation(x[members])
        null.append(np.corrcoef(shuffled, y)[0, 1])
    null = np.array(null)
    by_hand = min(1.0, 2 * min(np.mean(null <= observed), np.mean(null >= observed)))
    assert res.p_value == pytest.approx(by_hand, abs=0.02)
