"""Reuse on another benchmark's shape: the INVENTED per-problem data of tests/per_problem.py
(32 models, 310 problems, results.csv with model, task and score only). Expected values are
worked out here with pandas and numpy from the files, not with the package's functions."""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from per_problem import FOUR_LEVELS, remove_results, write_per_problem
from rich.console import Console

from teamforge_analysis import analyze
from teamforge_analysis.cli import main
from teamforge_analysis.console import print_console
from teamforge_analysis.report import to_markdown

NOT_COMPUTABLE = {
    "step_efficiency": "steps",
    "test_pass_vs_score": "test_pass",
    "score_components": "grader formula",
    "planning_depth_vs_success": "step log",
    "reward_trajectories": "step log",
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_per_problem(tmp_path_factory.mktemp("per_problem") / "per_problem")


@pytest.fixture(scope="module")
def four_levels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_per_problem(tmp_path_factory.mktemp("four") / "four_levels",
                             levels=FOUR_LEVELS, declare_ranks=True)


def by_hand_level_means(folder: Path) -> tuple[pd.DataFrame, pd.Series]:
    """Mean score per model and level (equal weights: no weight column), and sizes."""
    results = pd.read_csv(folder / "results.csv")
    tasks = pd.read_csv(folder / "tasks.csv")
    models = pd.read_csv(folder / "models.csv").set_index("model")["params_b"]
    merged = results.merge(tasks, on="task")
    return merged.pivot_table(index="model", columns="difficulty", values="score",
                              aggfunc="mean"), models


def test_shape_of_the_invented_data(folder: Path) -> None:
    results = pd.read_csv(folder / "results.csv")
    tasks = pd.read_csv(folder / "tasks.csv")
    models = pd.read_csv(folder / "models.csv")
    assert list(results.columns) == ["model", "task", "score"]
    assert results["model"].nunique() >= 30 and len(tasks) >= 300
    counts = tasks["difficulty"].value_counts()
    assert counts.nunique() == 3  # three levels of unequal sizes
    assert models["params_b"].isna().any() and models["params_b"].notna().sum() >= 20


def test_command_runs_and_says_what_is_missing(folder: Path, tmp_path: Path) -> None:
    status = main(["--data", str(folder), "--out", str(tmp_path / "out"),
                   "--figures", str(tmp_path / "fig"), "--format", "json"])
    assert status == 0
    result = analyze(folder)
    verdicts = {f.id: f for f in result.findings}
    for finding_id, needed in NOT_COMPUTABLE.items():
        assert verdicts[finding_id].verdict == "not_computable", finding_id
        assert needed in verdicts[finding_id].text, finding_id
    assert verdicts["scale_vs_difficulty"].verdict != "not_computable"
    assert verdicts["hard_task_boundary"].verdict != "not_computable"


def test_scale_uses_equal_weights_and_the_hardest_level(folder: Path) -> None:
    means, sizes = by_hand_level_means(folder)
    finding = analyze(folder).finding("scale_vs_difficulty")
    known = sizes.dropna().index
    expected = np.corrcoef(sizes[known], means.loc[known, "hard"])[0, 1]
    hard = finding.statistics["by_difficulty"]["hard"]
    assert hard["n"] == len(known)
    assert hard["r"] == pytest.approx(expected, abs=1e-12)
    assert finding.statistics["hardest"] == "hard" and finding.statistics["easiest"] == "easy"


def test_boundary_some_but_not_all_pass(folder: Path) -> None:
    means, sizes = by_hand_level_means(folder)
    finding = analyze(folder).finding("hard_task_boundary")
    expected = {m: bool(means.loc[m, "hard"] >= 0.5) for m in means.index}
    assert finding.statistics["passed"] == expected
    assert 0 < sum(expected.values()) < len(expected)
    assert finding.statistics["models_without_size"] == sorted(sizes.index[sizes.isna()])


def test_a_model_missing_a_task_is_named_where_it_is_left_out(tmp_path: Path) -> None:
    # model-03 (of known size) has no result on p0300, a hard problem.
    folder = remove_results(write_per_problem(tmp_path / "one_cell"), [("model-03", "p0300")])
    result = analyze(folder)
    scale, boundary = (result.finding(i) for i in ("scale_vs_difficulty", "hard_task_boundary"))
    missing = [{"model": "model-03", "level": "hard", "reason": "no result on hard task p0300",
                "tasks": ["p0300"]}]
    assert scale.statistics["left_out_of_levels"] == missing
    assert scale.statistics["by_difficulty"]["hard"]["n"] == 26  # 27 of known size, less one
    assert ("Without a score on a level, left out of that level's correlation and of Kendall's "
            "W: model-03 (no result on hard task p0300).") in scale.text
    assert boundary.statistics["left_out_of_levels"] == missing
    assert boundary.statistics["n_models"] == 31
    assert ("Without a score on the hard level, no pass status: model-03 (no result on hard "
            "task p0300).") in boundary.text


def test_a_model_of_unknown_size_missing_a_task_is_named_once(tmp_path: Path) -> None:
    # model-31 has no known size (the last five do not) and no result on p0300, a hard
    # problem: finding 1 names it for Kendall's W, which ranks models of unknown size too,
    # and finding 4 names it once, without a pass status, not again for its unknown size.
    folder = remove_results(write_per_problem(tmp_path / "unknown"), [("model-31", "p0300")])
    result = analyze(folder)
    scale, boundary = (result.finding(i) for i in ("scale_vs_difficulty", "hard_task_boundary"))
    assert ("Of unknown size and without a score on a level, left out of Kendall's W too: "
            "model-31 (no result on hard task p0300).") in scale.text
    assert boundary.text.count("model-31") == 1


def test_many_models_left_out_are_named_a_few_and_counted(tmp_path: Path) -> None:
    # Models 00-11 lack p0001 (easy) and model-00 also two hard problems: 12 models left out.
    cells = [(f"model-{i:02d}", "p0001") for i in range(12)]
    folder = remove_results(write_per_problem(tmp_path / "many"),
                            [*cells, ("model-00", "p0300"), ("model-00", "p0301")])
    scale = analyze(folder).finding("scale_vs_difficulty")
    assert ("left out of that level's correlation and of Kendall's W: model-00 (no result on "
            "easy task p0001; no result on 2 hard tasks), model-01 (no result on easy task "
            "p0001), ") in scale.text
    assert "model-07 (no result on easy task p0001) and 4 others." in scale.text
    assert len(scale.statistics["left_out_of_levels"]) == 13


def test_four_declared_levels(four_levels: Path, tmp_path: Path) -> None:
    assert main(["--data", str(four_levels), "--out", str(tmp_path / "out"), "--no-figures",
                 "--format", "json"]) == 0
    result = analyze(four_levels)
    assert result.dataset.levels == tuple(FOUR_LEVELS)
    scale = result.finding("scale_vs_difficulty").statistics
    assert (scale["easiest"], scale["hardest"]) == ("warmup", "expert")
    assert list(scale["by_difficulty"]) == list(FOUR_LEVELS)
    assert result.finding("hard_task_boundary").statistics["hardest_level"] == "expert"
    means, _ = by_hand_level_means(four_levels)
    assert result.finding("hard_task_boundary").statistics["passed"] == {
        m: bool(means.loc[m, "expert"] >= 0.5) for m in means.index}


def test_four_levels_in_rank_order_everywhere(four_levels: Path) -> None:
    """Levels declared by difficulty_rank (not alphabetical: warmup, core, stretch, expert)
    come in rank order in the leaderboard's columns and in finding 1's tables and text."""
    ranked = list(FOUR_LEVELS)
    document = analyze(four_levels).document
    markdown = to_markdown(document)
    header = next(line for line in markdown.splitlines() if line.startswith("| Rank"))
    assert [c.strip() for c in header.strip("|").split("|")][-5:] == [*ranked, "Tasks passed"]
    scale = next(f for f in document["findings"] if f["id"] == "scale_vs_difficulty")
    said = [scale["text"].index(f"at {level} level") for level in ranked]
    assert said == sorted(said)
    part = markdown[markdown.index("## Finding 1"):markdown.index("## Finding 2")]
    rows = [line.split(" | ")[0].strip("| ") for line in part.splitlines()
            if line.startswith(tuple(f"| {level} |" for level in ranked))]
    assert rows == ranked
    assert f"| Size measure | {' | '.join(ranked)} | Verdict |" in part


def test_outputs_list_every_model_and_one_column_per_level(folder: Path) -> None:
    result = analyze(folder)
    markdown = to_markdown(result.document)
    board = markdown[markdown.index("## Leaderboard"):markdown.index("## Leaderboard uncertainty")]
    header = next(line for line in board.splitlines() if line.startswith("| Rank"))
    assert [c.strip() for c in header.strip("|").split("|")][-4:] == [
        "easy", "medium", "hard", "Tasks passed"]
    rows = [line for line in board.splitlines() if line.startswith("| ") and "Rank" not in line]
    assert len(rows) == 32
    assert "more models" not in board


def test_console_has_no_empty_or_cut_rows_at_120_columns(folder: Path) -> None:
    buffer = io.StringIO()
    print_console(analyze(folder).document,
                  Console(file=buffer, width=120, color_system=None, force_terminal=False))
    lines = buffer.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if "Leaderboard" in line)
    table = lines[start:start + 40]
    assert all(len(line) <= 120 for line in lines)
    names = [f"model-{i:02d}" for i in range(32)]
    body = "\n".join(table)
    assert all(name in body for name in names[:30])


def interval(bounds: list[float] | None, digits: str = ".3f") -> str:
    return "n/a" if bounds is None else f"{bounds[0]:{digits}} to {bounds[1]:{digits}}"


def rank_interval(bounds: list[int]) -> str:
    return str(bounds[0]) if bounds[0] == bounds[1] else f"{bounds[0]} to {bounds[1]}"


def markdown_rows(markdown: str, caption: str) -> list[list[str]]:
    """The cells of each body row of the markdown table under ``**caption**``."""
    lines = markdown[markdown.index(f"**{caption}**"):].splitlines()[2:]
    rows = []
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split(" | ")])
    return rows


def console_rows(text: str, caption: str) -> list[list[str]]:
    """The words of each body row of the console table captioned ``caption``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == caption)
    rule = next(i for i in range(start, len(lines)) if lines[i].strip().startswith("─"))
    end = next(i for i in range(rule, len(lines)) if not lines[i].strip())
    return [line.split() for line in lines[rule + 1:end]]


def test_uncertainty_appears_in_every_output(folder: Path, tmp_path: Path) -> None:
    """Every model's score interval and rank interval and every adjacent pair's verdict are
    in findings.json, findings.md and the console, and they say the same; the pairs are the
    neighbours of the ranking worked out here from results.csv (equal weights: the mean over
    tasks; ties by name)."""
    status = main(["--data", str(folder), "--out", str(tmp_path / "out"),
                   "--figures", str(tmp_path / "fig"), "--format", "json"])
    assert status == 0
    document = json.loads((tmp_path / "out" / "findings.json").read_text(encoding="utf-8"))
    section = document["leaderboard_uncertainty"]
    assert section["ci_method"] == "tasks" and section["pair_selection"] == "adjacent"
    models = section["models"]
    means = pd.read_csv(folder / "results.csv").groupby("model")["score"].mean()
    ranking = sorted(means.index, key=lambda m: (-round(means[m], 12), m))
    assert [m["model"] for m in models] == ranking
    for m in models:
        assert m["ci95"][0] <= m["score"] <= m["ci95"][1]
        assert m["rank_ci95"][0] <= m["rank"] <= m["rank_ci95"][1]
    pairs = section["pairs"]
    assert [{p["model_a"], p["model_b"]} for p in pairs] == [
        set(pair) for pair in itertools.pairwise(ranking)]
    assert all(p["verdict"] in ("ahead", "indistinguishable") for p in pairs)

    # The same, formatted, in findings.md and on the console (compared word by word): model,
    # score, interval, rank, rank interval, run noise (no runs: n/a); for each pair its
    # models, tasks, difference and interval, then its verdict.
    expected_models = [" ".join([m["model"], f"{m['score']:.3f}", interval(m["ci95"]),
                                 str(m["rank"]), rank_interval(m["rank_ci95"]), "n/a"]).split()
                       for m in models]
    expected_pairs = [(" ".join([p["model_a"], p["model_b"], str(p["n_tasks"]),
                                 f"{p['difference']:.3f}", interval(p["ci95"])]).split(),
                       p["verdict"]) for p in pairs]
    markdown = (tmp_path / "out" / "findings.md").read_text(encoding="utf-8")
    buffer = io.StringIO()
    print_console(document, Console(file=buffer, width=120, color_system=None))
    intervals, comparisons = ("Score and rank intervals (95%)",
                              "Paired comparisons (difference of weighted scores on shared tasks)")
    assert [" ".join(row).split() for row in markdown_rows(markdown, intervals)] \
        == expected_models
    assert console_rows(buffer.getvalue(), intervals) == expected_models
    assert [(" ".join(row[:5]).split(), row[7]) for row in markdown_rows(markdown, comparisons)] \
        == expected_pairs
    assert [(row[:7], row[-2]) for row in console_rows(buffer.getvalue(), comparisons)] \
        == expected_pairs
    assert (tmp_path / "fig" / "leaderboard.png").stat().st_size > 0
