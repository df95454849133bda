"""Library helpers the notebooks call: tables for display, inline figures, a finding's inputs."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from IPython.core.formatters import DisplayFormatter
from matplotlib.figure import Figure

from teamforge_analysis import load_dataset, plots
from teamforge_analysis.findings import finding_inputs
from teamforge_analysis.report import Table, frame_table, verdicts_table

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


def test_frame_table_formats_every_kind_of_cell() -> None:
    frame = pd.DataFrame(
        {
            "model": ["m1", "m2", None],
            "score": [0.62, 0.2106, math.nan],
            "steps": [18, 7, 30],
            "passed": [True, False, True],
        }
    )
    table = frame_table(frame, "Cells")
    assert table.caption == "Cells"
    assert table.headers == ("model", "score", "steps", "passed")
    assert table.rows == (
        ("m1", "0.62", "18", "yes"),
        ("m2", "0.211", "7", "no"),  # rounded to 3 decimals
        ("n/a", "n/a", "30", "yes"),
    )
    assert table.note is None
    assert table.label_columns == 1  # the leading text column


def test_frame_table_keeps_a_named_index_and_digits() -> None:
    frame = pd.DataFrame({"easy": [14.25, 9.0]}, index=pd.Index(["a", "b"], name="model"))
    table = frame_table(frame, "Means", digits=1)
    assert table.headers == ("model", "easy")
    assert table.rows == (("a", "14.2"), ("b", "9"))


def test_frame_table_cuts_long_frames_and_says_so() -> None:
    frame = pd.DataFrame({"x": range(30)})
    table = frame_table(frame, "Long", max_rows=25, note="Invented.")
    assert len(table.rows) == 25
    assert table.rows[-1] == ("24",)
    assert table.note == "Invented. 5 more rows not shown."
    assert frame_table(frame, "Long", max_rows=29).note == "1 more row not shown."


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


def test_figures_have_no_image_without_registration() -> None:
    data, _ = DisplayFormatter().format(_figure())
    assert "image/png" not in data


def test_registered_figures_display_as_reproducible_png() -> None:
    formatter = DisplayFormatter()
    assert plots.register_notebook_display(formatter) is True
    figure = _figure()
    data, _ = formatter.format(figure)
    png = data["image/png"]
    assert png.startswith(PNG_SIGNATURE)
    assert png == plots.png_bytes(figure)  # the same bytes as the command's figures/ files
    assert b"Software" not in png  # no version or timestamp metadata


def test_registration_outside_ipython_does_nothing() -> None:
    assert plots.register_notebook_display() is False


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
