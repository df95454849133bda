"""Tests of :mod:`teamforge_analysis.inference` against independent computations.

Every reference here is computed another way than the module computes it: pingouin.partial_corr
with dummy covariates and a full least-squares regression's t statistic for the partial
correlation; enumeration of all permutations or splits for permutation floors, leave-one-out
p-values, Kendall's W and the Mann–Whitney p; the t-interval by hand from a t table value. The
bundled data are read straight from the CSV files with pandas.
"""

from __future__ import annotations

import itertools
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from teamforge_analysis import inference as inf

DATA = Path(__file__).resolve().parents[1] / "data"
SEED = 20240611


# ----------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cells() -> pd.DataFrame:
    """data/results.csv joined with the task levels and model sizes: one row per cell."""
    results = pd.read_csv(DATA / "results.csv")
    tasks = pd.read_csv(DATA / "tasks.csv")
    models = pd.read_csv(DATA / "models.csv")
    return results.merge(tasks, on="task").merge(models[["model", "params_b"]], on="model")


def invented_cells(n_models: int = 12, n_tasks: int = 3) -> pd.DataFrame:
    """INVENTED data (not a benchmark): a seeded models × tasks grid where the score is
    0.4 × test_pass plus 0.6 × a component that tracks test_pass closely (the part beyond
    construction), so a referee's partial correlation should be near perfect."""
    rng = np.random.default_rng(SEED)
    model_effect = rng.normal(0, 0.15, n_models)
    task_effect = np.linspace(0.2, -0.2, n_tasks)
    rows = []
    for i in range(n_models):
        for j in range(n_tasks):
            test_pass = float(np.clip(0.55 + model_effect[i] + task_effect[j]
                                      + rng.normal(0, 0.08), 0, 1))
            component = test_pass + rng.normal(0, 0.01)
            rows.append({"model": f"m{i:02d}", "task": f"t{j}", "test_pass": test_pass,
                         "score": 0.4 * test_pass + 0.6 * component})
    return pd.DataFrame(rows)


def assert_json_ready(result) -> None:
    """to_dict() is JSON without NaN or infinity."""
    json.dumps(result.to_dict(), allow_nan=False)


def pingouin_partial(frame: pd.DataFrame, x: str, y: str) -> pd.Series:
    pg = pytest.importorskip("pingouin")
    dummies = pd.get_dummies(frame[["model", "task"]], drop_first=True, dtype=float)
    data = pd.concat([frame[[x, y]].reset_index(drop=True), dummies.reset_index(drop=True)],
                     axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pingouin's pandas deprecations
        return pg.partial_corr(data, x=x, y=y, covar=list(dummies.columns)).iloc[0]


def regression_partial_r(frame: pd.DataFrame, x: str, y: str) -> tuple[float, int]:
    """Partial r from the t statistic of x in the full regression y ~ 1 + dummies + x:
    r = t / √(t² + dof), dof = n − (columns)."""
    dummies = pd.get_dummies(frame[["model", "task"]], drop_first=True, dtype=float)
    design = np.column_stack([np.ones(len(frame)), dummies.to_numpy(), frame[x].to_numpy()])
    target = frame[y].to_numpy(float)
    beta, *_ = np.linalg.lstsq(design, target, rcond=None)
    resid = target - design @ beta
    dof = len(frame) - design.shape[1]
    sigma2 = resid @ resid / dof
    se = math.sqrt(sigma2 * np.linalg.inv(design.T @ design)[-1, -1])
    t = beta[-1] / se
    return t / math.sqrt(t * t + dof), dof


# ----------------------------------------------------------------------------------------------
# Finding 3: beyond construction
# ----------------------------------------------------------------------------------------------
def test_beyond_construction_on_bundled_data_is_contradicted(cells) -> None:
    res = inf.beyond_construction(cells, weight=0.40)
    assert res.outcome == "score - 0.4 x test_pass"
    assert (res.n, res.k, res.dof) == (12, 5, 5)
    assert res.r == pytest.approx(0.004, abs=0.001)
    assert res.ci95[0] == pytest.approx(-0.75, abs=0.005)
    assert res.ci95[1] == pytest.approx(0.75, abs=0.005)
    verdict, reason = inf.near_perfect_verdict(res)
    assert verdict == "contradicted" and "0.9" in reason
    assert_json_ready(res)


def test_partial_correlation_matches_pingouin_and_regression(cells) -> None:
    frame = cells.assign(rest=cells["score"] - 0.4 * cells["test_pass"])
    res = inf.partial_correlation_fixed_effects(frame, x="test_pass", y="rest")
    ref = pingouin_partial(frame, "test_pass", "rest")
    assert res.r == pytest.approx(ref["r"], abs=1e-9)
    assert res.p_value == pytest.approx(ref["p_val"], rel=1e-6)
    assert list(res.ci95) == pytest.approx(list(ref["CI95"]), abs=0.005)  # pingouin rounds
    r_reg, dof = regression_partial_r(frame, "test_pass", "rest")
    assert res.r == pytest.approx(r_reg, abs=1e-9)
    assert res.dof == dof == 5


def test_beyond_construction_without_formula_is_the_score(cells) -> None:
    res = inf.beyond_construction(cells, weight=None)
    assert res.outcome == "score"
    r_reg, _ = regression_partial_r(cells, "test_pass", "score")
    assert res.r == pytest.approx(r_reg, abs=1e-9)
    # The reading: with both fixed effects, the slope of score on test_pass is 0.401,
    # the grader's built-in weight, so r here (0.86) is mostly construction.
    dummies = pd.get_dummies(cells[["model", "task"]], drop_first=True, dtype=float)
    design = np.column_stack([np.ones(12), dummies.to_numpy(), cells["test_pass"].to_numpy()])
    slope = np.linalg.lstsq(design, cells["score"].to_numpy(float), rcond=None)[0][-1]
    assert slope == pytest.approx(0.401, abs=0.0005)
    assert res.r == pytest.approx(0.858, abs=0.001)


def test_beyond_construction_on_invented_data_is_not_contradicted() -> None:
    frame = invented_cells()
    res = inf.beyond_construction(frame, weight=0.4)
    assert (res.n, res.k, res.dof) == (36, 13, 21)
    ref = pingouin_partial(frame.assign(rest=frame["score"] - 0.4 * frame["test_pass"]),
                           "test_pass", "rest")
    assert res.r == pytest.approx(ref["r"], abs=1e-9)
    assert list(res.ci95) == pytest.approx(list(ref["CI95"]), abs=0.005)
    verdict, _ = inf.near_perfect_verdict(res)
    assert verdict == "supported"  # in particular, not contradicted
    assert res.ci95[0] >= inf.NEAR_PERFECT_R


def test_near_perfect_verdict_boundaries() -> None:
    result = inf.PartialCorrelationResult
    assert inf.near_perfect_verdict(result(n=40, r=0.95, ci95=(0.9, 0.97)))[0] == "supported"
    assert inf.near_perfect_verdict(result(n=40, r=0.8, ci95=(0.5, 0.93)))[0] == "inconclusive"
    assert inf.near_perfect_verdict(result(n=4, reason="x"))[0] == "not_computable"
    assert inf.near_perfect_verdict(result(n=40, r=0.8, ci95=(0.7, 0.85)),
                                    threshold=0.6)[0] == "supported"


def test_partial_correlation_degenerate_cases() -> None:
    # 2 models × 2 tasks: n − k − 2 = 0.
    tiny = pd.DataFrame({"model": list("aabb"), "task": list("stst"),
                         "x": [1.0, 2, 4, 3], "y": [2.0, 1, 3, 5]})
    res = inf.partial_correlation_fixed_effects(tiny, x="x", y="y")
    assert res.r is None and res.ci95 is None and "n − k − 2" in res.reason
    assert_json_ready(res)
    assert inf.near_perfect_verdict(res)[0] == "not_computable"
    # y is additive in model and task: its residual is (numerically) zero.
    grid = pd.DataFrame([(m, t) for m in range(4) for t in range(3)], columns=["model", "task"])
    grid["x"] = np.random.default_rng(SEED).normal(size=12)
    grid["y"] = 0.3 * grid["model"] + 0.7 * grid["task"]
    res = inf.partial_correlation_fixed_effects(grid, x="x", y="y")
    assert res.r is None and "constant" in res.reason
    assert_json_ready(res)
    # 3 models × 2 tasks: dof = 1, r and p exist but the interval does not (n − k − 3 = 0).
    six = pd.DataFrame({"model": list("aabbcc"), "task": list("ststst"[:6]),
                        "x": [1.0, 2, 4, 3, 0, 5], "y": [2.0, 1, 3, 5, 1, 2]})
    res = inf.partial_correlation_fixed_effects(six, x="x", y="y")
    assert res.dof == 1 and res.r is not None and res.ci95 is None and "n − k − 3" in res.reason
    assert res.r == pytest.approx(regression_partial_r(six, "x", "y")[0], abs=1e-9)
    # A row with no model is dropped, not taken as a model called "None".
    with_gap = pd.concat([six, pd.DataFrame({"model": [None], "task": ["s"], "x": [9.0],
                                             "y": [9.0]})], ignore_index=True)
    assert inf.partial_correlation_fixed_effects(with_gap, x="x", y="y").n == 6
    # Empty input.
    assert inf.partial_correlation_fixed_effects(six.iloc[:0], x="x", y="y").n == 0


# ----------------------------------------------------------------------------------------------
# Finding 1: permutation floor, leave-one-out, concordance, floor and ceiling
# ----------------------------------------------------------------------------------------------
def enumerated_permutation_p(x, y) -> float:
    """Two-sided exact permutation p of Pearson's r over all n! pairings (scipy's convention:
    twice the smaller tail, capped at 1), with numpy.corrcoef."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    observed = np.corrcoef(x, y)[0, 1]
    null = np.array([np.corrcoef(x[list(p)], y)[0, 1]
                     for p in itertools.permutations(range(x.size))])
    tol = 1e-12
    less = np.mean(null <= observed + tol)
    greater = np.mean(null >= observed - tol)
    return min(1.0, 2 * min(less, greater))


def test_min_attainable_p_is_two_over_n_factorial() -> None:
    res = inf.min_attainable_correlation_p([9, 70, 8, 46.7], [0.21, 0.62, 0.41, 0.33])
    assert res.min_attainable_p == pytest.approx(2 / math.factorial(4))
    assert res.min_attainable_p == pytest.approx(enumerated_permutation_p([1, 2, 3, 4],
                                                                          [1, 2, 3, 4]))
    assert_json_ready(res)


def test_min_attainable_p_counts_ties_and_monte_carlo_floor() -> None:
    x, y = [1, 1, 2, 3, 5], [0.1, 0.4, 0.2, 0.3, 0.9]
    expected = min(enumerated_permutation_p(sorted(x), sorted(y)),
                   enumerated_permutation_p(sorted(x), sorted(y)[::-1]))
    res = inf.min_attainable_correlation_p(x, y)
    assert res.min_attainable_p == pytest.approx(expected)
    assert res.min_attainable_p == pytest.approx(2 * 2 / math.factorial(5))  # 2 tied orders
    # n = 10: Monte Carlo with 9,999 resamples, so the floor is 2 / 10,000, not 2 / 10!.
    res = inf.min_attainable_correlation_p(np.arange(10), np.arange(10) ** 2)
    assert res.min_attainable_p == pytest.approx(2 / 10_000)


def test_min_attainable_p_degenerate() -> None:
    for x, y in (([1, 2], [1, 2]), ([1, 1, 1], [1, 2, 3]), ([1, np.nan, 2], [1, 2, 3])):
        res = inf.min_attainable_correlation_p(x, y)
        assert res.min_attainable_p is None and res.reason
        assert_json_ready(res)


def level_frame(cells: pd.DataFrame) -> pd.DataFrame:
    """models × levels of scores (one task per level in the bundled data)."""
    return cells.pivot(index="model", columns="difficulty", values="score")[
        ["easy", "medium", "hard"]]


def test_leave_one_out_on_bundled_data(cells) -> None:
    scores = level_frame(cells)
    sizes = cells.drop_duplicates("model").set_index("model")["params_b"]
    out = inf.leave_one_out_correlations(sizes, scores)
    assert len(out) == 4 * 3
    for row in out.itertuples():
        keep = [m for m in sizes.index if m != row.left_out]
        x, y = sizes[keep].to_numpy(float), scores.loc[keep, row.level].to_numpy(float)
        assert row.n == 3
        assert row.r == pytest.approx(np.corrcoef(x, y)[0, 1], abs=1e-12)
        assert row.p_value == pytest.approx(enumerated_permutation_p(x, y))
        assert row.p_method == "permutation"
    # The issue: without llama3-70b, r drops to about 0.1 at every level.
    without = out[out["left_out"] == "llama3-70b-8192"]
    assert without["r"].astype(float).abs().max() < 0.2


def test_leave_one_out_too_few_models() -> None:
    sizes = pd.Series({"a": 1.0, "b": 2.0, "c": np.nan})
    out = inf.leave_one_out_correlations(sizes, pd.Series({"a": 0.1, "b": 0.2, "c": 0.3}))
    assert list(out.columns) == ["left_out", "n", "r", "p_value", "p_method", "reason"]
    assert list(out["left_out"]) == ["a", "b"]  # c has no size
    assert all(v is None for v in out["p_value"]) and all(out["reason"].str.contains("n = 1"))
    assert all(v is None for v in out["r"])  # None, not NaN
    json.dumps(out.to_dict("records"), allow_nan=False)
    # A level whose scores are constant once a model is left out: p null with its reason.
    flat = inf.leave_one_out_correlations(pd.Series({"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0}),
                                          pd.Series({"a": 0.1, "b": 0.1, "c": 0.1, "d": 0.2}))
    assert flat.loc[3, "p_value"] is None and "constant" in flat.loc[3, "reason"]
    assert flat.loc[0, "reason"] is None
    json.dumps(flat.to_dict("records"), allow_nan=False)


def brute_force_w(values: np.ndarray) -> tuple[float, float]:
    """Kendall's W and its exact upper-tail p over every arrangement of every rater's ranks
    (all (n!)^m, none fixed), from the textbook formula; ``values`` is raters × items."""
    from scipy.stats import rankdata
    m, n = values.shape
    ranks = np.array([rankdata(row) for row in values])
    ties = sum(sum(c ** 3 - c for c in np.unique(row, return_counts=True)[1]) for row in values)

    def w_of(r: np.ndarray) -> float:
        sums = r.sum(axis=0)
        return 12 * ((sums - sums.mean()) ** 2).sum() / (m ** 2 * (n ** 3 - n) - m * ties)

    observed = w_of(ranks)
    null = [w_of(np.array([np.array(row)[list(p)] for row, p in zip(ranks, perms, strict=True)]))
            for perms in itertools.product(itertools.permutations(range(n)), repeat=m)]
    return observed, float(np.mean(np.array(null) >= observed - 1e-12))


@pytest.mark.parametrize("values", [
    [[0.9, 0.5, 0.4], [0.3, 0.6, 0.1], [0.2, 0.8, 0.5]],
    [[1.0, 1.0, 0.4], [0.3, 0.6, 0.1], [0.2, 0.8, 0.8]],  # ties
])
def test_kendalls_w_against_enumeration(values) -> None:
    values = np.array(values)  # raters (levels) × items (models)
    frame = pd.DataFrame(values.T, index=["a", "b", "c"], columns=["l1", "l2", "l3"])
    res = inf.kendalls_w(frame)
    w, p = brute_force_w(values)
    assert res.w == pytest.approx(w)
    assert res.p_value == pytest.approx(p)
    assert res.method.startswith("exact") and (res.n_items, res.n_raters) == (3, 3)


def test_kendalls_w_on_bundled_data_matches_pingouin(cells) -> None:
    pg = pytest.importorskip("pingouin")
    scores = level_frame(cells)
    res = inf.kendalls_w(scores)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pg.friedman(scores.T.reset_index(drop=True))  # rows = levels, columns = models
    assert res.w == pytest.approx(float(ref["W"].iloc[0])) == pytest.approx(1.0)
    # Same order on every level: 1 of the (4!)² arrangements with the first level fixed.
    assert res.p_value == pytest.approx(1 / 24 ** 2)


def test_kendalls_w_friedman_branch_matches_pingouin() -> None:
    pg = pytest.importorskip("pingouin")
    rng = np.random.default_rng(SEED)
    frame = pd.DataFrame(rng.normal(size=(6, 4)).round(1), index=list("abcdef"))  # 720³ > 20,000
    res = inf.kendalls_w(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pg.friedman(frame.T.reset_index(drop=True), method="chisq")
    assert res.method.startswith("Friedman")
    assert res.w == pytest.approx(float(ref["W"].iloc[0]))
    assert res.p_value == pytest.approx(float(ref["p_unc"].iloc[0]))


def test_kendalls_w_degenerate() -> None:
    one_level = inf.kendalls_w(pd.DataFrame({"l": [0.1, 0.2]}))
    assert one_level.w is None and "2 levels" in one_level.reason
    flat = inf.kendalls_w(pd.DataFrame({"l1": [0.5, 0.5], "l2": [0.2, 0.2]}))
    assert flat.w is None and flat.reason
    assert_json_ready(flat)


def test_floor_ceiling_warning_counts() -> None:
    scores = pd.DataFrame({"easy": [1.0, 0.96, 0.95, 0.5, 0.6, 0.7, 0.8, 0.9],  # 3 of 8 ceiling
                           "mid": [0.5, 0.96, 0.4, 0.5, 0.6, 0.7, 0.8, 0.04],  # 2 of 8: a quarter
                           "hard": [0.0, 0.05, 0.0, 0.1, np.nan, np.nan, np.nan, np.nan]})
    out = inf.floor_ceiling_warning(scores)
    assert out == [{"level": "easy", "n_models": 8, "n_floor": 0, "n_ceiling": 3},
                   {"level": "hard", "n_models": 4, "n_floor": 3, "n_ceiling": 0}]


# ----------------------------------------------------------------------------------------------
# Finding 2: mean d with its t-interval
# ----------------------------------------------------------------------------------------------
def test_mean_difference_interval_by_hand_on_bundled_data(cells) -> None:
    steps = cells.pivot(index="model", columns="difficulty", values="steps")
    d = ((steps["medium"] - steps["easy"]) - (steps["hard"] - steps["medium"])).to_numpy(float)
    assert sorted(d) == [2, 2, 3, 4]
    mean = sum(d) / 4
    sd = math.sqrt(sum((v - mean) ** 2 for v in d) / 3)
    t_975_3 = 3.182446305  # t table, 3 degrees of freedom
    res = inf.mean_difference_interval(d)
    assert res.mean_d == 2.75 and res.median_d == 2.5 and res.n == 4
    assert list(res.ci95) == pytest.approx([mean - t_975_3 * sd / 2, mean + t_975_3 * sd / 2])
    assert [round(v, 2) for v in res.ci95] == [1.23, 4.27]


def test_mean_difference_interval_degenerate() -> None:
    equal = inf.mean_difference_interval([3, 3, 3])
    assert equal.mean_d == 3 and equal.ci95 is None and "every difference" in equal.reason
    single = inf.mean_difference_interval([2, np.nan])
    assert single.n == 1 and single.ci95 is None and single.reason
    empty = inf.mean_difference_interval([])
    assert empty.mean_d is None and empty.reason
    for res in (equal, single, empty):
        assert_json_ready(res)


# ----------------------------------------------------------------------------------------------
# Finding 4: Mann–Whitney size test
# ----------------------------------------------------------------------------------------------
def u_of(a, b) -> float:
    return sum(1.0 if x > y else 0.5 if x == y else 0.0 for x in a for y in b)


def enumerated_mwu(passing, failing) -> tuple[float, float, float]:
    """(U, two-sided p, floor) over all C(n, k) splits of the pooled sizes."""
    pooled = list(passing) + list(failing)
    k = len(passing)
    us = []
    for chosen in itertools.combinations(range(len(pooled)), k):
        rest = [pooled[i] for i in range(len(pooled)) if i not in chosen]
        us.append(u_of([pooled[i] for i in chosen], rest))
    us = np.array(us)

    def p_of(u: float) -> float:
        return min(1.0, 2 * min(np.mean(us <= u + 1e-9), np.mean(us >= u - 1e-9)))

    return u_of(passing, failing), p_of(u_of(passing, failing)), min(p_of(us.max()),
                                                                       p_of(us.min()))


@pytest.mark.parametrize(("passing", "failing"), [
    ([70, 46.7, 30], [9, 8, 12, 2]),  # separated, no ties
    ([70, 8, 30], [9, 46.7, 12, 2]),  # overlapping
    ([70, 9, 30, 9], [9, 8, 12, 2, 2]),  # ties
    ([9], [9, 8, 12, 2, 2]),  # ties, one passing model (scipy's permutation test refuses it)
    ([9, 8, 12, 2, 2], [8]),  # ties, one failing model
    ([9, 12, 8, 3], [5]),  # no ties, one failing model
])
def test_size_test_against_enumeration(passing, failing) -> None:
    res = inf.size_test(passing, failing)
    u, p, floor = enumerated_mwu(passing, failing)
    assert res.statistic == pytest.approx(u)
    assert res.p_value == pytest.approx(p)
    assert res.min_attainable_p == pytest.approx(floor)
    assert res.separated == (min(passing) > max(failing))
    assert_json_ready(res)


def test_size_test_floor_without_ties_is_two_over_binomial() -> None:
    res = inf.size_test([5, 6], [1, 2, 3, 4])
    assert res.min_attainable_p == pytest.approx(2 / math.comb(6, 2))
    assert res.p_value == pytest.approx(2 / math.comb(6, 2))


def test_size_test_supported_and_contradicted_on_invented_sizes() -> None:
    # INVENTED sizes: ten models, the five passing ones all larger.
    large, small = [13.0, 34, 70, 180, 405], [1.0, 2, 3.8, 7, 8]
    res = inf.size_test(large, small)
    assert res.separated and res.direction == "passing larger"
    assert res.p_value == pytest.approx(2 / math.comb(10, 5))
    assert inf.size_verdict(res)[0] == "supported"
    flipped = inf.size_test(small, large)
    assert flipped.direction == "passing smaller"
    assert inf.size_verdict(flipped)[0] == "contradicted"


def test_size_test_on_bundled_data_no_model_passes_the_hardest_level(cells) -> None:
    hard = cells[cells["difficulty"] == "hard"]
    passes = hard["score"] >= hard["pass_threshold"]
    res = inf.size_test(hard.loc[passes, "params_b"], hard.loc[~passes, "params_b"])
    assert res.p_value is None and res.n_passing == 0 and "no model passes" in res.reason
    assert inf.size_verdict(res)[0] == "not_computable"
    every = inf.size_test([1, 2], [])
    assert every.p_value is None and "every model passes" in every.reason
    assert_json_ready(res)


# ----------------------------------------------------------------------------------------------
# What data would settle it
# ----------------------------------------------------------------------------------------------
def test_settle_correlation() -> None:
    assert 2 / math.factorial(4) >= 0.05 > 2 / math.factorial(5)
    res = inf.settle_correlation(0.5, 4)
    z = 1.959963985 + 0.841621234
    assert res.min_n_attainable == 5 and res.unit == "models"
    assert res.n_for_80_power == math.ceil((z / math.atanh(0.5)) ** 2 + 3)
    assert "approximate" in res.method
    strong = inf.settle_correlation(0.999, 4)
    assert strong.n_for_80_power == 5  # the analytic n is below the exact test's floor
    zero = inf.settle_correlation(0.0, 4)
    assert zero.n_for_80_power is None and zero.reason and zero.min_n_attainable == 5
    assert inf.settle_correlation(None, 2).n_for_80_power is None
    assert_json_ready(zero)


def test_settle_fixed_effects_at_the_near_perfect_threshold() -> None:
    z = 1.959963985 + 0.841621234
    res = inf.settle_fixed_effects_correlation(0.7, n_models=4, n_tasks=3, null_r=0.9)
    needed = (z / (math.atanh(0.9) - math.atanh(0.7))) ** 2  # n − k − 3 = 2 (M − 1) − 2
    assert res.n_for_80_power == math.ceil((needed + 2) / 2 + 1)
    assert res.min_n_attainable == 3  # 2 (3 − 1) − 2 = 2 >= 1, while 2 models give 0
    assert inf.settle_fixed_effects_correlation(0.9, n_models=4, n_tasks=3,
                                                null_r=0.9).n_for_80_power is None
    assert inf.settle_fixed_effects_correlation(0.5, n_models=4, n_tasks=1).reason


def test_settle_paired() -> None:
    assert 2 / 2 ** 5 >= 0.05 > 2 / 2 ** 6
    res = inf.settle_paired([0.5, -0.2, 0.4, 0.1, 0.3])
    effect = np.mean([0.5, -0.2, 0.4, 0.1, 0.3]) / np.std([0.5, -0.2, 0.4, 0.1, 0.3], ddof=1)
    z = 1.959963985 + 0.841621234
    assert res.min_n_attainable == 6
    assert res.n_for_80_power == max(6, math.ceil((z / effect) ** 2 * math.pi / 3))
    assert inf.settle_paired([1, 1, 1]).n_for_80_power is None


def test_settle_size_test() -> None:
    res = inf.settle_size_test([70, 46.7], [9, 8])  # passing share 1/2
    floors = {n: 2 / math.comb(n, math.floor(n / 2 + 0.5)) for n in range(2, 12)}
    assert res.min_n_attainable == min(n for n, p in floors.items() if p < 0.05) == 8
    z = 1.959963985 + 0.841621234
    assert res.n_for_80_power == math.ceil(z ** 2 / (12 * 0.25 * 0.25))
    none = inf.settle_size_test([], [1, 2])
    assert none.min_n_attainable is None and none.reason
    flat = inf.settle_size_test([1, 3], [2, 2])
    assert flat.n_for_80_power is None and flat.reason


def test_settle_on_bundled_finding_3(cells) -> None:
    res = inf.beyond_construction(cells, weight=0.40)
    settle = inf.settle_fixed_effects_correlation(res.r, n_models=4, n_tasks=3,
                                                  null_r=inf.NEAR_PERFECT_R)
    # n − k − 3 = 4 with 4 models × 3 tasks: |atanh 0.004 − atanh 0.9| × √4 = 2.94 already
    # exceeds z₀.₉₇₅ + z₀.₈ = 2.80, so the observed data have the power asked.
    assert abs(math.atanh(res.r) - math.atanh(0.9)) * 2 > 1.959963985 + 0.841621234
    assert settle.n_for_80_power == 4 and settle.unit == "models"


# ----------------------------------------------------------------------------------------------
# Options and robustness
# ----------------------------------------------------------------------------------------------
def test_min_attainable_p_with_another_test() -> None:
    from scipy.stats import spearmanr
    res = inf.min_attainable_correlation_p([3, 1, 2, 5, 4], [1, 2, 3, 4, 5],
                                           test=lambda a, b: float(spearmanr(a, b).pvalue))
    assert res.min_attainable_p == pytest.approx(0.0)  # rho = ±1: the t approximation's p is 0


def test_kendalls_w_drops_models_with_a_missing_score() -> None:
    frame = pd.DataFrame({"l1": [0.9, 0.5, 0.4, np.nan], "l2": [0.3, 0.6, 0.1, 0.2]},
                         index=list("abcd"))
    res = inf.kendalls_w(frame)
    w, p = brute_force_w(frame.dropna().to_numpy().T)
    assert res.n_items == 3 and res.w == pytest.approx(w) and res.p_value == pytest.approx(p)


small_floats = st.lists(st.one_of(st.floats(-5, 5, allow_nan=False), st.just(1.0),
                                  st.just(float("nan"))), min_size=0, max_size=7)


@settings(max_examples=40)
@given(x=small_floats, y=small_floats)
def test_never_nan_never_raises(x, y) -> None:
    """On any small input (empty, constant, tied, missing values) every result is JSON
    without NaN, and a None statistic comes with a reason."""
    n = min(len(x), len(y))
    x, y = x[:n], y[:n]
    results = [inf.min_attainable_correlation_p(x, y), inf.mean_difference_interval(x),
               inf.size_test(x, y), inf.settle_paired(x), inf.settle_size_test(x, y)]
    models = [f"m{i % 3}" for i in range(n)]
    tasks = [f"t{i // 3}" for i in range(n)]
    frame = pd.DataFrame({"model": models, "task": tasks, "test_pass": x, "score": y})
    results.append(inf.beyond_construction(frame, weight=0.4))
    if n:
        grid = pd.DataFrame({"l1": x, "l2": y}, index=[f"m{i}" for i in range(n)])
        results.append(inf.kendalls_w(grid))
        out = inf.leave_one_out_correlations(grid["l1"], grid["l2"])
        json.dumps(out.to_dict("records"), allow_nan=False)
        assert all(row["reason"] for row in out.to_dict("records") if row["p_value"] is None)
        json.dumps(inf.floor_ceiling_warning(grid), allow_nan=False)
    for res in results:
        assert_json_ready(res)
        values = res.to_dict()
        if any(values.get(key) is None for key in ("r", "p_value", "w", "ci95", "mean_d",
                                                    "min_attainable_p") if key in values):
            assert values["reason"]


def test_leave_one_out_on_many_models_matches_numpy() -> None:
    # INVENTED: 150 models, beyond the exact permutation range: every p is parametric
    from scipy import stats as sps

    rng = np.random.default_rng(3)
    names = [f"m{i:03d}" for i in range(150)]
    sizes = pd.Series(rng.uniform(1, 100, 150), index=names)
    scores = pd.Series(0.002 * sizes.to_numpy() + rng.normal(0, 0.1, 150), index=names)
    out = inf.leave_one_out_correlations(sizes, scores).set_index("left_out")
    for i in (0, 77, 149):
        rest = [n for j, n in enumerate(names) if j != i]
        r = np.corrcoef(sizes[rest], scores[rest])[0, 1]
        t = r * np.sqrt(147 / (1 - r**2))
        assert out.loc[names[i], "r"] == pytest.approx(r, abs=1e-10)
        assert out.loc[names[i], "p_value"] == pytest.approx(2 * sps.t.sf(abs(t), 147), rel=1e-6)
        assert out.loc[names[i], "p_method"] == "parametric" and out.loc[names[i], "n"] == 149


@pytest.mark.parametrize("value", [0.1, 0.7, 1 / 3, 0.123456789])
def test_a_constant_variable_is_not_computable_in_unbalanced_designs(value: float) -> None:
    """Invented unbalanced cells (4 × 5 with 4 left out): a constant x is explained entirely by
    the fixed effects, whatever rounding leaves behind."""
    rng = np.random.default_rng(3)
    cells = pd.DataFrame([(f"m{i}", f"t{j}") for i in range(4) for j in range(5)],
                         columns=["model", "task"]).iloc[4:]
    cells = cells.assign(x=value, y=rng.random(len(cells)))
    result = inf.partial_correlation_fixed_effects(cells, x="x", y="y")
    assert result.r is None and "x is constant" in result.reason


def test_fixed_effects_residuals_without_rows_or_factors() -> None:
    empty = inf.fixed_effects_residuals(pd.DataFrame({"x": [], "model": [], "task": []}), ["x"])
    assert empty.empty and empty.attrs["k"] == 0
    centred = inf.fixed_effects_residuals(pd.DataFrame({"x": [1.0, 2.0, 6.0]}), ["x"], ())
    assert centred["x"].tolist() == [-2.0, -1.0, 3.0] and centred.attrs["k"] == 0
