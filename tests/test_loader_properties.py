"""Property tests (hypothesis): the loader, fed arbitrary bytes or arbitrary tables, returns
valid frames or raises DataValidationError, never another exception; reported lines are the
physical lines; and any data set the loader accepts is analysed without an exception, a warning
or a NaN.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from _reliability import BUNDLED, DATA_FILES
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from teamforge_analysis import Dataset, DataValidationError, load_dataset
from teamforge_analysis.analysis import analyze
from teamforge_analysis.dataset import MODELS_COLUMNS, RESULTS_COLUMNS, TASKS_COLUMNS
from teamforge_analysis.report import to_json, to_markdown
from teamforge_analysis.schema import DIFFICULTY_LEVELS, WEIGHT_SUM_TOLERANCE

BUNDLED_TEXT = {name: (BUNDLED / name).read_text(encoding="utf-8") for name in DATA_FILES}
LINE_BREAK = re.compile(r"\r\n|\r|\n")
NOT_FINITE = re.compile(r"\b(nan|inf|infinity)\b", re.IGNORECASE)
PROPERTY = settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])


@contextmanager
def data_folder(files: dict[str, bytes]) -> Iterator[Path]:
    """A scratch data folder: ``files`` over the bundled ones (hypothesis reuses no fixtures)."""
    root = Path(tempfile.mkdtemp(prefix="teamforge-prop-"))
    try:
        folder = root / "data"
        folder.mkdir()
        for name in DATA_FILES:
            (folder / name).write_bytes(files.get(name, BUNDLED_TEXT[name].encode("utf-8")))
        yield folder
    finally:
        shutil.rmtree(root)


def physical_lines(raw: bytes) -> int:
    return len(LINE_BREAK.findall(raw.decode("utf-8", "replace"))) + 1


def load_or_error(files: dict[str, bytes]) -> Dataset | DataValidationError:
    """load_dataset's result, or its DataValidationError; any other exception fails the test."""
    with data_folder(files) as folder, warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            dataset = load_dataset(folder)
        except DataValidationError as error:
            event("rejected")
            for problem in error.problems:
                text = str(problem)
                assert "\n" not in text and "\r" not in text, text
                assert problem.file in DATA_FILES, problem
                if problem.line is not None:
                    assert 1 <= problem.line <= physical_lines(files.get(
                        problem.file, BUNDLED_TEXT[problem.file].encode())), problem
            return error
    event("loaded")
    return dataset


def assert_valid(dataset: Dataset) -> None:
    """What every frame load_dataset returns promises."""
    results, models, tasks = dataset.results, dataset.models, dataset.tasks
    assert tuple(results.columns) == RESULTS_COLUMNS
    assert tuple(models.columns) == MODELS_COLUMNS
    assert tuple(tasks.columns) == TASKS_COLUMNS
    assert len(results) > 0
    for frame, key in ((results, ["model", "task"]), (models, ["model"]), (tasks, ["task"])):
        keys = frame[key]
        assert keys.notna().all().all()
        assert not keys.duplicated().any()
        assert keys.equals(keys.sort_values(key).reset_index(drop=True))
        for column in key:
            assert all(isinstance(v, str) and v == v.strip() and v for v in frame[column])
    for column in ("score", "test_pass"):
        values = results[column].to_numpy(dtype=float)
        assert np.isfinite(values).all() and (values >= 0).all() and (values <= 1).all()
    assert results["steps"].dtype == np.int64 and (results["steps"] >= 0).all()
    assert results["passed"].dtype == bool
    sizes = models["params_b"].to_numpy(dtype=float)
    assert ((sizes > 0) | np.isnan(sizes)).all() and not np.isinf(sizes).any()
    assert set(tasks["difficulty"]) <= set(DIFFICULTY_LEVELS)
    weights = tasks["weight"].to_numpy(dtype=float)
    assert (weights >= 0).all()
    assert abs(math.fsum(weights) - 1) <= WEIGHT_SUM_TOLERANCE
    assert set(results["task"]) == set(tasks["task"])
    assert set(results["model"]) == set(models["model"])


# ----------------------------------------------------------------------------------------------
# Arbitrary bytes
# ----------------------------------------------------------------------------------------------
@PROPERTY
@given(name=st.sampled_from(DATA_FILES), raw=st.binary(max_size=400))
def test_arbitrary_bytes(name, raw):
    outcome = load_or_error({name: raw})
    if isinstance(outcome, Dataset):
        assert_valid(outcome)


def spliced_bundled_file(name: str, data: st.DataObject, edits: int = 4) -> bytes:
    """A bundled file with 1 to ``edits`` runs of arbitrary bytes inserted, replaced or cut."""
    raw = bytearray(BUNDLED_TEXT[name].encode("utf-8"))
    for _ in range(data.draw(st.integers(1, edits))):
        at = data.draw(st.integers(0, len(raw)))
        cut = data.draw(st.integers(0, 3))
        raw[at:at + cut] = data.draw(st.binary(max_size=4))
    return bytes(raw)


@PROPERTY
@given(name=st.sampled_from(DATA_FILES), data=st.data())
def test_bundled_file_with_bytes_spliced_in(name, data):
    """Mostly valid files with a few arbitrary bytes inserted, replaced or cut."""
    outcome = load_or_error({name: spliced_bundled_file(name, data)})
    if isinstance(outcome, Dataset):
        assert_valid(outcome)


# ----------------------------------------------------------------------------------------------
# Arbitrary tables
# ----------------------------------------------------------------------------------------------
TOKENS = st.sampled_from([
    "", " ", "\t", "0", "1", "-1", "0.5", "1.0", "1.7", "-0.0", "+0.3", "1e-3", "1e400", "nan",
    "NaN", "NA", "null", "None", "inf", "-inf", "Infinity", "85%", "3/4", "12.5", "true",
    "False", "TRUE", "yes", "easy", "medium", "hard", "Hard", "x,y", 'say "hi"', "a\nb",
    "\ufeff", "é", "llama3-8b-8192", "easy_bugfix_chunk_list", "9007199254740993",
])
CELLS = st.one_of(TOKENS, st.text(max_size=12))


def bundled_table(name: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(BUNDLED_TEXT[name])))


def render(table: list[list[str]], terminator: str, quoting: int, bom: bool) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=terminator, quoting=quoting).writerows(table)
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode("utf-8")


@st.composite
def mutated_table(draw, name: str) -> bytes:
    """The bundled table with cells, rows and header names changed at random."""
    table = bundled_table(name)
    width = len(table[0])
    for _ in range(draw(st.integers(0, 4))):
        row = draw(st.integers(0, len(table) - 1))
        column = draw(st.integers(0, width - 1))
        pool = CELLS if row else st.one_of(st.sampled_from(
            [*RESULTS_COLUMNS, *MODELS_COLUMNS, *TASKS_COLUMNS, "", "Score", "notes"]), CELLS)
        table[row][column] = draw(pool)
    operation = draw(st.sampled_from(["none", "duplicate", "drop", "swap", "extra", "short"]))
    if operation == "duplicate":
        table.append(list(table[draw(st.integers(1, len(table) - 1))]))
    elif operation == "drop" and len(table) > 1:
        del table[draw(st.integers(1, len(table) - 1))]
    elif operation == "swap":
        i, j = draw(st.integers(0, width - 1)), draw(st.integers(0, width - 1))
        for row in table:
            row[i], row[j] = row[j], row[i]
    elif operation == "extra":
        table[draw(st.integers(0, len(table) - 1))].append(draw(CELLS))
    elif operation == "short":
        row = table[draw(st.integers(0, len(table) - 1))]
        del row[draw(st.integers(0, len(row) - 1)):]
    return render(table, draw(st.sampled_from(["\n", "\r\n", "\r"])),
                  draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])), draw(st.booleans()))


@PROPERTY
@given(data=st.data())
def test_arbitrary_tables(data):
    names = data.draw(st.sets(st.sampled_from(DATA_FILES), min_size=1))
    files = {name: data.draw(mutated_table(name)) for name in sorted(names)}
    outcome = load_or_error(files)
    if isinstance(outcome, Dataset):
        assert_valid(outcome)


@PROPERTY
@given(header=st.lists(st.one_of(st.sampled_from(RESULTS_COLUMNS), st.text(max_size=6)),
                       min_size=1, max_size=8),
       rows=st.lists(st.lists(CELLS, max_size=9), max_size=6))
def test_tables_of_random_shape(header, rows):
    outcome = load_or_error({"results.csv": render([header, *rows], "\n", csv.QUOTE_MINIMAL,
                                                   False)})
    if isinstance(outcome, Dataset):
        assert_valid(outcome)


# ----------------------------------------------------------------------------------------------
# Physical lines
# ----------------------------------------------------------------------------------------------
@PROPERTY
@given(data=st.data())
def test_reported_line_is_the_physical_line(data):
    """Blank lines, whitespace lines, quoted line breaks and any line ending before a bad row:
    the reported line is where that row starts, counted here from the bytes written."""
    terminator = data.draw(st.sampled_from(["\n", "\r\n", "\r"]))
    table = bundled_table("results.csv")
    bad_row = data.draw(st.integers(1, len(table) - 1))
    text = ",".join([*table[0], "notes"]) + terminator
    bad_line = None
    for i, row in enumerate(table[1:], start=1):
        for _ in range(data.draw(st.integers(0, 2))):
            text += data.draw(st.sampled_from(["", " ", "\t", "  \t "])) + terminator
        if i == bad_row:
            bad_line = len(LINE_BREAK.findall(text)) + 1
            row = [*row[:2], "1.5", *row[3:]]
        breaks = data.draw(st.lists(st.sampled_from(["\n", "\r\n", "\r"]), max_size=2))
        notes = '"' + "note".join(["", *breaks, ""]) + '"'
        text += ",".join([*row, notes]) + terminator
    outcome = load_or_error({"results.csv": text.encode("utf-8")})
    assert isinstance(outcome, DataValidationError)
    assert [str(p) for p in outcome.problems] == [
        f"results.csv line {bad_line}, column score: 1.5 is not between 0 and 1"]


# ----------------------------------------------------------------------------------------------
# Whatever loads is analysed cleanly
# ----------------------------------------------------------------------------------------------
@st.composite
def valid_data(draw) -> dict[str, bytes]:
    """A random valid data folder: few models, tasks of random levels, ties, gaps, no sizes."""
    n_models = draw(st.integers(1, 6))
    n_tasks = draw(st.integers(1, 4))
    levels = [draw(st.sampled_from(DIFFICULTY_LEVELS)) for _ in range(n_tasks)]
    parts = [draw(st.integers(0, 10)) for _ in range(n_tasks)]
    if sum(parts) == 0:
        parts[0] = 1
    weights = [p / sum(parts) for p in parts]
    models = {f"m{i}": draw(st.one_of(st.none(), st.sampled_from([1, 8, 8, 70, 0.5])))
              for i in range(n_models)}
    values = st.sampled_from([0.0, 0.25, 0.5, 0.5, 0.75, 1.0])  # few values: many ties
    rows = []
    for model in models:
        for t in range(n_tasks):
            if n_models * n_tasks > 1 and draw(st.integers(0, 9)) == 0:
                continue  # a missing result
            score = draw(values)
            rows.append([model, f"t{t}", repr(score), str(draw(st.sampled_from([0, 1, 5, 5, 40]))),
                         repr(draw(values)), str(draw(st.booleans())).lower()])
    if not rows:
        rows.append(["m0", "t0", "0.5", "3", "0.5", "false"])
    used_tasks = {r[1] for r in rows}
    used_models = {r[0] for r in rows}
    tasks = [[f"t{t}", levels[t], repr(weights[t]), "0.7"] for t in range(n_tasks)
             if f"t{t}" in used_tasks]
    total = math.fsum(float(t[2]) for t in tasks)
    for task in tasks:
        task[2] = repr(float(task[2]) / total)
    header = {"results.csv": list(RESULTS_COLUMNS), "models.csv": ["model", "params_b"],
              "tasks.csv": ["task", "difficulty", "weight", "pass_threshold"]}
    tables = {
        "results.csv": rows,
        "models.csv": [[m, "" if s is None else str(s)] for m, s in models.items()
                       if m in used_models],
        "tasks.csv": tasks,
    }
    return {name: render([header[name], *tables[name]], "\n", csv.QUOTE_MINIMAL, False)
            for name in DATA_FILES}


@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(files=valid_data())
def test_whatever_loads_is_analysed_cleanly(files):
    outcome = load_or_error(files)
    if isinstance(outcome, DataValidationError):
        # Only a weight sum off by rounding beyond 1e-9 may reject these folders.
        assert all("weights sum to" in str(p) for p in outcome.problems), outcome
        return
    assert_valid(outcome)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = analyze(outcome)
        json_text = to_json(result.document)  # allow_nan=False: NaN would raise here
        markdown = to_markdown(result.document)
    json.loads(json_text)
    assert not NOT_FINITE.search(json_text) and not NOT_FINITE.search(markdown)
    assert {f.verdict for f in result.findings} <= {
        "supported", "contradicted", "inconclusive", "not_computable"}
    assert pd.Series([row["rank"] for row in result.document["leaderboard"]]).dropna().min() == 1 \
        or all(row["rank"] is None for row in result.document["leaderboard"])
