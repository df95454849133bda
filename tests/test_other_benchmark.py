"""The invented second data set (tests/data/other_benchmark): every expected value is worked
out here from the CSV files with the csv module and numpy, not with the package."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from reference import (
    exact_permutation_p,
    fisher_ci_by_hand,
    pearson_by_hand,
    rm_corr_by_hand,
    zou_by_hand,
)

from teamforge_analysis import Dataset
from teamforge_analysis.findings import (
    all_findings,
    hard_task_boundary,
    scale_vs_difficulty,
    step_efficiency,
)
from teamforge_analysis.findings import test_pass_vs_score as pass_vs_score
from teamforge_analysis.scoring import leaderboard


def read(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def raw(other_data_dir: Path) -> dict[str, Any]:
    """The three files, parsed by hand."""
    results = read(other_data_dir, "results.csv")
    models = read(other_data_dir, "models.csv")
    tasks = read(other_data_dir, "tasks.csv")
    return {
        "results": results,
        "size": {m["model"]: float(m["params_b"]) if m["params_b"] else None for m in models},
        "difficulty": {t["task"]: t["difficulty"] for t in tasks},
        "weight": {t["task"]: float(t["weight"]) for t in tasks},
        "threshold": {t["task"]: float(t["pass_threshold"]) for t in tasks},
        "cell": {(r["model"], r["task"]): r for r in results},
    }


def level_means(raw: dict[str, Any], column: str) -> dict[str, dict[str, float]]:
    """{model: {level: weight-weighted mean of column over the level's tasks}}."""
    sums: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    for row in raw["results"]:
        sums[row["model"]][raw["difficulty"][row["task"]]].append(
            (raw["weight"][row["task"]], float(row[column])))
    return {m: {lvl: sum(w * x for w, x in v) / sum(w for w, _ in v)
                for lvl, v in levels.items()} for m, levels in sums.items()}


def test_data_set_shape(raw: dict[str, Any], other: Dataset) -> None:
    assert len(raw["results"]) == 49
    assert len(raw["size"]) == 7
    counts = defaultdict(int)
    for level in raw["difficulty"].values():
        counts[level] += 1
    assert dict(counts) == {"easy": 2, "medium": 2, "hard": 3}
    assert math.fsum(raw["weight"].values()) == pytest.approx(1, abs=1e-12)
    assert len(set(raw["weight"].values())) > 1
    assert [m for m, s in raw["size"].items() if s is None] == ["grove-x"]
    # No name is shared with the bundled data.
    assert not set(raw["size"]) & {"gemma2-9b-it", "llama3-70b-8192", "llama3-8b-8192",
                                   "mixtral-8x7b-32768"}
    # The loader sorts what the file lists in shuffled order.
    keys = [(r["model"], r["task"]) for r in raw["results"]]
    assert keys != sorted(keys)
    assert list(zip(other.results["model"], other.results["task"], strict=True)) == sorted(keys)
    assert other.warnings == ()


def test_readme_says_invented(other_data_dir: Path) -> None:
    text = (other_data_dir / "README.md").read_text(encoding="utf-8")
    assert "INVENTED" in text
    assert "not real benchmark" in text


def test_leaderboard(raw: dict[str, Any], other: Dataset) -> None:
    expected: dict[str, float] = defaultdict(float)
    passed: dict[str, int] = defaultdict(int)
    for row in raw["results"]:
        expected[row["model"]] += raw["weight"][row["task"]] * float(row["score"])
        passed[row["model"]] += row["passed"] == "true"
    order = sorted(expected, key=lambda m: (-round(expected[m], 12), m))
    board = leaderboard(other)
    assert list(board["model"]) == order
    assert order[:3] == ["fjord-141b-moe", "ember-72b", "grove-x"]
    assert list(board["rank"]) == [1, 2, 3, 4, 5, 6, 7]
    assert list(board["teamforge_score"]) == pytest.approx([expected[m] for m in order], abs=1e-12)
    # fjord-141b-moe: 0.05*0.93 + 0.10*0.91 + 0.18*0.85 + 0.12*0.82 + 0.15*0.84 + 0.18*0.88
    #                 + 0.22*0.80 = 0.8493
    assert board.loc[0, "teamforge_score"] == pytest.approx(0.8493, abs=1e-12)
    assert list(board["tasks_passed"]) == [passed[m] for m in order]
    assert list(board["tasks_passed"]) == [7, 7, 4, 3, 2, 2, 1]
    assert all(missing == [] for missing in board["missing_tasks"])
    by_level = sorted(raw["difficulty"], key=lambda t: (
        ["easy", "medium", "hard"].index(raw["difficulty"][t]), t))  # then by name
    assert list(board.columns[7:14]) == ["task:" + t for t in by_level]


def test_scale_vs_difficulty(raw: dict[str, Any], other: Dataset) -> None:
    means = level_means(raw, "score")
    known = sorted(m for m, s in raw["size"].items() if s is not None)
    sizes = [raw["size"][m] for m in known]
    hard = [means[m]["hard"] for m in known]
    easy = [means[m]["easy"] for m in known]
    r_h, r_e, r_he = pearson_by_hand(sizes, hard), pearson_by_hand(sizes, easy), \
        pearson_by_hand(hard, easy)

    f = scale_vs_difficulty(other)
    s = f.statistics
    assert s["models_without_size"] == ["grove-x"]
    assert s["by_difficulty"]["hard"]["n"] == 6
    assert s["by_difficulty"]["hard"]["r"] == pytest.approx(r_h, abs=1e-12)
    assert s["by_difficulty"]["easy"]["r"] == pytest.approx(r_e, abs=1e-12)
    assert s["by_difficulty"]["hard"]["ci95"] == pytest.approx(fisher_ci_by_hand(r_h, 6), abs=1e-6)
    p_perm = exact_permutation_p(sizes, hard)
    assert s["by_difficulty"]["hard"]["p_permutation"] == pytest.approx(p_perm, abs=1e-12)
    interval = zou_by_hand(r_h, r_e, r_he, 6)
    assert s["hard_minus_easy"]["ci95"] == pytest.approx(interval, abs=1e-6)
    # The rule: the hard-level r is significantly positive but the interval includes 0.
    assert r_h > 0 and p_perm < 0.05
    assert interval[0] < 0 < interval[1]
    assert f.verdict == "inconclusive"
    assert "Left out for unknown size: grove-x." in f.text
    assert f"r = {r_h:.2f}" in f.text and "n = 6" in f.text


def test_step_efficiency(raw: dict[str, Any], other: Dataset) -> None:
    means = level_means(raw, "steps")
    d = {m: (v["medium"] - v["easy"]) - (v["hard"] - v["medium"]) for m, v in means.items()}
    assert all(value > 0 for value in d.values())
    f = step_efficiency(other)
    test = f.statistics["paired_test"]
    assert test["n"] == 7
    assert test["p_value"] == pytest.approx(2 / 2**7)  # all 7 differences positive
    assert test["median_difference"] == pytest.approx(float(np.median(list(d.values()))))
    assert test["holds_for"] == sorted(d)
    assert f.verdict == "supported"
    for model, v in means.items():
        expected = (v["hard"] - v["easy"]) / v["easy"] * 100
        assert f.statistics["by_model"][model]["degradation_pct"] == pytest.approx(expected)
    # by hand, from the file: weight-weighted level means of atlas-2b's steps
    easy = (0.05 * 10 + 0.10 * 12) / 0.15
    hard = (0.22 * 38 + 0.18 * 40 + 0.15 * 36) / 0.55
    assert f.statistics["by_model"]["atlas-2b"]["degradation_pct"] == pytest.approx(
        (hard - easy) / easy * 100)


def test_test_pass_vs_score(raw: dict[str, Any], other: Dataset) -> None:
    tp = [float(r["test_pass"]) for r in raw["results"]]
    score = [float(r["score"]) for r in raw["results"]]
    task = [r["task"] for r in raw["results"]]
    f = pass_vs_score(other)
    assert f.statistics["pooled"]["n"] == 49
    assert f.statistics["pooled"]["r"] == pytest.approx(pearson_by_hand(tp, score), abs=1e-12)
    r, dof, p = rm_corr_by_hand(tp, score, task)
    rm = f.statistics["repeated_measures"]
    assert rm["r"] == pytest.approx(r, abs=1e-12)
    assert rm["dof"] == dof == 49 - 7 - 1
    assert rm["p_value"] == pytest.approx(p, rel=1e-6, abs=1e-300)
    assert f.verdict == "supported"


def test_hard_task_boundary(raw: dict[str, Any], other: Dataset) -> None:
    hard_tasks = [t for t, lvl in raw["difficulty"].items() if lvl == "hard"]
    # by hand: the weighted mean of a model's hard scores against that of the thresholds
    total = sum(raw["weight"][t] for t in hard_tasks)
    bar = sum(raw["weight"][t] * raw["threshold"][t] for t in hard_tasks) / total
    passing = sorted(m for m in raw["size"] if sum(
        raw["weight"][t] * float(raw["cell"][(m, t)]["score"]) for t in hard_tasks) / total
        >= bar)
    assert passing == ["ember-72b", "fjord-141b-moe"]
    f = hard_task_boundary(other)
    s = f.statistics
    assert s["passed"] == {m: m in passing for m in sorted(raw["size"])}
    assert s["models_without_size"] == ["grove-x"]
    assert s["n_known_size"] == 6
    assert s["n_passed"] == 2
    # the two largest of six pass: exact two-sided Mann-Whitney p = 2 / C(6, 2)
    assert s["size_test"]["p_value"] == pytest.approx(2 / math.comb(6, 2))
    assert s["size_test"]["min_attainable_p"] == pytest.approx(2 / math.comb(6, 2))
    assert s["level_threshold"] == pytest.approx(bar)
    assert s["thresholds"] == {t: raw["threshold"][t] for t in sorted(hard_tasks)}
    assert s["inconsistent_flags"] == []
    # The passing models are the two largest, but 2/15 is not below 0.05.
    assert f.verdict == "inconclusive"
    assert "2 of 7 models" in f.text


def test_every_passed_cell_matches_its_threshold(raw: dict[str, Any]) -> None:
    for row in raw["results"]:
        expected = float(row["score"]) >= raw["threshold"][row["task"]]
        assert (row["passed"] == "true") == expected, row


def test_texts(other: Dataset) -> None:
    for f in all_findings(other):
        assert "nan" not in f.text.lower().split()
        assert f.verdict.replace("_", " ") in f.text
        if f.verdict != "not_computable":  # no components or step log: nothing to count
            assert "n = " in f.text or " of 7 models" in f.text
