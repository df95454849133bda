"""Issue 4: small-sample inference, sensitivity and non-independence.

Reference values are worked by hand, enumerated independently, or come from pingouin (a
reference implementation used only in tests).
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from teamforge_analysis import analyze, findings, load_dataset
from teamforge_analysis.findings import correlation_verdict
from teamforge_analysis.methods import REGENERATE, methods_markdown
from teamforge_analysis.stats import (
    CorrelationResult,
    correlation,
    min_detectable_r,
    repeated_measures_correlation,
)

ROOT = Path(__file__).resolve().parents[1]
SIZES = [70.0, 8.0, 46.7, 9.0]  # llama3-70b, llama3-8b, mixtral, gemma2 (data/models.csv)
HARD = [0.621, 0.412, 0.332, 0.211]  # the same models' hard-task scores (data/results.csv)


def _enumerated_two_sided_p(x: list[float], y: list[float]) -> float:
    """Permutation p by brute force: 2 · min(P(T >= t), P(T <= t)) over all n! orders of x."""
    def r(xs: tuple[float, ...]) -> float:
        xa, ya = np.array(xs), np.array(y)
        xc, yc = xa - xa.mean(), ya - ya.mean()
        return float(xc @ yc / math.sqrt((xc @ xc) * (yc @ yc)))

    observed = r(tuple(x))
    null = [r(p) for p in itertools.permutations(x)]
    eps = 1e-12
    greater = sum(t >= observed - eps for t in null) / len(null)
    less = sum(t <= observed + eps for t in null) / len(null)
    return min(1.0, 2 * min(greater, less))


# ----------------------------------------------------------------------------------------------
# New CORR fields
# ----------------------------------------------------------------------------------------------
def test_exact_permutation_p_perfect_order_is_two_in_twenty_four() -> None:
    # Worked by hand: only the identity pairing reaches r = 1, so P(T >= t) = 1/24 and the
    # two-sided p is 2/24.
    res = correlation([1, 2, 3, 4], [1, 2, 3, 4])
    assert res.p_permutation == pytest.approx(2 / 24)
    assert res.permutation_method == "exact (24 pairings)"


def test_exact_permutation_p_matches_enumeration_for_bundled_hard_level() -> None:
    res = correlation(SIZES, HARD)
    # Hand enumeration: size order (70, 8, 46.7, 9) and hard order differ by one swap
    # (8 and 9 trade places); 4 of the 24 pairings give r at least as large as observed.
    assert res.p_permutation == pytest.approx(_enumerated_two_sided_p(SIZES, HARD))
    assert res.p_permutation == pytest.approx(8 / 24)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_permutation_p_matches_enumeration_random(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=6).tolist()
    y = (np.array(x) + rng.normal(size=6)).tolist()
    assert correlation(x, y).p_permutation == pytest.approx(_enumerated_two_sided_p(x, y))


def test_monte_carlo_permutation_is_seeded_and_close_to_parametric() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=40)
    y = 0.5 * x + rng.normal(size=40)
    first, second = correlation(x, y), correlation(x, y)
    assert first.p_permutation == second.p_permutation  # fixed seed: reproducible
    assert "Monte Carlo" in (first.permutation_method or "")
    assert first.p_permutation == pytest.approx(first.p_value, abs=0.01)


def _scipy_monte_carlo_p(x: np.ndarray, y: np.ndarray) -> float:
    """scipy.stats.permutation_test itself, with the library's resamples and seed."""
    from scipy import stats as sps

    from teamforge_analysis.stats import PERMUTATION_RESAMPLES, PERMUTATION_SEED

    def r(xs: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.apply_along_axis(lambda row: np.corrcoef(row, y)[0, 1], axis, xs)

    with np.errstate(all="ignore"):
        return float(sps.permutation_test(
            (x,), r, permutation_type="pairings", vectorized=True, alternative="two-sided",
            n_resamples=PERMUTATION_RESAMPLES,
            rng=np.random.default_rng(PERMUTATION_SEED)).pvalue)


@pytest.mark.parametrize(("n", "kind"), [(9, "normal"), (23, "ties"), (50, "binary"),
                                         (64, "zero"), (100, "normal")])
def test_monte_carlo_permutation_p_equals_scipy_permutation_test(n: int, kind: str) -> None:
    # scipy's function with an independent statistic (np.corrcoef per resample), the
    # library's seed and resample count: the same p up to how one near-tie is counted.
    rng = np.random.default_rng(n)
    x = rng.normal(size=n)
    y = 0.2 * x + rng.normal(size=n)
    if kind == "ties":  # few distinct values on both sides (planning depths, rounded scores)
        x, y = rng.integers(0, 4, n).astype(float), rng.integers(0, 3, n).astype(float)
    elif kind == "binary":  # point-biserial: passed as 0/1
        y = (y > 0).astype(float)
    elif kind == "zero":  # r exactly 0, with many pairings tied with it
        x, y = np.tile([0.0, 1.0], n // 2), np.tile([0.0, 0.0, 1.0, 1.0], n // 4)
    res = correlation(x, y)
    assert res.permutation_method == "Monte Carlo (9999 resamples, seed 20240601)"
    assert res.p_permutation == pytest.approx(_scipy_monte_carlo_p(x, y), abs=2 / 10_000)


def test_permutation_p_is_null_above_one_hundred_with_reason() -> None:
    x = np.arange(101.0)
    res = correlation(x, x**0.5)
    assert res.p_permutation is None and res.permutation_method is None
    assert "n > 100" in (res.reason or "")
    assert res.p_value is not None


def test_kendall_tau_by_hand() -> None:
    # Pairs of (1,2,3,4) vs (1,3,2,4): 5 concordant, 1 discordant -> tau = 4/6.
    res = correlation([1, 2, 3, 4], [1, 3, 2, 4])
    assert res.kendall_tau == pytest.approx(4 / 6)
    # Exact null distribution of tau for n = 4: P(|tau| >= 2/3) = 8/24 (counts of 0 or 1
    # discordant pairs: 1 + 3, and symmetric).
    assert res.kendall_p == pytest.approx(8 / 24)


@pytest.mark.parametrize("n", [4, 12, 28, 100])
def test_min_detectable_r_by_formula(n: int) -> None:
    # z_0.975 = 1.959964, z_0.80 = 0.841621 (normal table).
    expected = math.tanh((1.959964 + 0.841621) / math.sqrt(n - 3))
    assert min_detectable_r(n) == pytest.approx(expected, abs=1e-5)
    assert correlation(np.arange(n), np.arange(n) ** 1.5).min_detectable_r == pytest.approx(
        expected, abs=1e-5)


def test_min_detectable_r_null_for_three() -> None:
    assert min_detectable_r(3) is None
    res = correlation([1, 2, 3], [1, 3, 2])
    assert res.min_detectable_r is None and "min_detectable_r" in (res.reason or "")


def test_correlation_interval_matches_pingouin() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=25)
    y = x + rng.normal(size=25)
    ref = pg.corr(x, y)
    res = correlation(x, y)
    assert res.r == pytest.approx(float(ref["r"].iloc[0]), abs=1e-9)
    assert res.ci95 is not None
    assert res.ci95 == pytest.approx(list(ref["CI95"].iloc[0]), abs=0.005)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)), min_size=4, max_size=7),
    st.floats(0.1, 100),
    st.floats(-100, 100),
)
def test_permutation_p_in_unit_interval_and_affine_invariant(
    pairs: list[tuple[float, float]], scale: float, shift: float
) -> None:
    x = np.array([p[0] for p in pairs])
    y = np.array([p[1] for p in pairs])
    res = correlation(x, y)
    if res.p_permutation is None:
        return
    assert 0 < res.p_permutation <= 1
    moved = correlation(x * scale + shift, y)
    if moved.p_permutation is not None and np.ptp(x) > 1e-6 * (1 + np.abs(x).max()):
        assert moved.p_permutation == pytest.approx(res.p_permutation, abs=1e-9)


# ----------------------------------------------------------------------------------------------
# Verdicts use the permutation p
# ----------------------------------------------------------------------------------------------
def test_verdict_uses_permutation_p_when_defined() -> None:
    # p_value < 0.05 but the exact permutation p cannot go below 2/24 with n = 4.
    res = correlation([1, 2, 3, 4], [1.1, 1.9, 3.2, 3.9])
    assert res.p_value is not None and res.p_value < 0.05
    assert res.p_permutation is not None and res.p_permutation >= 0.05
    verdict, reason = correlation_verdict(res)
    assert verdict == "inconclusive"
    assert "permutation" in reason


def test_verdict_falls_back_to_parametric_p() -> None:
    res = CorrelationResult(n=200, r=0.3, p_value=0.001)
    assert correlation_verdict(res)[0] == "supported"
    assert correlation_verdict(CorrelationResult(n=200, r=-0.3, p_value=0.001))[0] == \
        "contradicted"


# ----------------------------------------------------------------------------------------------
# Finding 1: sensitivity to the size measure
# ----------------------------------------------------------------------------------------------
def test_sensitivity_measures_on_bundled_data(bundled) -> None:
    stats = analyze(bundled).finding("scale_vs_difficulty").statistics
    sens = stats["sensitivity"]
    assert set(sens) == {"params_b", "active_params_b", "log10_params_b"}
    hard = pd.read_csv(ROOT / "data" / "results.csv").query(
        "task == 'hard_lru_cache_performance'").set_index("model")["score"]
    models = pd.read_csv(ROOT / "data" / "models.csv").set_index("model")
    active = models["active_params_b"].fillna(models["params_b"])
    for name, sizes in [("params_b", models["params_b"]), ("active_params_b", active),
                        ("log10_params_b", np.log10(models["params_b"]))]:
        expected = np.corrcoef(sizes.reindex(hard.index), hard)[0, 1]
        assert sens[name]["hard"]["r"] == pytest.approx(expected, abs=1e-12)
    # Mixtral's active size (12.9) instead of its total (46.7): worked in numpy above.
    assert sens["active_params_b"]["hard"]["r"] != pytest.approx(sens["params_b"]["hard"]["r"])
    assert set(stats["sensitivity_verdicts"].values()) == {"inconclusive"}


def test_sensitivity_verdict_change_is_reported(make_data) -> None:
    # INVENTED data: ten models whose hard scores rise with active size but not with total
    # size, so the verdict depends on the measure.
    n = 10
    total = [10.0 * (i + 1) for i in range(n)]
    active = [float(n - i) for i in range(n)]  # reversed order
    wobble = [0.02, -0.01, 0.015, -0.02, 0.0, 0.01, -0.015, 0.02, -0.005, 0.01]
    hard = [0.1 + 0.5 * (n - i) / n + wobble[i] for i in range(n)]  # rises with active size
    easy = [0.5 + 0.01 * ((i * 7) % n) / n for i in range(n)]
    models = pd.DataFrame({"model": [f"m{i}" for i in range(n)], "params_b": total,
                           "active_params_b": active})
    results = pd.DataFrame({
        "model": [f"m{i}" for i in range(n)] * 2,
        "task": ["e"] * n + ["h"] * n,
        "score": easy + hard,
        "steps": [10] * (2 * n),
        "test_pass": easy + hard,
        "passed": [False] * (2 * n),
    })
    tasks = pd.DataFrame({"task": ["e", "h"], "difficulty": ["easy", "hard"],
                          "weight": [0.5, 0.5], "pass_threshold": [0.7, 0.7]})
    finding = analyze(make_data(results=results, models=models, tasks=tasks)).finding(
        "scale_vs_difficulty")
    verdicts = finding.statistics["sensitivity_verdicts"]
    assert verdicts["params_b"] == "contradicted"
    assert verdicts["active_params_b"] != "contradicted"
    assert "depends on how size is measured" in finding.text


@pytest.mark.parametrize("active", [None, "blank"])
def test_sensitivity_names_only_the_size_measures_the_data_have(active: str | None) -> None:
    # INVENTED: six models, sizes 1..6 of which m5's is unknown, one easy and one hard task;
    # models.csv without active_params_b, or with it blank for every model.
    from teamforge_analysis import Dataset

    names = [f"m{i}" for i in range(6)]
    models = pd.DataFrame({"model": names, "params_b": [1.0, 2.0, 3.0, 4.0, 5.0, None]})
    if active == "blank":
        models["active_params_b"] = ""
    results = pd.DataFrame({"model": names * 2, "task": ["e"] * 6 + ["h"] * 6,
                            "score": [0.5, 0.6, 0.55, 0.7, 0.65, 0.6,
                                      0.1, 0.3, 0.2, 0.5, 0.6, 0.4]})
    tasks = pd.DataFrame({"task": ["e", "h"], "difficulty": ["easy", "hard"]})
    finding = findings.scale_vs_difficulty(Dataset.from_frames(results, models, tasks))
    assert list(finding.statistics["sensitivity"]) == ["params_b", "log10_params_b"]
    assert list(finding.statistics["sensitivity_verdicts"]) == ["params_b", "log10_params_b"]
    assert "active_params_b" not in finding.text
    assert "same under every size measure (params_b and log10_params_b)." in finding.text


def test_sensitivity_needs_enough_known_sizes() -> None:
    # INVENTED: params_b known for two of five models, no active_params_b: no size measure has
    # the three known values a correlation needs, so none is named.
    from teamforge_analysis import Dataset

    names = [f"m{i}" for i in range(5)]
    models = pd.DataFrame({"model": names, "params_b": [1.0, 2.0, None, None, None]})
    results = pd.DataFrame({"model": names * 2, "task": ["e"] * 5 + ["h"] * 5,
                            "score": [0.5, 0.6, 0.55, 0.7, 0.65, 0.1, 0.3, 0.2, 0.5, 0.6]})
    tasks = pd.DataFrame({"task": ["e", "h"], "difficulty": ["easy", "hard"]})
    finding = findings.scale_vs_difficulty(Dataset.from_frames(results, models, tasks))
    assert finding.statistics["sensitivity"] == {}
    assert "size measure" not in finding.text


# ----------------------------------------------------------------------------------------------
# Finding 3: non-independence and construction
# ----------------------------------------------------------------------------------------------
def test_repeated_measures_matches_pingouin_on_bundled(bundled) -> None:
    res = repeated_measures_correlation(bundled.results, x="test_pass", y="score",
                                        subject="task")
    ref = pg.rm_corr(bundled.results, x="test_pass", y="score", subject="task")
    assert res.r == pytest.approx(float(ref["r"].iloc[0]), abs=1e-9)
    assert res.dof == int(ref["dof"].iloc[0])
    assert res.p_value == pytest.approx(float(ref["pval"].iloc[0]), abs=1e-9)
    assert res.ci95 == pytest.approx(list(ref["CI95"].iloc[0]), abs=0.005)


def test_repeated_measures_published_example() -> None:
    # Bakdash & Marusich (2017): pH vs PaCO2 within subjects, r_rm = -0.507, dof = 38,
    # p = 0.0008, 95% CI [-0.71, -0.23]; the data set ships with pingouin.
    data = pg.read_dataset("rm_corr")
    res = repeated_measures_correlation(data, x="pH", y="PacO2", subject="Subject")
    assert res.r == pytest.approx(-0.507, abs=0.001)
    assert res.dof == 38
    assert res.p_value == pytest.approx(0.0008, abs=0.0001)
    assert res.ci95 == pytest.approx([-0.71, -0.23], abs=0.005)


def test_repeated_measures_degenerate() -> None:
    one_each = pd.DataFrame({"s": [1, 2, 3], "x": [1.0, 2, 3], "y": [1.0, 2, 4]})
    res = repeated_measures_correlation(one_each, x="x", y="y", subject="s")
    assert res.r is None and res.reason
    flat = pd.DataFrame({"s": [1, 1, 2, 2, 3], "x": [1.0, 1, 2, 2, 3], "y": [1.0, 2, 3, 4, 5]})
    res = repeated_measures_correlation(flat, x="x", y="y", subject="s")
    assert res.r is None and "does not vary" in (res.reason or "")


def test_within_task_and_rest_of_score_by_numpy(bundled) -> None:
    stats = findings.test_pass_vs_score(bundled).statistics
    raw = pd.read_csv(ROOT / "data" / "results.csv")
    for task, cells in raw.groupby("task"):
        expected = np.corrcoef(cells["test_pass"], cells["score"])[0, 1]
        assert stats["within_task"][task]["r"] == pytest.approx(expected, abs=1e-12)
        assert stats["within_task"][task]["n"] == len(cells)
    # what the formula alone would give: 0.40 sd(tp) / sqrt(0.40^2 var(tp) + var(rest))
    rest = raw["score"] - 0.40 * raw["test_pass"]
    tp = raw["test_pass"]
    expected = 0.40 * tp.std() / np.sqrt(0.40**2 * tp.var() + rest.var())
    assert stats["construction_r"] == pytest.approx(expected, abs=1e-12)


def test_test_pass_verdict_decided_on_repeated_measures(make_data) -> None:
    # INVENTED data: across tasks, harder tasks have both lower pass rates and lower scores
    # (a strong pooled r), but within each task the relation is negative.
    rows = []
    for t, (base_pass, base_score) in enumerate([(0.9, 0.9), (0.5, 0.5), (0.1, 0.1)]):
        for m in range(6):
            rows.append({"model": f"m{m}", "task": f"t{t}", "steps": 5,
                         "test_pass": base_pass + 0.01 * m, "score": base_score - 0.01 * m,
                         "passed": False})
    results = pd.DataFrame(rows)
    models = pd.DataFrame({"model": [f"m{m}" for m in range(6)], "params_b": range(1, 7)})
    tasks = pd.DataFrame({"task": ["t0", "t1", "t2"], "difficulty": ["easy", "medium", "hard"],
                          "weight": [0.25, 0.25, 0.5], "pass_threshold": [0.7] * 3})
    finding = findings.test_pass_vs_score(load_dataset(make_data(results=results, models=models,
                                                        tasks=tasks)))
    assert finding.statistics["pooled"]["r"] > 0.9
    assert finding.statistics["repeated_measures"]["r"] == pytest.approx(-1.0)
    # test_pass is model effect + task effect here, so nothing is left to correlate beyond
    # them: the rule cannot decide, and says why
    beyond = finding.statistics["beyond_construction"]
    assert beyond["r"] is None and "constant after removing the fixed effects" in beyond["reason"]
    assert finding.verdict == "not_computable"


# ----------------------------------------------------------------------------------------------
# "Inconclusive" explained
# ----------------------------------------------------------------------------------------------
def test_step_min_attainable_p_by_hand(bundled) -> None:
    finding = analyze(bundled).finding("step_efficiency")
    test = finding.statistics["paired_test"]
    assert test["min_attainable_p"] == pytest.approx(2 / 2**4)
    assert "cannot reach p < 0.05" in finding.text


def test_boundary_without_two_groups_has_no_size_test(bundled) -> None:
    finding = analyze(bundled).finding("hard_task_boundary")
    test = finding.statistics["size_test"]
    assert test["p_value"] is None and test["min_attainable_p"] is None
    assert "no model passes" in test["reason"]


def test_texts_cite_permutation_p_and_power(bundled) -> None:
    text = analyze(bundled).finding("scale_vs_difficulty").text
    assert "permutation p = 0.333" in text
    # no power sentence where no p could be significant: the permutation floor instead
    assert "only |r| >=" not in text and "smallest p" in text and "0.083" in text
    assert "same under every size measure" in text


# ----------------------------------------------------------------------------------------------
# Methods
# ----------------------------------------------------------------------------------------------
def test_docs_methods_is_generated_from_the_package() -> None:
    current = (ROOT / "docs" / "methods.md").read_text(encoding="utf-8")
    assert current == methods_markdown(), f"docs/methods.md is stale; run: {REGENERATE}"


def uncertainty_section(document: str) -> str:
    start = document.index("## Leaderboard uncertainty")
    return document[start:document.index("\n## ", start + 1)]


def test_methods_state_the_leaderboard_uncertainty_method() -> None:
    """docs/methods.md has the section issue 14 asks for: the bootstrap with B and the seed,
    rank intervals, the sign-flip test's exact and Monte Carlo paths, Holm, run noise by
    Welch-Satterthwaite and the power formula."""
    section = uncertainty_section(methods_markdown())
    for said in ("stratified percentile bootstrap", "B = 2,000 resamples, seed 20261214",
                 "2.5% and 97.5% quantiles", "12 significant digits", "`inverted_cdf`",
                 "all 2ⁿ sign vectors for n ≤ 16 tasks", "9,999 random sign vectors",
                 "never below 0.0002", "Holm's (1979)", "p_holm < α = 0.05",
                 "at least 6 shared tasks", "((z(1 − α/2) + z(0.8)) · sd / mean)²",
                 "80% power", "no level with two or more tasks", "`pair_selection`",
                 "see Repeated runs"):
        assert said in section, said
    assert "Welch 1947; Satterthwaite 1946" in methods_markdown()


def test_methods_numbers_come_from_the_code(monkeypatch) -> None:
    """No number of the section is typed twice: each is read from the constant the
    computation uses, so changing one changes the text."""
    from teamforge_analysis import uncertainty as unc

    for name, value in (("DEFAULT_RESAMPLES", 1234), ("DEFAULT_SEED", 77),
                        ("PERMUTATION_EXACT_MAX_TASKS", 12), ("PERMUTATION_RESAMPLES", 4999),
                        ("MIN_TASKS_FOR_SIGNIFICANCE", 9), ("POWER", 0.9), ("CONFIDENCE", 0.9)):
        monkeypatch.setattr(unc, name, value)
    section = uncertainty_section(methods_markdown())
    for said in ("B = 1,234 resamples, seed 77", "n ≤ 12 tasks", "4,999 random sign vectors",
                 "never below 0.0004", "at least 9 shared tasks", "z(0.9)", "90% power",
                 "Each model's 90% interval", "5% and 95% quantiles"):
        assert said in section, said


def test_methods_say_how_a_level_score_is_weighted() -> None:
    """Issue 12 item 5: a level score is the weight-weighted mean of the level's task scores
    (equal weights without weights; an all-zero level equally, with a warning), and a model
    missing a task of a level has none there."""
    methods = methods_markdown()
    section = methods[methods.index("(`scale_vs_difficulty`)"):methods.index("Rule:")]
    assert "the mean score over the tasks" not in section
    for said in ("the weight-weighted mean of its task scores on that level",
                 "equal weights without a `weight` column",
                 "a level whose weights are all zero weighs its tasks equally, with a warning",
                 "A model without a result on some task of a level has no score on that level"):
        assert said in section, said


def test_findings_markdown_ends_with_methods(bundled) -> None:
    from teamforge_analysis.report import to_markdown

    markdown = to_markdown(analyze(bundled).document)
    methods = markdown[markdown.index("## Methods"):]
    assert "beyond construction" in methods and "Zou 2007" in methods


def test_json_carries_issue_four_fields(bundled) -> None:
    document = json.loads(json.dumps(analyze(bundled).document, allow_nan=False))
    by_id = {f["id"]: f for f in document["findings"]}
    corr = by_id["scale_vs_difficulty"]["statistics"]["by_difficulty"]["hard"]
    for key in ("p_permutation", "kendall_tau", "kendall_p", "min_detectable_r"):
        assert key in corr
    stats = by_id["test_pass_vs_score"]["statistics"]
    assert set(stats) >= {"beyond_construction", "pooled", "within_task", "repeated_measures",
                          "construction_r", "settle"}
    assert set(stats["repeated_measures"]) >= {"r", "dof", "p_value", "ci95"}


def test_null_step_statistics_say_why(make_data) -> None:
    # INVENTED data: one model takes 0 steps on the easy task, so its degradation is undefined.
    results = pd.DataFrame({
        "model": ["a", "a", "a", "b", "b", "b"],
        "task": ["e", "m", "h"] * 2,
        "score": [0.5] * 6, "steps": [0, 4, 6, 2, 5, 7], "test_pass": [0.5] * 6,
        "passed": [False] * 6,
    })
    models = pd.DataFrame({"model": ["a", "b"], "params_b": [1, 2]})
    tasks = pd.DataFrame({"task": ["e", "m", "h"], "difficulty": ["easy", "medium", "hard"],
                          "weight": [0.2, 0.3, 0.5], "pass_threshold": [0.7] * 3})
    ds = load_dataset(make_data(results=results, models=models, tasks=tasks))
    by_model = findings.step_efficiency(ds).statistics["by_model"]
    assert by_model["a"]["degradation_pct"] is None
    assert "easy level is 0" in by_model["a"]["reason"]
    assert by_model["b"]["degradation_pct"] == pytest.approx((7 - 2) / 2 * 100)
    assert "reason" not in by_model["b"]
    boundary = findings.hard_task_boundary(ds).statistics
    assert boundary["size_test"]["min_attainable_p"] is None
    assert boundary["size_test"]["reason"] == ("no model passes, so there are no two groups to "
                                               "compare")


def test_boundary_text_names_at_most_eight_models_per_list(make_data) -> None:
    # INVENTED data: 20 models, the 10 largest pass the single hard task.
    n = 20
    names = [f"m{i:02d}" for i in range(n)]
    hard = [0.9 if i >= 10 else 0.3 for i in range(n)]
    results = pd.DataFrame({
        "model": names * 2, "task": ["e"] * n + ["h"] * n,
        "score": [0.8] * n + hard, "steps": [5] * (2 * n),
        "test_pass": [0.8] * n + hard, "passed": [True] * n + [s >= 0.7 for s in hard],
    })
    models = pd.DataFrame({"model": names, "params_b": [float(i + 1) for i in range(n)]})
    tasks = pd.DataFrame({"task": ["e", "h"], "difficulty": ["easy", "hard"],
                          "weight": [0.5, 0.5], "pass_threshold": [0.7, 0.7]})
    finding = findings.hard_task_boundary(
        load_dataset(make_data(results=results, models=models, tasks=tasks)))
    assert "and 2 others" in finding.text
    assert "m19" not in finding.text and "m09" not in finding.text
    assert len(finding.statistics["passed"]) == n  # the JSON keeps every model
    assert finding.verdict == "supported"  # 1 / C(20, 10) < 0.05
