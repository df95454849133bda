"""Library helpers the notebooks call: tables for display, inline figures, a finding's inputs."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from IPython.core.formatters import DisplayFormatter
from matplotlib.figure import Figure

from teamforge_analysis import _fmt as fmt
from teamforge_analysis import load_dataset, plots
from teamforge_analysis.findings import finding_inputs
from teamforge_analysis.report import (
    Bullets,
    Note,
    Table,
    evidence_or_reason,
    frame_table,
    runs_phrase,
    verdicts_table,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------------------------------------------
# Tables shown as markdown
# ----------------------------------------------------------------------------------------------
def test_table_renders_as_markdown_in_jupyter() -> None:
    table = Table("Caption", ("a", "b|c"), (("x", "1"), ("y", "2|3")), note="A note.")
    expected = (
        "**Caption**\n"
        "\n"
        "| a | b\\|c |\n"
        "|---|---|\n"
        "| x | 1 |\n"
        "| y | 2\\|3 |\n"
        "\n"
        "_A note._\n"
    )
    assert table.to_markdown() == expected
    assert table._repr_markdown_() == expected


def test_bullets_say_when_there_are_none() -> None:
    assert Bullets(("A [link](x).",)).to_markdown() == "- A \\[link\\](x).\n"
    assert Bullets((), "No data warnings.").to_markdown() == "No data warnings.\n"
    assert Bullets(load_dataset().warnings, "No data warnings.").to_markdown() == (
        "No data warnings.\n")  # (the bundled data have none)


def test_number_columns_are_right_aligned_in_markdown() -> None:
    """A column of numbers (intervals, n/a, "< 0.001", percentages and signed numbers among
    them) is right-aligned; names, verdicts and methods stay left-aligned."""
    table = Table("T", ("model", "r", "95% CI", "p", "declining", "gap", "verdict", "none"),
                  (("a-70b", "0.73", "-0.77 to 0.99", "< 0.001", "22% of 9", "+0.052", "ahead",
                    "n/a"),
                   ("b", "n/a", "n/a", "0.5", "78%", "0.846 (0.770 to 0.923)", "n/a", "n/a")))
    assert table.to_markdown().splitlines()[3] == "|---|---:|---:|---:|---:|---:|---|---|"


def test_frame_table_formats_every_kind_of_cell() -> None:
    frame = pd.DataFrame(
        {
            "model": ["m1", "m2", None],
            "score": [0.62, 0.2106, math.nan],
            "steps": [18, 7, 30],
            "passed": [True, False, True],
            "params_b": [46.7, 8.0, 0.12345],
        }
    )
    table = frame_table(frame, "Cells")
    assert table.caption == "Cells"
    assert table.headers == ("model", "score", "steps", "passed", "params_b")
    assert table.rows == (
        ("m1", "0.620", "18", "yes", "46.7"),  # scores: 3 decimals; counts: integers
        ("m2", "0.211", "7", "no", "8"),  # other numbers as given, trailing zeros dropped
        ("n/a", "n/a", "30", "yes", "0.12345"),  # declared: 6 significant digits
    )
    assert table.note is None
    assert table.label_columns == 1  # the leading text column


def test_frame_table_keeps_a_named_index_and_takes_a_kind() -> None:
    frame = pd.DataFrame({"easy": [14.25, 9.0]}, index=pd.Index(["a", "b"], name="model"))
    assert frame_table(frame, "Means").rows == (("a", "14.25"), ("b", "9"))
    table = frame_table(frame, "Means", number=fmt.steps)
    assert table.headers == ("model", "easy")
    assert table.rows == (("a", "14.25"), ("b", "9.00"))


def test_frame_table_cuts_long_frames_and_says_so() -> None:
    frame = pd.DataFrame({"x": range(30)})
    table = frame_table(frame, "Long", max_rows=25, note="Invented.")
    assert len(table.rows) == 25
    assert table.rows[-1] == ("24",)
    assert table.note == "Invented. 5 more rows not shown."
    assert frame_table(frame, "Long", max_rows=29).note == "1 more row not shown."


def test_frame_table_of_no_rows_says_so() -> None:
    frame = pd.DataFrame({"model": pd.Series(dtype=object), "score": pd.Series(dtype=float)})
    table = frame_table(frame, "Empty")
    assert table.headers == ("model", "score")
    assert table.rows == ()
    assert table.note == "No rows."
    assert frame_table(frame, "Empty", note="Why.").note == "Why."


def test_note_renders_as_markdown_in_jupyter() -> None:
    assert Note("Said.").to_markdown() == "_Said._\n"
    assert Note("Said.")._repr_markdown_() == "_Said._\n"


def test_evidence_or_reason_says_why_there_are_no_tables() -> None:
    finding = {"id": "planning_depth_vs_success", "verdict": "not_computable",
               "verdict_reason": "the data folder has no step log",
               "statistics": {"depth_vs_score": None}}
    assert list(evidence_or_reason(finding)) == [
        Note("No statistics: not computable, because the data folder has no step log.")]
    unknown = {"id": "no_tables", "verdict": "descriptive", "verdict_reason": "because",
               "statistics": {}}
    assert list(evidence_or_reason(unknown)) == [
        Note("No statistics: descriptive, because because.")]


def test_evidence_or_reason_passes_tables_through() -> None:
    finding = {"id": "planning_depth_vs_success", "verdict": "inconclusive",
               "verdict_reason": "p", "statistics": {
                   "episodes": 3, "within_task": {},
                   "depth_vs_score": {"n": 3, "r": 0.5},
                   "depth_vs_passed": {"n": 3, "r": None}}}
    (table,) = evidence_or_reason(finding)
    assert isinstance(table, Table)
    assert table.caption == "Correlation of planning depth with success (3 episodes)"
    assert [row[:3] for row in table.rows] == [("depth vs score", "3", "0.50"),
                                               ("depth vs passed (point-biserial)", "3", "n/a")]


def test_runs_phrase_names_cells_and_steps_only_when_there_are_some() -> None:
    def document(runs: list[int], aggregate: str, step_rows: int | None) -> dict:
        return {"dataset": {"n_cells": len(runs), "aggregate": aggregate,
                            "n_step_rows": step_rows},
                "leaderboard": [{"runs": n} for n in runs]}

    assert runs_phrase(document([1, 1], "mean", None)) == ""
    assert runs_phrase(document([1, 3], "best", None)) == (
        " (2 (model, task) cells, each the best of its runs)")
    assert runs_phrase(document([1, 1], "mean", 40)) == " (40 logged steps)"
    assert runs_phrase(document([2, 2, 3], "mean", 7)) == (
        " (3 (model, task) cells, each the mean of its runs; 7 logged steps)")


def test_verdicts_table_lists_each_finding() -> None:
    document = {"findings": [
        {"id": "a", "title": "A", "verdict": "not_computable", "verdict_reason": "why a"},
        {"id": "b", "title": "B", "verdict": "supported", "verdict_reason": "why b"},
    ]}
    table = verdicts_table(document)
    assert table.headers == ("Finding", "Title", "Verdict", "Why")
    assert table.rows == (("a", "A", "not computable", "why a"), ("b", "B", "supported", "why b"))


# ----------------------------------------------------------------------------------------------
# Figures shown inline
# ----------------------------------------------------------------------------------------------
def _figure() -> Figure:
    figure = Figure(figsize=(2, 2))
    figure.add_subplot().plot([0, 1], [1, 0])
    return figure


def test_plain_figures_have_no_image() -> None:
    data, _ = DisplayFormatter().format(_figure())
    assert "image/png" not in data


def test_library_figures_display_as_reproducible_png_with_alt_text() -> None:
    figure = plots.leaderboard(*_leaderboard_inputs())
    data, metadata = DisplayFormatter().format(figure)
    assert data["image/png"] == plots.png_bytes(figure)  # the command's figures/ bytes
    assert b"Software" not in data["image/png"]  # no version or timestamp metadata
    assert metadata["image/png"]["alt"].startswith("Leaderboard: each model's score")


def test_library_figures_win_over_a_formatter_for_every_figure() -> None:
    """In IPython, matplotlib's inline backend (set up by importing pyplot) registers a PNG
    formatter for every Figure; the library's figures still show as their own bytes."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        formatter = shell.display_formatter
        formatter.formatters["image/png"].for_type(Figure, lambda figure: b"inline backend")
        figure = plots.leaderboard(*_leaderboard_inputs())  # made after that registration
        data, metadata = formatter.format(figure)
        assert data["image/png"] == plots.png_bytes(figure)
        assert "alt" in metadata["image/png"]
        assert formatter.format(_figure())[0]["image/png"] == b"inline backend"
    finally:
        InteractiveShell.clear_instance()


def _leaderboard_inputs() -> tuple:
    from teamforge_analysis import analyze

    result = analyze()
    return result.uncertainty, result.dataset


# ----------------------------------------------------------------------------------------------
# The rows each finding reads
# ----------------------------------------------------------------------------------------------
def _write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


@pytest.fixture
def small_data(tmp_path: Path) -> Path:
    """Invented: two models (one of unknown size), one easy and two hard tasks."""
    _write(tmp_path, "models.csv", "model,params_b\nbig,70\nnosize,\n")
    _write(tmp_path, "tasks.csv",
           "task,difficulty,weight,pass_threshold\n"
           "h2,hard,0.4,0.8\nh1,hard,0.4,0.7\ne1,easy,0.2,0.6\n")
    _write(tmp_path, "results.csv",
           "model,task,score,steps,test_pass,passed\n"
           "nosize,h1,0.75,30,0.8,true\n"
           "big,h2,0.9,25,0.95,true\n"
           "big,e1,0.95,5,1.0,true\n"
           "nosize,e1,0.5,9,0.5,false\n"
           "big,h1,0.65,28,0.6,false\n"
           "nosize,h2,0.7,31,0.7,false\n")
    return tmp_path


def test_inputs_of_a_size_finding_are_long_form_with_sizes(small_data: Path) -> None:
    rows = finding_inputs(load_dataset(small_data), "scale_vs_difficulty")
    assert list(rows.columns) == ["model", "task", "difficulty", "score", "params_b"]
    # by model, then difficulty easiest first, then task
    assert rows[["model", "task"]].values.tolist() == [
        ["big", "e1"], ["big", "h1"], ["big", "h2"],
        ["nosize", "e1"], ["nosize", "h1"], ["nosize", "h2"],
    ]
    assert rows["score"].tolist() == [0.95, 0.65, 0.9, 0.5, 0.75, 0.7]
    assert rows["params_b"].iloc[:3].tolist() == [70.0, 70.0, 70.0]
    assert rows["params_b"].iloc[3:].isna().all()


def test_inputs_of_other_findings_read_only_their_columns(small_data: Path) -> None:
    dataset = load_dataset(small_data)
    steps = finding_inputs(dataset, "step_efficiency")
    assert list(steps.columns) == ["model", "task", "difficulty", "steps"]
    assert steps["steps"].tolist() == [5, 28, 25, 9, 30, 31]
    cells = finding_inputs(dataset, "test_pass_vs_score")
    assert list(cells.columns) == ["model", "task", "difficulty", "test_pass", "score"]
    assert len(cells) == 6


def test_inputs_of_the_boundary_are_the_hardest_rows_with_thresholds(small_data: Path) -> None:
    rows = finding_inputs(load_dataset(small_data), "hard_task_boundary")
    assert list(rows.columns) == ["model", "task", "difficulty", "score", "passed",
                                  "pass_threshold", "params_b"]
    assert rows[["model", "task"]].values.tolist() == [
        ["big", "h1"], ["big", "h2"], ["nosize", "h1"], ["nosize", "h2"],
    ]
    assert rows["pass_threshold"].tolist() == [0.7, 0.8, 0.7, 0.8]
    assert rows["passed"].tolist() == [False, True, True, False]
    assert set(rows["difficulty"]) == {"hard"}


def test_inputs_of_an_unknown_finding_are_an_error(small_data: Path) -> None:
    with pytest.raises(ValueError, match="unknown finding 'nope'"):
        finding_inputs(load_dataset(small_data), "nope")


@pytest.fixture
def runs_data(tmp_path: Path) -> Path:
    """Invented: two models, one easy and one hard task, runs with grader components, and a
    step log for every run but (small, h1, 1)."""
    _write(tmp_path, "models.csv", "model,params_b\nbig,70\nsmall,7\n")
    _write(tmp_path, "tasks.csv",
           "task,difficulty,weight,pass_threshold\nh1,hard,0.5,0.7\ne1,easy,0.5,0.6\n")
    _write(tmp_path, "results.csv",
           "model,task,run,score,steps,test_pass,passed,"
           "lint_score,efficiency_score,review_quality,reflection_quality\n"
           "small,h1,1,0.3,4,0.25,false,0.3,0.3,0.3,0.3\n"
           "big,h1,2,0.001,3,0,false,0,0,0,0\n"
           "small,e1,1,0.9,2,1,true,1,1,1,1\n"
           "big,h1,1,0.725,2,1,true,0.5,0.5,1,0\n"
           "big,e1,1,0.5,1,0.5,false,0.5,0.5,0.5,0.5\n")
    _write(tmp_path, "steps.csv",
           "model,task,run,step,action,reward,tests_passed,tests_total\n"
           "big,h1,2,1,plan_step,0.2,1,4\n"
           "big,h1,2,2,plan_step,0.1,2,4\n"
           "big,h1,2,3,commit,-0.1,2,4\n"
           "small,e1,1,1,run_tests,0.25,3,3\n"
           "small,e1,1,2,commit,0.25,3,3\n"
           "big,h1,1,1,plan_step,0,0,4\n"
           "big,h1,1,2,edit_file,0.5,4,4\n"
           "big,e1,1,1,edit_file,0.3,0,0\n")
    return tmp_path


def test_inputs_of_score_components_are_run_rows_with_the_formula(runs_data: Path) -> None:
    rows = finding_inputs(load_dataset(runs_data), "score_components")
    assert list(rows.columns) == [
        "model", "task", "difficulty", "run", "score", "recomputed", "test_pass", "lint_score",
        "efficiency_score", "review_quality", "reflection_quality"]
    # by model, then difficulty easiest first, then task, then run
    assert rows[["model", "task", "run"]].values.tolist() == [
        ["big", "e1", 1], ["big", "h1", 1], ["big", "h1", 2], ["small", "e1", 1],
        ["small", "h1", 1]]
    assert rows["score"].tolist() == [0.5, 0.725, 0.001, 0.9, 0.3]
    # 0.40 t + 0.25 l + 0.20 e + 0.10 r + 0.05 f, clamped to [0.001, 0.999]:
    # all 0.5 -> 0.5; (1, .5, .5, 1, 0) -> .4 + .125 + .1 + .1 = .725; all 0 -> 0 -> 0.001;
    # all 1 -> 1 -> 0.999; 0.25 test pass and 0.3 otherwise -> .1 + .6 x .3 = .28.
    assert rows["recomputed"].tolist() == pytest.approx([0.5, 0.725, 0.001, 0.999, 0.28])


def test_inputs_of_score_components_without_components(small_data: Path) -> None:
    rows = finding_inputs(load_dataset(small_data), "score_components")
    assert list(rows.columns) == ["model", "task", "difficulty", "run", "score", "test_pass"]
    assert rows["run"].tolist() == [1] * 6
    assert rows["score"].tolist() == [0.95, 0.65, 0.9, 0.5, 0.75, 0.7]


def test_inputs_of_the_step_findings_are_episodes(runs_data: Path) -> None:
    dataset = load_dataset(runs_data)
    depth = finding_inputs(dataset, "planning_depth_vs_success")
    assert list(depth.columns) == ["model", "task", "difficulty", "run", "planning_depth",
                                   "n_steps", "score", "passed"]
    # (small, h1, 1) has no steps, so it is no episode
    assert depth[["model", "task", "run"]].values.tolist() == [
        ["big", "e1", 1], ["big", "h1", 1], ["big", "h1", 2], ["small", "e1", 1]]
    assert depth["planning_depth"].tolist() == [0, 1, 2, 0]
    assert depth["n_steps"].tolist() == [1, 2, 3, 2]
    assert depth["score"].tolist() == [0.5, 0.725, 0.001, 0.9]
    assert depth["passed"].tolist() == [False, True, False, True]

    reward = finding_inputs(dataset, "reward_trajectories")
    assert list(reward.columns) == ["model", "task", "difficulty", "run", "n_steps",
                                    "total_reward", "reward_slope", "first_full_pass_step"]
    assert reward["difficulty"].tolist() == ["easy", "hard", "hard", "easy"]
    assert reward["total_reward"].tolist() == pytest.approx([0.3, 0.5, 0.2, 0.5])
    # Slopes of reward against (step - first) / (last - first): one step has none; rewards
    # (0, 0.5) at (0, 1) -> 0.5; (0.2, 0.1, -0.1) at (0, 0.5, 1) -> Sxy / Sxx = -0.15 / 0.5;
    # (0.25, 0.25) -> 0.
    assert math.isnan(reward["reward_slope"][0])
    assert reward["reward_slope"][1:].tolist() == pytest.approx([0.5, -0.3, 0.0])
    # First step with tests_passed = tests_total > 0 (0 of 0 tests is no full pass).
    first = reward["first_full_pass_step"].tolist()
    assert math.isnan(first[0]) and first[1] == 2 and math.isnan(first[2]) and first[3] == 1


def test_inputs_of_the_step_findings_without_a_step_log(small_data: Path) -> None:
    dataset = load_dataset(small_data)
    for finding_id in ("planning_depth_vs_success", "reward_trajectories"):
        rows = finding_inputs(dataset, finding_id)
        assert rows.empty
        assert list(rows.columns)[:4] == ["model", "task", "difficulty", "run"]
        assert frame_table(rows, "Episodes").note == "No rows."
