"""Leaderboard uncertainty (issue 14), checked against independent computations.

Every data set here except the bundled one is INVENTED (seeded random scores written by
``make_data``), shaped to isolate one property. Expected values are computed in this file from
the inputs (analytic standard errors, scipy.stats.bootstrap, brute-force sign-flip
enumeration, Holm and Welch–Satterthwaite by hand), never by calling the library twice.
"""

from __future__ import annotations

import io
import itertools
import json
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest
from conftest import SEED, MakeData
from rich.console import Console
from scipy import stats

from teamforge_analysis import Dataset, analyze, load_dataset
from teamforge_analysis.console import print_console
from teamforge_analysis.report import to_markdown, uncertainty_tables
from teamforge_analysis.uncertainty import (
    MIN_TASKS_FOR_SIGNIFICANCE,
    MODEL_COLUMNS,
    PAIR_COLUMNS,
    holm,
    leaderboard_uncertainty,
    pairwise_comparisons,
    score_intervals,
    smallest_holm_p,
)

MODEL_KEYS = ["model", "score", "n_tasks", "ci95", "rank", "rank_ci95", "run_se",
              "run_se_ci95", "reason"]
PAIR_KEYS = ["model_a", "model_b", "n_tasks", "difference", "ci95", "p_value", "p_holm",
             "verdict", "tasks_for_80_power", "reason"]
SECTION_KEYS = ["method", "ci_method", "resamples", "seed", "reason", "pair_order",
                "pair_selection", "models", "pairs"]


def write(make_data: MakeData, scores: pd.DataFrame, levels: Sequence[str],
          weights: Sequence[float] | None = None, *, aggregate: str = "mean") -> Dataset:
    """INVENTED data: ``scores`` has model, task (t000, t001, ...), [run,] score rows;
    ``levels[i]`` is task i's difficulty; equal weights unless given.

    The measures this module does not use (steps, test_pass, passed, pass_threshold) are
    filled in, as the interim loader requires them."""
    n = len(levels)
    tasks = pd.DataFrame({"task": [f"t{i:03d}" for i in range(n)], "difficulty": list(levels),
                          "weight": [1 / n] * n if weights is None else list(weights),
                          "pass_threshold": 0.5})
    results = scores.assign(steps=10, test_pass=scores["score"],
                            passed=np.where(scores["score"] >= 0.5, "true", "false"))
    models = pd.DataFrame({"model": sorted(scores["model"].unique()), "params_b": 1.0})
    return load_dataset(make_data(results, models, tasks), aggregate=aggregate)


def grid(values: np.ndarray, names: Sequence[str] | None = None) -> pd.DataFrame:
    """Long rows of a models × tasks array (NaN: cell left out)."""
    names = names or [f"m{i:02d}" for i in range(values.shape[0])]
    rows = [(m, f"t{t:03d}", float(v)) for m, row in zip(names, values, strict=True)
            for t, v in enumerate(row) if not np.isnan(v)]
    return pd.DataFrame(rows, columns=["model", "task", "score"])


def half_width(row: pd.Series) -> float:
    return (row["ci_high"] - row["ci_low"]) / 2


def no_nan(section: dict) -> None:
    json.dumps(section, allow_nan=False)


# ----------------------------------------------------------------------------------------------
# Score intervals
# ----------------------------------------------------------------------------------------------
def test_stratified_half_width_matches_the_analytic_standard_error(make_data: MakeData,
                                                                   rng: np.random.Generator
                                                                   ) -> None:
    counts = {"easy": 60, "medium": 90, "hard": 150}
    levels = [level for level, n in counts.items() for _ in range(n)]
    # Level means differ, so an unstratified bootstrap would be visibly too wide.
    centre = np.array([{"easy": 0.8, "medium": 0.5, "hard": 0.2}[lv] for lv in levels])
    values = np.clip(centre + rng.normal(0, 0.2, (4, len(levels))), 0, 1)
    table = score_intervals(write(make_data, grid(values), levels), resamples=4000)
    assert table.attrs["ci_method"] == "tasks"
    level_of = np.array(levels)
    for name, row in table.set_index("model").iterrows():
        x = values[int(name[1:])]
        variance = sum((n / len(levels)) ** 2 * x[level_of == lv].var(ddof=1) / n
                       for lv, n in counts.items())
        assert half_width(row) == pytest.approx(1.96 * math.sqrt(variance), rel=0.10)
        assert row["score"] == pytest.approx(x.mean(), abs=1e-12)
        assert row["ci_low"] < row["score"] < row["ci_high"]


def test_one_level_agrees_with_scipy_bootstrap(make_data: MakeData,
                                               rng: np.random.Generator) -> None:
    values = rng.beta(2, 3, (3, 80))
    table = score_intervals(write(make_data, grid(values), ["easy"] * 80), resamples=4000)
    for name, row in table.set_index("model").iterrows():
        x = values[int(name[1:])]
        ref = stats.bootstrap((x,), np.mean, method="percentile", n_resamples=4000,
                              rng=np.random.default_rng(SEED)).confidence_interval
        width = (ref.high - ref.low) / 2
        assert abs(row["ci_low"] - ref.low) <= 0.10 * width
        assert abs(row["ci_high"] - ref.high) <= 0.10 * width
        assert half_width(row) == pytest.approx(1.96 * x.std(ddof=1) / math.sqrt(80), rel=0.1)


def test_rank_intervals_bracket_the_rank(make_data: MakeData,
                                         rng: np.random.Generator) -> None:
    # m00 far ahead, m01/m02 identical on every task (they share ranks in every resample).
    base = rng.uniform(0.2, 0.4, 40)
    values = np.vstack([base + 0.5, base + 0.1, base + 0.1, base])
    table = score_intervals(write(make_data, grid(values), ["easy", "hard"] * 20))
    by = table.set_index("model")
    assert (by.loc["m00", ["rank", "rank_low", "rank_high"]] == 1).all()
    assert list(by.loc["m01", ["rank", "rank_low", "rank_high"]]) == [2, 2, 2]
    assert list(by.loc["m02", ["rank", "rank_low", "rank_high"]]) == [2, 2, 2]
    assert list(by.loc["m03", ["rank", "rank_low", "rank_high"]]) == [4, 4, 4]


def test_runs_are_resampled_when_no_level_has_two_tasks(make_data: MakeData,
                                                        rng: np.random.Generator) -> None:
    n_runs, weights = 40, [0.2, 0.35, 0.45]
    runs = rng.uniform(0, 1, (3, 3, n_runs))  # model × task × run
    rows = [(f"m{m}", f"t{t:03d}", r + 1, float(runs[m, t, r]))
            for m in range(3) for t in range(3) for r in range(n_runs)]
    data = pd.DataFrame(rows, columns=["model", "task", "run", "score"])
    ds = write(make_data, data, ["easy", "medium", "hard"], weights)
    table = score_intervals(ds, resamples=4000)
    assert table.attrs["ci_method"] == "runs"
    w = np.array(weights)
    for name, row in table.set_index("model").iterrows():
        cell = runs[int(name[1:])]
        # The bootstrap's plug-in variance of a mean of n draws: s² (n − 1) / n / n.
        se = math.sqrt(np.sum(w**2 * cell.var(axis=1, ddof=0) / n_runs))
        assert half_width(row) == pytest.approx(1.96 * se, rel=0.10)


def test_welch_satterthwaite_interval_by_hand(make_data: MakeData,
                                              rng: np.random.Generator) -> None:
    weights, n_runs = [0.1, 0.2, 0.3, 0.4], [2, 3, 4, 5]
    rows = [("m0", f"t{t:03d}", r + 1, float(rng.uniform()))
            for t, n in enumerate(n_runs) for r in range(n)]
    rows += [("m1", f"t{t:03d}", 1, 0.5) for t in range(4)]  # one run per cell
    ds = write(make_data, pd.DataFrame(rows, columns=["model", "task", "run", "score"]),
               ["easy", "easy", "hard", "hard"], weights)
    table = score_intervals(ds).set_index("model")
    w, n = np.array(weights), np.array(n_runs)
    runs = [np.array([r[3] for r in rows if r[0] == "m0" and r[1] == f"t{t:03d}"])
            for t in range(4)]
    s2 = np.array([x.var(ddof=1) for x in runs])
    v = w**2 * s2 / n
    df = v.sum() ** 2 / np.sum(v**2 / (n - 1))
    se = math.sqrt(v.sum())
    mean = sum(wt * x.mean() for wt, x in zip(w, runs, strict=True))
    row = table.loc["m0"]
    assert row["run_se"] == pytest.approx(se, rel=1e-12)
    assert row["run_se_df"] == pytest.approx(df, rel=1e-12)
    q = stats.t.ppf(0.975, df)
    assert row["run_se_ci_low"] == pytest.approx(mean - q * se, rel=1e-12)
    assert row["run_se_ci_high"] == pytest.approx(mean + q * se, rel=1e-12)
    assert math.isnan(table.loc["m1", "run_se"])
    assert "one run per cell" in table.loc["m1", "reason"]


def test_bundled_data_has_no_interval_and_says_why() -> None:
    section = leaderboard_uncertainty(load_dataset()).to_dict()
    no_nan(section)
    assert section["ci_method"] is None
    assert "no interval can be estimated" in section["reason"]
    for model in section["models"]:
        assert model["ci95"] is None and model["rank_ci95"] is None
        assert model["run_se"] is None and model["run_se_ci95"] is None
        assert "no source of variation" in model["reason"]
    for pair in section["pairs"]:
        assert pair["ci95"] is None and "no interval" in pair["reason"]
        assert pair["n_tasks"] == 3 and pair["p_value"] == 0.25  # (2 of 2^3 flips)
        assert pair["verdict"] == "indistinguishable" and "out of reach" in pair["reason"]
        # One task per level: no spread of tasks within a level to extrapolate power from.
        assert pair["tasks_for_80_power"] is None
        assert "no power estimate: no level has two or more shared tasks" in pair["reason"]
    (_, pairs) = uncertainty_tables({"leaderboard_uncertainty": section})
    assert all(row[-1] == "n/a" for row in pairs.rows)
    assert "Tasks for 80% power n/a for all 3 pairs: no level has two or more shared " \
        "tasks" in pairs.note


def test_best_of_n_has_no_bootstrap(make_data: MakeData, rng: np.random.Generator) -> None:
    rows = [(f"m{m}", f"t{t:03d}", r + 1, float(rng.uniform()))
            for m in range(2) for t in range(6) for r in range(3)]
    data = pd.DataFrame(rows, columns=["model", "task", "run", "score"])
    section = leaderboard_uncertainty(write(make_data, data, ["easy"] * 6,
                                            aggregate="best")).to_dict()
    no_nan(section)
    assert section["ci_method"] is None and "best-of-N" in section["reason"]
    assert all(m["ci95"] is None and m["run_se"] is None for m in section["models"])


# ----------------------------------------------------------------------------------------------
# Paired comparisons
# ----------------------------------------------------------------------------------------------
def brute_force_p(d: np.ndarray) -> float:
    """Two-sided sign-flip p by enumerating all 2^n sign vectors."""
    observed = abs(d.sum())
    flips = [abs(np.dot(signs, d)) for signs in itertools.product((-1, 1), repeat=len(d))]
    return float(np.mean(np.array(flips) >= observed * (1 - 1e-12)))


@pytest.mark.parametrize("n_tasks", [5, 8, 10])
def test_permutation_p_is_the_brute_force_enumeration(make_data: MakeData, n_tasks: int,
                                                      rng: np.random.Generator) -> None:
    levels = ["easy", "medium", "hard"] * 4
    levels = levels[:n_tasks]
    raw = rng.uniform(1, 3, n_tasks)
    weights = raw / raw.sum()
    values = np.vstack([rng.uniform(0.3, 0.9, n_tasks), rng.uniform(0.2, 0.8, n_tasks)])
    pairs = pairwise_comparisons(write(make_data, grid(values), levels, weights))
    assert len(pairs) == 1
    d = weights * (values[0] - values[1])
    if d.sum() < 0:
        d = -d
    assert pairs.loc[0, "difference"] == pytest.approx(d.sum(), abs=1e-12)
    assert pairs.loc[0, "p_value"] == pytest.approx(brute_force_p(d), abs=1e-12)


def test_monte_carlo_p_agrees_with_scipy(make_data: MakeData,
                                         rng: np.random.Generator) -> None:
    values = np.vstack([rng.uniform(0.3, 0.9, 40), rng.uniform(0.25, 0.85, 40)])
    pairs = pairwise_comparisons(write(make_data, grid(values), ["easy", "hard"] * 20))
    d = (values[0] - values[1]) / 40
    ref = stats.permutation_test((d,), np.sum, permutation_type="samples", n_resamples=9999,
                                 rng=np.random.default_rng(SEED)).pvalue
    assert pairs.loc[0, "p_value"] == pytest.approx(ref, abs=0.03)


def test_holm_by_hand() -> None:
    # Sorted 0.01, 0.03, 0.04, 0.2: 4 × 0.01, 3 × 0.03, max(0.09, 2 × 0.04), 1 × 0.2.
    assert holm([0.04, 0.01, None, 0.2, 0.03]) == pytest.approx([0.09, 0.04, None, 0.2, 0.09])
    assert holm([0.6, 0.5]) == [1.0, 1.0]


def test_pairs_use_holm_over_the_reported_pairs(make_data: MakeData,
                                                rng: np.random.Generator) -> None:
    values = rng.uniform(0, 0.7, (5, 30)) + np.linspace(0.3, 0, 5)[:, None]
    ds = write(make_data, grid(values), ["easy", "medium", "hard"] * 10)
    for how, count in (("adjacent", 4), ("all", 10)):
        pairs = pairwise_comparisons(ds, pairs=how)
        assert len(pairs) == count and list(pairs.columns) == list(PAIR_COLUMNS)
        p = pairs["p_value"].to_numpy()
        order = np.argsort(p, kind="stable")
        expected = np.maximum.accumulate(np.minimum(1, (count - np.arange(count)) * p[order]))
        assert pairs["p_holm"].to_numpy()[order] == pytest.approx(expected)
        assert (pairs["verdict"] == np.where(pairs["p_holm"] < 0.05, "ahead",
                                             "indistinguishable")).all()
        assert (pairs["difference"] >= 0).all()


def test_out_of_reach_uses_holm_floor_of_each_pair() -> None:
    """Holm's adjusted p of a pair is at least the pairs' count times the smallest p of all
    and at least its own p: a pair on 6 tasks beside pairs on 20 can be ahead at p = 2/2^6,
    and no output may say that no pair could be (invented data: 4 models, 20 tasks, model D
    has 6 of them)."""
    tasks = [f"e{k:02d}" for k in range(10)] + [f"h{k:02d}" for k in range(10)]
    kept = {"e00", "e01", "e02", "h00", "h01", "h02"}
    results = pd.DataFrame([
        {"model": m, "task": t, "score": round(0.9 - 0.1 * i - 0.001 * j, 4)}
        for i, m in enumerate("ABCD") for j, t in enumerate(tasks) if m != "D" or t in kept])
    models = pd.DataFrame({"model": list("ABCD"), "params_b": [5.0, 10.0, 15.0, 20.0]})
    tasks_frame = pd.DataFrame({"task": tasks, "difficulty": ["easy"] * 10 + ["hard"] * 10,
                                "pass_threshold": 0.5})
    document = analyze(Dataset.from_frames(results, models, tasks_frame)).document
    pairs = document["leaderboard_uncertainty"]["pairs"]
    last = next(p for p in pairs if p["n_tasks"] == 6)
    assert last["p_holm"] == pytest.approx(2 / 2**6) and last["verdict"] == "ahead"
    assert "out of reach" not in " ".join(p["reason"] or "" for p in pairs)
    assert "can be 'ahead' whatever the scores" not in to_markdown(document)
    assert smallest_holm_p(6, [20, 20, 6]) == pytest.approx(2 / 2**6)
    assert smallest_holm_p(6, [6, 6, 6]) == pytest.approx(3 * 2 / 2**6)


def test_the_same_difference_on_every_task_needs_the_fewest_tasks() -> None:
    """A pair whose per-task differences are all equal has an SD of rounding noise (0 or
    1e-17 by the scores' binary digits): both pairs below get the fewest tasks the test
    allows, not one of them None (invented data: each model 0.03 above the next)."""
    tasks = ["e1", "e2", "h1", "h2"]
    base = [0.31, 0.57, 0.29, 0.73]
    results = pd.DataFrame([{"model": m, "task": t, "score": round(b + 0.03 * i, 2)}
                            for i, m in enumerate(["m1", "m2", "m3"])
                            for t, b in zip(tasks, base, strict=True)])
    models = pd.DataFrame({"model": ["m1", "m2", "m3"], "params_b": [1.0, 2.0, 3.0]})
    frame = pd.DataFrame({"task": tasks, "difficulty": ["easy", "easy", "hard", "hard"],
                          "pass_threshold": 0.5})
    pairs = pairwise_comparisons(Dataset.from_frames(results, models, frame))
    assert pairs["tasks_for_80_power"].tolist() == [MIN_TASKS_FOR_SIGNIFICANCE] * 2


def test_adjacent_pairs_follow_the_ranking(make_data: MakeData,
                                           rng: np.random.Generator) -> None:
    values = rng.uniform(0, 1, (4, 12))
    values[3] = values[2]  # a tie: listed by name
    ds = write(make_data, grid(values, ["d", "c", "b", "a"]), ["easy", "hard"] * 6)
    scores = dict(zip(["d", "c", "b", "a"], values.mean(axis=1), strict=True))
    ranked = sorted(scores, key=lambda m: (-round(scores[m], 12), m))
    pairs = pairwise_comparisons(ds)
    assert pairs.attrs["order"] == "score"
    shown = [{a, b} for a, b in zip(pairs["model_a"], pairs["model_b"], strict=True)]
    assert shown == [set(p) for p in itertools.pairwise(ranked)]


def test_model_missing_tasks_is_compared_on_shared_tasks(make_data: MakeData,
                                                         rng: np.random.Generator) -> None:
    levels = ["easy"] * 10 + ["hard"] * 20
    weights = np.r_[np.full(10, 0.4 / 10), np.full(20, 0.6 / 20)]
    values = rng.uniform(0, 1, (3, 30))
    values[1, [0, 1, 12]] = np.nan  # m01 misses two easy tasks and one hard one
    ds = write(make_data, grid(values), levels, weights)
    section = leaderboard_uncertainty(ds, pairs="all").to_dict()
    no_nan(section)
    assert section["pair_order"] == "score_on_common_tasks"
    gap = next(m for m in section["models"] if m["model"] == "m01")
    assert gap["score"] is None and gap["ci95"] is None and gap["rank"] is None
    assert gap["n_tasks"] == 27 and "missing 3 task(s)" in gap["reason"]
    shared = ~np.isnan(values[1])
    for other in ("m00", "m02"):
        pair = next(p for p in section["pairs"] if {p["model_a"], p["model_b"]}
                    == {"m01", other})
        assert pair["n_tasks"] == 27 and pair["ci95"] is not None
        # Within-level weights renormalised over the shared tasks: 0.4 over 8, 0.6 over 19.
        w = np.where(np.arange(30) < 10, 0.4 / 8, 0.6 / 19)
        diff = np.sum((w * (values[int(other[1:])] - values[1]))[shared])
        assert pair["difference"] == pytest.approx(abs(diff), abs=1e-12)
        assert pair["ci95"][0] <= pair["difference"] <= pair["ci95"][1]


def test_no_common_task_orders_pairs_by_name(make_data: MakeData) -> None:
    values = np.array([[0.2, 0.4, np.nan], [np.nan, 0.5, 0.6], [0.9, np.nan, 0.1]])
    pairs = pairwise_comparisons(write(make_data, grid(values, ["z", "y", "x"]),
                                       ["easy", "easy", "hard"]))
    assert pairs.attrs["order"] == "name"
    assert [sorted(p) for p in zip(pairs["model_a"], pairs["model_b"], strict=True)] \
        == [["x", "y"], ["y", "z"]]


def test_tasks_for_80_power_by_hand(make_data: MakeData, rng: np.random.Generator) -> None:
    values = np.vstack([rng.uniform(0.4, 1, 30), rng.uniform(0.3, 0.9, 30)])
    pairs = pairwise_comparisons(write(make_data, grid(values), ["easy", "hard"] * 15))
    d = (values[0] - values[1]) / 30
    d = d if d.sum() >= 0 else -d
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.80)
    expected = max(6, math.ceil((z * d.std(ddof=1) / d.mean()) ** 2))
    assert pairs.loc[0, "tasks_for_80_power"] == expected


@pytest.mark.parametrize(("levels", "runs", "computed"), [
    (["easy", "medium", "hard"], 5, False),  # runs resampled for the interval; no task spread
    (["easy", "easy", "hard"], 1, True),  # the easy level's two tasks: a spread of tasks
])
def test_power_needs_a_level_with_two_shared_tasks(make_data: MakeData,
                                                   rng: np.random.Generator,
                                                   levels: list[str], runs: int,
                                                   computed: bool) -> None:
    rows = [(m, f"t{t:03d}", r + 1, float(rng.uniform(0.5, 1) if m == "m0" else
                                          rng.uniform(0, 0.6)))
            for m in ("m0", "m1") for t in range(3) for r in range(runs)]
    section = leaderboard_uncertainty(write(make_data, pd.DataFrame(
        rows, columns=["model", "task", "run", "score"]), levels)).to_dict()
    (pair,) = section["pairs"]
    assert section["ci_method"] == ("tasks" if computed else "runs")
    assert pair["ci95"] is not None
    assert (pair["tasks_for_80_power"] is not None) == computed
    assert ("no level has two or more shared tasks" in pair["reason"]) != computed


# ----------------------------------------------------------------------------------------------
# The section as a whole
# ----------------------------------------------------------------------------------------------
def test_same_seed_same_results_and_json_shape(make_data: MakeData,
                                               rng: np.random.Generator) -> None:
    values = rng.uniform(0, 1, (6, 24))
    ds = write(make_data, grid(values), ["easy", "medium", "hard"] * 8)
    first = leaderboard_uncertainty(ds, seed=7)
    section = first.to_dict()
    assert section == leaderboard_uncertainty(ds, seed=7).to_dict()
    assert section != leaderboard_uncertainty(ds, seed=8).to_dict()
    no_nan(section)
    assert list(section) == SECTION_KEYS
    assert section["method"] == "stratified percentile bootstrap"
    assert (section["ci_method"], section["resamples"], section["seed"]) == ("tasks", 2000, 7)
    assert list(first.models.columns) == list(MODEL_COLUMNS)
    for model in section["models"]:
        assert list(model) == MODEL_KEYS
        assert len(model["ci95"]) == 2 and all(isinstance(r, int) for r in model["rank_ci95"])
    for pair in section["pairs"]:
        assert list(pair) == PAIR_KEYS and len(pair["ci95"]) == 2


def normalised(text: str) -> str:
    """Text with every run of white space (console line breaks included) as one space."""
    return " ".join(text.split())


@pytest.mark.parametrize(("how", "count", "said"), [
    ("adjacent", 4, "Pairs adjacent in the ranking;"),
    ("all", 10, "All 10 pairs of models, listed in ranking order;")])
def test_the_outputs_say_which_pairs_were_compared(make_data: MakeData,
                                                   rng: np.random.Generator, how: str,
                                                   count: int, said: str) -> None:
    """findings.json records pair_selection; findings.md and the console say which pairs were
    compared and across how many Holm adjusted (with --pairs all they said 'adjacent')."""
    values = rng.uniform(0, 0.7, (5, 30)) + np.linspace(0.3, 0, 5)[:, None]
    document = analyze(write(make_data, grid(values), ["easy", "medium", "hard"] * 10),
                       pairs=how).document
    section = document["leaderboard_uncertainty"]
    assert section["pair_selection"] == how and len(section["pairs"]) == count
    assert f"Holm-adjusted over {count} pair(s)" in section["pairs"][0]["reason"]
    holm_family = f"Holm-adjusted across the {count} pairs compared;"
    console = Console(file=io.StringIO(), width=120, color_system=None)
    print_console(document, console)
    for text in (to_markdown(document), console.file.getvalue()):
        text = normalised(text)
        assert said in text and holm_family in text
        assert ("Pairs adjacent" in text) == (how == "adjacent")


def test_too_many_pairs_for_the_monte_carlo_p_is_said(make_data: MakeData,
                                                      rng: np.random.Generator) -> None:
    """All 253 pairs of 23 models on 20 tasks: the estimated sign-flip p is never below
    2 / 10,000, so Holm's smallest adjusted p is 253 × 0.0002 ≥ 0.05 and no pair can be
    'ahead', even a model far ahead on every task; the pairs' note says so."""
    values = rng.uniform(0, 0.5, (23, 20))
    values[0] += 0.5  # (ahead of every other model on every task)
    section = leaderboard_uncertainty(write(make_data, grid(values), ["easy", "hard"] * 10),
                                      pairs="all").to_dict()
    assert len(section["pairs"]) == 253
    assert {p["verdict"] for p in section["pairs"]} == {"indistinguishable"}
    assert min(p["p_value"] for p in section["pairs"]) == pytest.approx(2 / 10_000)
    (_, pairs) = uncertainty_tables({"leaderboard_uncertainty": section})
    assert ("the smallest Holm-adjusted p the sign-flip test can give is 0.0506 (its p is "
            "estimated from 9,999 random sign flips), so no pair can be 'ahead' whatever the "
            "scores.") in pairs.note
