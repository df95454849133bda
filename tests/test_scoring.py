"""Leaderboard: weighted scores worked out by hand, ranks, ties and missing tasks."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pandas as pd
import pytest
from conftest import MakeData
from rich.console import Console

from teamforge_analysis import Dataset, analyze, load_dataset
from teamforge_analysis.console import print_console
from teamforge_analysis.report import to_json, to_markdown
from teamforge_analysis.scoring import leaderboard, level_gaps, level_scores, score_matrix

EASY, HARD, MEDIUM = "easy_bugfix_chunk_list", "hard_lru_cache_performance", "medium_refactor_stats"

# Weights of tasks.csv: easy 0.20, medium 0.35, hard 0.45.
BUNDLED_SCORES = {
    "llama3-70b-8192": 0.2 * 0.97 + 0.35 * 0.762 + 0.45 * 0.621,  # 0.74015
    "llama3-8b-8192": 0.2 * 0.89 + 0.35 * 0.541 + 0.45 * 0.412,  # 0.55275
    "mixtral-8x7b-32768": 0.2 * 0.78 + 0.35 * 0.41 + 0.45 * 0.332,  # 0.44890
    "gemma2-9b-it": 0.2 * 0.62 + 0.35 * 0.29 + 0.45 * 0.211,  # 0.32045
}


def test_bundled_scores_by_hand(bundled: Dataset) -> None:
    board = leaderboard(bundled)
    assert list(board["model"]) == list(BUNDLED_SCORES)
    for model, expected in BUNDLED_SCORES.items():
        row = board.set_index("model").loc[model]
        assert row["teamforge_score"] == pytest.approx(expected, abs=1e-12)
    assert board.loc[0, "teamforge_score"] == pytest.approx(0.74015, abs=1e-12)
    assert [round(v, 5) for v in board["teamforge_score"]] == [0.74015, 0.55275, 0.4489, 0.32045]


def test_bundled_ranks_and_columns(bundled: Dataset) -> None:
    board = leaderboard(bundled)
    assert list(board.columns) == ["rank", "model", "teamforge_score", "teamforge_score_mean",
                                   "teamforge_score_best", "teamforge_score_se", "runs",
                                   *(f"task:{t}" for t in (EASY, MEDIUM, HARD)),  # by level
                                   "level:easy", "level:medium", "level:hard",
                                   "tasks_passed", "missing_tasks"]
    assert str(board["rank"].dtype) == "Int64"
    assert list(board["rank"]) == [1, 2, 3, 4]
    assert list(board["tasks_passed"]) == [2, 1, 1, 0]
    assert list(board["missing_tasks"]) == [[], [], [], []]
    top = board.iloc[0]
    assert (top[f"task:{EASY}"], top[f"task:{MEDIUM}"], top[f"task:{HARD}"]) == (0.97, 0.762,
                                                                              0.621)
    # one task per level: the level scores are the task scores
    assert (top["level:easy"], top["level:medium"], top["level:hard"]) == (0.97, 0.762, 0.621)


def test_tables_list_tasks_by_level_then_name(make_data: MakeData) -> None:
    """Tasks by level (easiest first), then by name, in the leaderboard's columns, the JSON
    document's scores and the markdown table, whatever tasks.csv's or the names' order."""
    tasks = ("task,difficulty\nb_hard,hard\na_hard,hard\nz_easy,easy\nm_medium,medium\n")
    results = "model,task,score\n" + "".join(
        f"{m},{t},{s}\n" for m, s in (("x", 0.5), ("y", 0.25))
        for t in ("b_hard", "a_hard", "z_easy", "m_medium"))
    result = analyze(make_data(results=results, tasks=tasks,
                               models="model,params_b\nx,1\ny,2\n"))
    order = ["z_easy", "m_medium", "a_hard", "b_hard"]
    assert [c for c in result.leaderboard.columns if c.startswith("task:")] == [
        f"task:{t}" for t in order]
    assert list(result.document["leaderboard"][0]["scores"]) == order
    assert f"| Rank | Model | weighted score | {' | '.join(order)} | Tasks passed |" in \
        to_markdown(result.document)


def test_score_matrix_layout(bundled: Dataset) -> None:
    wide = score_matrix(bundled, "steps")
    assert list(wide.columns) == [EASY, HARD, MEDIUM]
    assert list(wide.index) == sorted(BUNDLED_SCORES)
    assert wide.loc["gemma2-9b-it"].tolist() == [18, 40, 30]


TIE_TASKS = ("task,difficulty,weight,pass_threshold\n"
             "t_easy,easy,0.1,0.5\nt_medium,medium,0.2,0.5\nt_hard,hard,0.7,0.5\n")


def _results(scores: dict[str, tuple[float, ...]], tasks: tuple[str, ...]) -> str:
    rows = ["model,task,score,steps,test_pass,passed"]
    for model, values in scores.items():
        rows += [f"{model},{t},{s},10,{s},{'true' if s >= 0.5 else 'false'}"
                 for t, s in zip(tasks, values, strict=True) if s is not None]
    return "\n".join(rows) + "\n"


def _models(names: list[str]) -> str:
    return "model,params_b\n" + "".join(f"{m},{i + 1}\n" for i, m in enumerate(names))


def test_ties_share_the_lower_rank_and_are_listed_by_name(make_data: MakeData) -> None:
    # zeta: 0.1*0.1 + 0.2*0.1 + 0.7*0.2 = 0.17 and alpha: 0.1*0.2 + 0.2*0.4 + 0.7*0.1 = 0.17
    # are equal, although their floating-point sums differ in the last bit.
    scores = {
        "zeta": (0.1, 0.1, 0.2),
        "top": (0.9, 0.9, 0.9),
        "alpha": (0.2, 0.4, 0.1),
        "low": (0.1, 0.1, 0.1),
    }
    assert 0.1 * 0.1 + 0.2 * 0.1 + 0.7 * 0.2 != 0.1 * 0.2 + 0.2 * 0.4 + 0.7 * 0.1
    folder = make_data(_results(scores, ("t_easy", "t_medium", "t_hard")),
                       _models(list(scores)), TIE_TASKS)
    board = leaderboard(load_dataset(folder))
    assert list(board["model"]) == ["top", "alpha", "zeta", "low"]
    assert list(board["rank"]) == [1, 2, 2, 4]
    assert list(board["teamforge_score"]) == pytest.approx([0.9, 0.17, 0.17, 0.1], abs=1e-12)


def test_exact_three_way_tie(make_data: MakeData) -> None:
    scores = {"c": (0.5, 0.5, 0.5), "b": (0.5, 0.5, 0.5), "a": (0.5, 0.5, 0.5), "d": (1, 1, 1)}
    folder = make_data(_results(scores, ("t_easy", "t_medium", "t_hard")),
                       _models(list(scores)), TIE_TASKS)
    board = leaderboard(load_dataset(folder))
    assert list(board["model"]) == ["d", "a", "b", "c"]
    assert list(board["rank"]) == [1, 2, 2, 2]


def test_model_missing_a_task_has_null_score_and_comes_last(
    make_data: MakeData, bundled_dir: Path
) -> None:
    lines = (bundled_dir / "results.csv").read_text().splitlines()
    # Drop llama3-70b-8192 (the leader) on the medium task and gemma2-9b-it on the hard task.
    kept = [line for line in lines if not line.startswith(f"llama3-70b-8192,{MEDIUM}")
            and not line.startswith(f"gemma2-9b-it,{HARD}")]
    board = leaderboard(load_dataset(make_data("\n".join(kept) + "\n")))
    assert list(board["model"]) == ["llama3-8b-8192", "mixtral-8x7b-32768", "gemma2-9b-it",
                                    "llama3-70b-8192"]
    assert board["rank"].tolist()[:2] == [1, 2]
    assert board["rank"].isna().tolist() == [False, False, True, True]
    assert board.loc[2:, "teamforge_score"].isna().all()
    assert board.loc[0, "teamforge_score"] == pytest.approx(BUNDLED_SCORES["llama3-8b-8192"])
    missing = dict(zip(board["model"], board["missing_tasks"], strict=True))
    assert missing == {"llama3-8b-8192": [], "mixtral-8x7b-32768": [],
                       "gemma2-9b-it": [HARD], "llama3-70b-8192": [MEDIUM]}
    row = board.set_index("model").loc["llama3-70b-8192"]
    assert math.isnan(row[f"task:{MEDIUM}"])
    assert row[f"task:{EASY}"] == 0.97
    assert row["tasks_passed"] == 1  # passed the easy task; the medium row is gone


def test_leaderboard_json_has_null_not_nan(make_data: MakeData, bundled_dir: Path) -> None:
    lines = (bundled_dir / "results.csv").read_text().splitlines()
    kept = [line for line in lines if not line.startswith(f"gemma2-9b-it,{HARD}")]
    board = leaderboard(load_dataset(make_data("\n".join(kept) + "\n")))
    records = json.loads(board.to_json(orient="records"))
    assert [r["teamforge_score"] is None for r in records] == [False, False, False, True]
    assert [r["rank"] for r in records] == [1, 2, 3, None]


def test_level_scores_skip_blank_cells_and_level_gaps_say_why() -> None:
    # INVENTED: easy e1 (weight 0), e2 (0.2); hard h1, h2 (0.4 each). a: steps only on e1
    # (weight 0) and h1; b: no result on h2; c: steps on neither hard task.
    nan = float("nan")
    results = pd.DataFrame({
        "model": ["a"] * 4 + ["b"] * 3 + ["c"] * 4,
        "task": ["e1", "e2", "h1", "h2", "e1", "e2", "h1", "e1", "e2", "h1", "h2"],
        "score": 0.5,
        "steps": [5, nan, 10, nan, 4, 6, 7, nan, 8, nan, nan]})
    models = pd.DataFrame({"model": ["a", "b", "c"], "params_b": [1.0, 2.0, 3.0]})
    tasks = pd.DataFrame({"task": ["e1", "e2", "h1", "h2"], "weight": [0.0, 0.2, 0.4, 0.4],
                          "difficulty": ["easy", "easy", "hard", "hard"]})
    ds = Dataset.from_frames(results, models, tasks)
    skipping = level_scores(ds, "steps", skip_blank=True)
    assert skipping.loc["a", "hard"] == 10  # h1 alone, its weight scaled up to 1
    assert skipping.loc["b", "easy"] == 6 and skipping.loc["c", "easy"] == 8
    assert skipping[["easy", "hard"]].isna().sum().tolist() == [1, 2]
    gaps = level_gaps(ds, "steps", skip_blank=True)
    assert gaps.to_dict("records") == [
        {"model": "a", "level": "easy", "reason": "zero weight", "tasks": ["e2"]},
        {"model": "b", "level": "hard", "reason": "no result", "tasks": ["h2"]},
        {"model": "c", "level": "hard", "reason": "blank", "tasks": ["h1", "h2"]}]
    # Without skipping, one blank cell leaves the model without a value on its level.
    strict = level_gaps(ds, "steps")
    assert [(g["model"], g["level"], g["reason"], g["tasks"])
            for g in strict.to_dict("records")] == [
        ("a", "easy", "blank", ["e2"]), ("c", "easy", "blank", ["e1"]),
        ("a", "hard", "blank", ["h2"]), ("b", "hard", "no result", ["h2"]),
        ("c", "hard", "blank", ["h1", "h2"])]
    assert level_scores(ds, "steps").isna().sum().sum() == len(strict)


def test_level_with_all_zero_weights_uses_equal_weights_and_warns() -> None:
    # INVENTED: both easy tasks weigh 0 (the hard task carries all the weight), so the easy
    # level score is the plain mean of the two easy scores, and every output says so.
    names = ["a", "b", "c"]
    results = pd.DataFrame({"model": names * 3, "task": ["e1"] * 3 + ["e2"] * 3 + ["h"] * 3,
                            "score": [0.5, 0.6, 0.7, 0.4, 0.2, 0.9, 0.1, 0.3, 0.2]})
    models = pd.DataFrame({"model": names, "params_b": [1.0, 2.0, 3.0]})
    tasks = pd.DataFrame({"task": ["e1", "e2", "h"], "difficulty": ["easy", "easy", "hard"],
                          "weight": [0.0, 0.0, 1.0]})
    result = analyze(Dataset.from_frames(results, models, tasks))
    easy = level_scores(result.dataset)["easy"]
    assert easy.tolist() == pytest.approx([0.45, 0.4, 0.8])
    warning = ("Warning: every task of the easy level has weight 0, so its level score weighs "
               "its 2 tasks equally (the weighted score over all tasks gives them no weight).")
    assert warning in result.document["caveats"]
    assert warning in json.loads(to_json(result.document))["caveats"]
    assert warning in to_markdown(result.document)
    buffer = io.StringIO()
    print_console(result.document, Console(file=buffer, width=400, color_system=None))
    assert warning in buffer.getvalue()
    # Weights that are not all zero on any level: no such warning.
    assert not any("weight 0" in c for c in analyze(load_dataset()).document["caveats"])
