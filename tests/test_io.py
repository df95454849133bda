"""Loader: tidy sorted frames, and every problem reported with file, line, column and value."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import MakeData

from teamforge_analysis import Dataset, DataValidationError, load_dataset
from teamforge_analysis.dataset import MODELS_COLUMNS, RESULTS_COLUMNS, TASKS_COLUMNS
from teamforge_analysis.validate import Problem


def bundled_lines(bundled_dir: Path, name: str) -> list[str]:
    return (bundled_dir / name).read_text(encoding="utf-8").splitlines()


def edit(lines: list[str], line: int, old: str, new: str) -> list[str]:
    """Replace ``old`` by ``new`` on physical line ``line`` (header = 1) of a copy of ``lines``."""
    out = list(lines)
    assert old in out[line - 1], (out[line - 1], old)
    out[line - 1] = out[line - 1].replace(old, new, 1)
    return out


def text(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def problems_of(folder: Path, **kwargs: object) -> list[str]:
    with pytest.raises(DataValidationError) as info:
        load_dataset(folder, **kwargs)
    lines = str(info.value).splitlines()
    assert lines == [str(p) for p in info.value.problems]
    return lines


# ----------------------------------------------------------------------------------------------
# The bundled data
# ----------------------------------------------------------------------------------------------
def test_bundled_shapes_and_columns(bundled: Dataset) -> None:
    assert bundled.results.shape == (12, 6)
    assert tuple(bundled.results.columns) == RESULTS_COLUMNS
    assert tuple(bundled.models.columns) == MODELS_COLUMNS
    assert tuple(bundled.tasks.columns) == TASKS_COLUMNS
    assert len(bundled.models) == 4
    assert len(bundled.tasks) == 3
    assert bundled.warnings == ()
    assert bundled.name == "TeamForge (published results)"  # (benchmark.json, not the folder)
    assert bundled.profile is not None and bundled.profile.is_teamforge


def test_bundled_types(bundled: Dataset) -> None:
    r = bundled.results
    assert r["score"].dtype == np.float64
    assert r["test_pass"].dtype == np.float64
    assert pd.api.types.is_integer_dtype(r["steps"])
    assert r["passed"].dtype == bool
    assert r["passed"].sum() == 4  # true on 4 of the 12 rows of results.csv
    assert bundled.models.set_index("model").loc["mixtral-8x7b-32768", "active_params_b"] == 12.9
    assert math.isnan(bundled.models.set_index("model").loc["gemma2-9b-it", "active_params_b"])


def test_bundled_hashes_are_sha256_of_the_files(bundled: Dataset, bundled_dir: Path) -> None:
    expected = {
        name: hashlib.sha256((bundled_dir / name).read_bytes()).hexdigest()
        for name in ("benchmark.json", "models.csv", "results.csv", "tasks.csv")
    }
    assert bundled.files == expected
    assert list(bundled.files) == sorted(expected)


def test_bundled_values_match_the_csv(bundled: Dataset, bundled_dir: Path) -> None:
    rows = [line.split(",") for line in bundled_lines(bundled_dir, "results.csv")[1:]]
    by_key = {(m, t): (float(s), int(st), float(tp), p == "true") for m, t, s, st, tp, p in rows}
    for row in bundled.results.itertuples(index=False):
        assert by_key[(row.model, row.task)] == (row.score, row.steps, row.test_pass, row.passed)


# ----------------------------------------------------------------------------------------------
# Sorting
# ----------------------------------------------------------------------------------------------
def test_frames_sorted_by_key_regardless_of_row_order(
    make_data: MakeData, bundled: Dataset, bundled_dir: Path
) -> None:
    def reversed_file(name: str) -> str:
        lines = bundled_lines(bundled_dir, name)
        return text([lines[0], *reversed(lines[1:])])

    folder = make_data(reversed_file("results.csv"), reversed_file("models.csv"),
                       reversed_file("tasks.csv"))
    ds = load_dataset(folder)
    assert list(ds.results["model"]) == sorted(ds.results["model"])
    keys = list(zip(ds.results["model"], ds.results["task"], strict=True))
    assert keys == sorted(keys)
    assert list(ds.models["model"]) == sorted(ds.models["model"])
    assert list(ds.tasks["task"]) == sorted(ds.tasks["task"])
    pd.testing.assert_frame_equal(ds.results, bundled.results)
    pd.testing.assert_frame_equal(ds.models, bundled.models)
    pd.testing.assert_frame_equal(ds.tasks, bundled.tasks)
    assert list(ds.results.index) == list(range(12))


def test_shuffled_rows_load_like_the_original(
    make_data: MakeData, bundled: Dataset, bundled_dir: Path, rng: np.random.Generator
) -> None:
    lines = bundled_lines(bundled_dir, "results.csv")
    body = lines[1:]
    order = rng.permutation(len(body))
    ds = load_dataset(make_data(text([lines[0], *(body[i] for i in order)])))
    pd.testing.assert_frame_equal(ds.results, bundled.results)


# ----------------------------------------------------------------------------------------------
# Located problems
# ----------------------------------------------------------------------------------------------
def test_out_of_range_score_located(make_data: MakeData, bundled_dir: Path) -> None:
    lines = edit(bundled_lines(bundled_dir, "results.csv"), 7, "0.762", "1.7")
    assert problems_of(make_data(text(lines))) == [
        "results.csv line 7, column score: 1.7 is not between 0 and 1"
    ]


def test_problem_fields(make_data: MakeData, bundled_dir: Path) -> None:
    lines = edit(bundled_lines(bundled_dir, "results.csv"), 7, "0.762", "1.7")
    with pytest.raises(DataValidationError) as info:
        load_dataset(make_data(text(lines)))
    assert info.value.problems == [
        Problem("results.csv", "is not between 0 and 1", line=7, column="score", value="1.7")
    ]


def test_every_problem_is_reported_at_once(make_data: MakeData, bundled_dir: Path) -> None:
    results = bundled_lines(bundled_dir, "results.csv")
    results = edit(results, 7, "0.762", "1.7")
    results = edit(results, 5, ",9,", ",-2.5,")
    results = edit(results, 11, "0.78", "abc")
    results = edit(results, 13, "0.41,", ",")
    results = edit(results, 8, "true", "yes")
    results = edit(results, 6, ",31,", ",31.5,")
    results = edit(results, 10, "0.60", "1.01")
    models = edit(bundled_lines(bundled_dir, "models.csv"), 3, ",70,", ",zero,")
    tasks = bundled_lines(bundled_dir, "tasks.csv")
    tasks = edit(tasks, 2, "0.20", "0.25")
    tasks = edit(tasks, 4, ",medium,", ",tricky,")
    folder = make_data(text(results), text(models), text(tasks))
    assert problems_of(folder) == [
        "results.csv line 5, column steps: -2.5 is not a whole number",
        "results.csv line 5, column steps: -2.5 is not at least 0",
        "results.csv line 6, column steps: 31.5 is not a whole number",
        "results.csv line 7, column score: 1.7 is not between 0 and 1",
        "results.csv line 8, column passed: yes is not a boolean (true/false, 1/0)",
        "results.csv line 10, column test_pass: 1.01 is not between 0 and 1",
        "results.csv line 11, column score: abc is not a number",
        "results.csv line 13, column score: is blank",
        "models.csv line 3, column params_b: zero is not a number",
        "tasks.csv column weight: weights sum to 1.05, not 1",
        "tasks.csv line 4, column difficulty: tricky is not easy, medium or hard; add a "
        "difficulty_rank column to declare other levels",
    ]


def test_data_validation_error_is_a_value_error(make_data: MakeData, bundled_dir: Path) -> None:
    lines = edit(bundled_lines(bundled_dir, "results.csv"), 2, "0.62", "-0.1")
    with pytest.raises(ValueError, match=r"results\.csv line 2, column score: -0\.1 is not"):
        load_dataset(make_data(text(lines)))
    assert issubclass(DataValidationError, ValueError)


def test_physical_lines_count_blank_lines_and_multiline_fields(
    make_data: MakeData, bundled_dir: Path
) -> None:
    results = bundled_lines(bundled_dir, "results.csv")
    results = [*results[:3], "", *results[3:]]  # a blank line 4; the old line 7 is now line 8
    results = edit(results, 8, "0.762", "1.7")
    models = bundled_lines(bundled_dir, "models.csv")
    # gemma's quoted source spans lines 2-3, so llama3-70b-8192 is on line 4.
    models = edit(models, 2, '"Gemma Team, Gemma 2', '"Gemma Team,\nGemma 2')
    models = "\n".join(models).split("\n")
    models = edit(models, 4, ",70,", ",-70,")
    found = problems_of(make_data(text(results), text(models)))
    assert len(found) == 2
    assert found[0] == "results.csv line 8, column score: 1.7 is not between 0 and 1"
    # The value's spelling is checked in test_value_is_shown_as_written.
    shown = found[1]
    assert shown.endswith("is not greater than 0")


def test_value_is_shown_as_written(make_data: MakeData, bundled_dir: Path) -> None:
    models = edit(bundled_lines(bundled_dir, "models.csv"), 3, ",70,", ",-70,")
    assert problems_of(make_data(None, text(models))) == [
        "models.csv line 3, column params_b: -70 is not greater than 0"
    ]


def test_duplicate_key(make_data: MakeData, bundled_dir: Path) -> None:
    lines = bundled_lines(bundled_dir, "results.csv")
    assert problems_of(make_data(text([*lines, lines[4]]))) == [
        "results.csv line 14, column model/task: llama3-70b-8192, easy_bugfix_chunk_list "
        "repeats the model/task of line 5"
    ]


def test_duplicate_model(make_data: MakeData, bundled_dir: Path) -> None:
    lines = bundled_lines(bundled_dir, "models.csv")
    assert problems_of(make_data(None, text([*lines, lines[1]]))) == [
        "models.csv line 6, column model: gemma2-9b-it repeats the model of line 2"
    ]


def test_unknown_model_and_task_in_results(make_data: MakeData, bundled_dir: Path) -> None:
    lines = bundled_lines(bundled_dir, "results.csv")
    lines = edit(lines, 2, "gemma2-9b-it", "gemma-7b")
    lines = edit(lines, 3, "hard_lru_cache_performance", "hard_btree")
    assert problems_of(make_data(text(lines))) == [
        "results.csv line 2, column model: gemma-7b is not a model in models.csv",
        "results.csv line 3, column task: hard_btree is not a task in tasks.csv",
    ]


def test_task_without_results(make_data: MakeData, bundled_dir: Path) -> None:
    lines = [line for line in bundled_lines(bundled_dir, "results.csv")
             if "medium_refactor_stats" not in line]
    assert problems_of(make_data(text(lines))) == [
        "tasks.csv line 4, column task: medium_refactor_stats has no rows in results.csv"
    ]


def test_missing_and_unknown_columns(make_data: MakeData, bundled_dir: Path) -> None:
    tasks = edit(bundled_lines(bundled_dir, "tasks.csv"), 1, "difficulty", "level")
    assert problems_of(make_data(None, None, text(tasks))) == [
        "tasks.csv line 1: missing column 'difficulty'"
    ]
    models = [f"{line},{'note' if i == 0 else 'x'}"
              for i, line in enumerate(bundled_lines(bundled_dir, "models.csv"))]
    ds = load_dataset(make_data(None, text(models)))
    assert ds.warnings == ("models.csv line 1, column note: unknown column, ignored",)
    assert "note" not in ds.models.columns
    assert problems_of(make_data(None, text(models)), strict=True) == [
        "models.csv line 1, column note: unknown column, ignored"
    ]


def test_missing_files_and_folders(make_data: MakeData, tmp_path: Path) -> None:
    folder = make_data()
    (folder / "tasks.csv").unlink()
    assert problems_of(folder) == [f"tasks.csv: is missing from the data folder {folder.name!r}"]
    with pytest.raises(DataValidationError, match="does not exist"):
        load_dataset(tmp_path / "nowhere")
    with pytest.raises(DataValidationError, match="is a file"):
        load_dataset(folder / "results.csv")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "results.csv: is empty (expected a header line and data rows)"),
        ("model,task,score,steps,test_pass,passed\n", "results.csv: has a header but no data rows"),
    ],
)
def test_empty_files(make_data: MakeData, content: str, message: str) -> None:
    assert problems_of(make_data(content)) == [message]


def test_not_utf8(make_data: MakeData, bundled_dir: Path) -> None:
    folder = make_data()
    raw = (bundled_dir / "models.csv").read_bytes().replace(b"Meta", b"M\xe9ta", 1)
    (folder / "models.csv").write_bytes(raw)
    assert problems_of(folder) == ["models.csv line 3: is not UTF-8 text (byte 0xe9)"]


def test_utf8_bom_is_accepted(make_data: MakeData, bundled: Dataset, bundled_dir: Path) -> None:
    folder = make_data()
    raw = (bundled_dir / "results.csv").read_bytes()
    (folder / "results.csv").write_bytes(b"\xef\xbb\xbf" + raw)
    pd.testing.assert_frame_equal(load_dataset(folder).results, bundled.results)


# ----------------------------------------------------------------------------------------------
# Values that are allowed
# ----------------------------------------------------------------------------------------------
def test_blank_params_b_is_kept_as_nan(make_data: MakeData, bundled_dir: Path) -> None:
    models = edit(bundled_lines(bundled_dir, "models.csv"), 4, "8,,Llama 3", ",,")
    ds = load_dataset(make_data(None, text(models)))
    sizes = ds.models.set_index("model")["params_b"]
    assert ds.models["params_b"].dtype == np.float64
    assert math.isnan(sizes["llama3-8b-8192"])
    assert sizes["llama3-70b-8192"] == 70
    assert pd.isna(ds.models.set_index("model").loc["llama3-8b-8192", "family"])
    assert len(ds.models) == 4


def test_model_missing_some_tasks_is_not_an_error(make_data: MakeData, bundled_dir: Path) -> None:
    lines = [line for line in bundled_lines(bundled_dir, "results.csv")
             if not line.startswith("gemma2-9b-it,hard")]
    ds = load_dataset(make_data(text(lines)))
    assert len(ds.results) == 11
    assert set(ds.results.loc[ds.results["model"] == "gemma2-9b-it", "task"]) == {
        "easy_bugfix_chunk_list", "medium_refactor_stats"}
    assert ds.warnings == ()


def test_model_without_results_is_a_warning(make_data: MakeData, bundled_dir: Path) -> None:
    models = [*bundled_lines(bundled_dir, "models.csv"), "phi-3-mini,3.8,,Phi,"]
    ds = load_dataset(make_data(None, text(models)))
    assert "phi-3-mini" not in set(ds.models["model"])
    assert ds.warnings == (
        "models.csv line 6, column model: phi-3-mini has no rows in results.csv (ignored)",)


def test_optional_model_columns_may_be_absent(make_data: MakeData) -> None:
    models = ("model,params_b\ngemma2-9b-it,9\nllama3-70b-8192,70\nllama3-8b-8192,8\n"
              "mixtral-8x7b-32768,46.7\n")
    ds = load_dataset(make_data(None, models))
    assert tuple(ds.models.columns) == MODELS_COLUMNS
    assert ds.models["active_params_b"].isna().all()
    assert ds.models["family"].isna().all()


@pytest.mark.parametrize(("true", "false"), [("1", "0"), ("TRUE", "False"), (" true", "false ")])
def test_boolean_spellings(make_data: MakeData, bundled: Dataset, bundled_dir: Path,
                           true: str, false: str) -> None:
    lines = bundled_lines(bundled_dir, "results.csv")
    body = [line.rsplit(",", 1) for line in lines[1:]]
    lines = [lines[0], *(f"{a},{true if b == 'true' else false}" for a, b in body)]
    ds = load_dataset(make_data(text(lines)))
    assert list(ds.results["passed"]) == list(bundled.results["passed"])


def test_weights_may_differ_from_1_by_rounding(make_data: MakeData) -> None:
    # 0.1 + 0.2 + 0.7 is not exactly 1 in binary floating point.
    tasks = ("task,difficulty,weight,pass_threshold\neasy_bugfix_chunk_list,easy,0.1,0.7\n"
             "hard_lru_cache_performance,hard,0.7,0.7\nmedium_refactor_stats,medium,0.2,0.7\n")
    ds = load_dataset(make_data(None, None, tasks))
    assert list(ds.tasks["weight"]) == [0.1, 0.7, 0.2]


def test_blank_boolean_is_a_missing_value(make_data: MakeData, bundled_dir: Path) -> None:
    lines = edit(bundled_lines(bundled_dir, "results.csv"), 4, ",false", ",")
    passed = load_dataset(make_data(text(lines))).results["passed"]
    assert passed.dtype == "boolean" and passed.isna().sum() == 1 and passed.sum() == 4
