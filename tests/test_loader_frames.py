"""Dataset.from_frames runs the folder loader's checks on DataFrames; declared levels, optional
measures and benchmark.json; input robustness of the reader (issue 15)."""

from __future__ import annotations

import builtins
import contextlib
import csv
import io
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _reliability import BAD_CASES, BAD_CORPUS, BUNDLED, TESTS, bad_case
from hypothesis import event, given, settings
from hypothesis import strategies as st

from teamforge_analysis import DataValidationError, load_dataset, schema
from teamforge_analysis import io as tio
from teamforge_analysis.dataset import Dataset
from teamforge_analysis.profile import parse_profile

#: Cases about the file itself (bytes, quoting, field counts, separators, header names pandas
#: would rename, missing or empty files): they have no frame equivalent. (A file with a header
#: and no rows has one, a frame with columns and no rows, and is compared; so is
#: results_semicolon_separated's one column, by chance, but a separator is the file's matter.)
FILE_LEVEL = {
    "all_files_missing", "data_path_does_not_exist", "data_path_is_a_file",
    "models_file_is_binary", "models_file_missing", "models_file_whitespace_only",
    "results_column_repeated", "results_file_empty", "results_file_missing",
    "results_not_utf8", "results_row_too_short", "results_rows_too_long",
    "results_semicolon_separated", "results_unclosed_quote", "results_unnamed_column",
    "tasks_column_repeated", "tasks_file_missing", "tasks_file_utf16", "steps_two_step_logs",
    "steps_json_line_not_an_object", "steps_json_line_truncated",
    # Bytes, JSON spellings and Parquet types (issue 15): a frame holds Python values, and NaN
    # is its missing value. (A JSON boolean and a huge integer are Python values too: compared.)
    "results_nul_byte_other_files_checked", "steps_json_reward_nan_and_out_of_range",
    "steps_parquet_no_rows", "steps_parquet_reward_list", "steps_parquet_reward_nan",
    "steps_parquet_reward_struct", "steps_parquet_reward_timestamp", "steps_parquet_model_binary",
    "steps_parquet_spaced_name_list",
}
FRAME_CASES = sorted(set(os.listdir(BAD_CORPUS)) - FILE_LEVEL - {"README.md"})
_FILE = re.compile(r"\b(results|models|tasks|steps)\.(csv|jsonl|parquet)\b")


def read_frame(path: Path) -> tuple[pd.DataFrame, dict[int, int]]:
    """The file as a frame, as a user would read it, and the row position of each physical line
    (the header: -1)."""
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        return frame, {n + 1: n for n in range(len(frame))}
    if path.suffix == ".jsonl":
        lines = [n for n, line in enumerate(path.read_text().split("\n"), 1) if line.strip()]
        return pd.read_json(path, lines=True, dtype=False), {n: i for i, n in enumerate(lines)}
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    csv.field_size_limit(2**31 - 1)  # (results_field_beyond_csv_limit)
    reader = csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline=None))
    positions, end = {}, 0
    for record in reader:
        start, end = end + 1, reader.line_num
        if record and not (len(record) == 1 and not record[0].strip()):  # (pandas skips it)
            positions[start] = len(positions) - 1
    return frame, positions


def label(position: int) -> str:
    return f"id{position}"


def as_frame_message(line: str, positions: dict[str, dict[int, int]]) -> str:
    """An expected stderr line of the folder loader, as from_frames words it."""
    match = re.match(r"(error|warning): (\w+)\.\w+( line (\d+))?(.*)", line, re.S)
    assert match, line
    kind, stem, _, number, rest = match.groups()
    where = ""
    if number is not None and positions[stem][int(number)] >= 0:
        where = f" row {label(positions[stem][int(number)])}"
    rest = re.sub(r"of line (\d+)",
                  lambda m: f"of row {label(positions[stem][int(m.group(1))])}", rest)
    if not where and rest.startswith(", "):
        rest = " " + rest[2:]
    return f"{kind}: {stem}{where}{_FILE.sub(lambda m: m.group(1), rest)}"


WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
#: Python's ways to make, change or remove a file or folder, besides opening one for writing.
PATH_WRITERS = ("write_text", "write_bytes", "touch", "mkdir", "rename", "replace", "unlink",
                "rmdir", "symlink_to", "hardlink_to", "chmod")
OS_WRITERS = ("mkdir", "makedirs", "rename", "replace", "remove", "unlink", "rmdir", "symlink",
              "link", "truncate", "chmod")


@contextmanager
def no_writes(folder: Path) -> Iterator[list[str]]:
    """Every way Python code has to write a file refused and recorded, in the empty ``folder``
    as working and temporary folder; on leaving, the folder must still be empty (what C code,
    pyarrow's writers say, would write there)."""
    attempts: list[str] = []

    def refuse(what: str) -> None:
        attempts.append(what)
        raise PermissionError(f"a write: {what}")  # (recorded too: it might be caught)

    real_open, real_os_open = builtins.open, os.open

    def open_reading(file: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        if set(mode) & set("wax+"):
            refuse(f"open({file!r}, {mode!r})")
        return real_open(file, mode, *args, **kwargs)

    def os_open_reading(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if flags & WRITE_FLAGS:
            refuse(f"os.open({path!r}, {flags:#o})")
        return real_os_open(path, flags, *args, **kwargs)

    def refusing(name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: refuse(f"{name}{args}")

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.setattr(tempfile, "tempdir", str(folder))
        for module in (builtins, io):
            patch.setattr(module, "open", open_reading)
        patch.setattr(os, "open", os_open_reading)
        for name in PATH_WRITERS:
            patch.setattr(Path, name, refusing(f"Path.{name}"))
        for name in OS_WRITERS:
            patch.setattr(os, name, refusing(f"os.{name}"))
        yield attempts
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("write", [
    lambda: open("x.txt", "w"), lambda: Path("x.txt").write_text("x"),
    lambda: os.open("x.txt", os.O_CREAT | os.O_WRONLY), lambda: tempfile.mkstemp(),
    lambda: pd.DataFrame({"a": [1]}).to_csv("x.csv"), lambda: os.mkdir("x"),
    lambda: pd.DataFrame({"a": [1]}).to_parquet("x.parquet"),  # (pyarrow writes in C++)
], ids=["open", "Path.write_text", "os.open", "mkstemp", "to_csv", "os.mkdir", "to_parquet"])
def test_the_write_guard_catches_writes(write: Callable[[], object], tmp_path: Path) -> None:
    try:
        with no_writes(tmp_path) as attempts:
            with contextlib.suppress(PermissionError):
                write()
    except AssertionError:  # (the folder is not empty)
        return
    assert attempts


@pytest.mark.parametrize("case", FRAME_CASES)
def test_bad_case_through_frames_gives_the_same_problems(case: str, tmp_path: Path) -> None:
    expected = bad_case(case)
    frames, positions = {}, {}
    for path in sorted((BAD_CORPUS / case).iterdir()):
        if path.name != "expected.json":
            frame, positions[path.stem] = read_frame(path)
            frame.index = [label(i) for i in range(len(frame))]
            frames[path.stem] = frame
    with no_writes(tmp_path) as attempts, pytest.raises(DataValidationError) as info:
        Dataset.from_frames(frames["results"], frames["models"], frames["tasks"],
                            frames.get("steps"))
    assert attempts == []
    got = [f"error: {p}" for p in info.value.problems] + [
        f"warning: {w}" for w in info.value.warnings]
    assert got == [as_frame_message(line, positions) for line in expected["stderr"]]


def bundled_frames() -> dict[str, pd.DataFrame]:
    return {name: pd.read_csv(BUNDLED / f"{name}.csv") for name in ("results", "models", "tasks")}


def test_frames_of_numbers_and_booleans_validate(tmp_path: Path) -> None:
    frames = bundled_frames()
    results = frames["results"]
    assert results["passed"].dtype == bool and results["steps"].dtype.kind == "i"
    with no_writes(tmp_path) as attempts:
        ds = Dataset.from_frames(**frames, name="TeamForge (published results)")
    assert attempts == []
    folder = load_dataset()
    for column in ("results", "models", "tasks", "runs"):
        pd.testing.assert_frame_equal(getattr(ds, column), getattr(folder, column))
    bad = frames["results"].assign(score=frames["results"]["score"].where(
        frames["results"].index != 3, 1.5), passed=frames["results"]["passed"].astype(object))
    bad.loc[5, "passed"] = "maybe"
    bad.loc[7, "steps"] = 2**53 + 1
    with pytest.raises(DataValidationError) as info:
        Dataset.from_frames(bad, frames["models"], frames["tasks"])
    assert [str(p) for p in info.value.problems] == [
        "results row 3, column score: 1.5 is not between 0 and 1",
        "results row 5, column passed: maybe is not a boolean (true/false, 1/0)",
        "results row 7, column steps: 9007199254740993 is too large",
    ]


@pytest.mark.parametrize("folder", [BUNDLED, TESTS / "data" / "other_benchmark",
                                    TESTS / "data" / "runs_benchmark"], ids=lambda p: p.name)
def test_valid_folders_give_equal_datasets_both_ways(folder: Path, tmp_path: Path) -> None:
    loaded = load_dataset(folder)
    frames = {p.stem: read_frame(p)[0] for p in folder.iterdir()
              if p.stem in ("results", "models", "tasks", "steps") and p.suffix != ".py"}
    with no_writes(tmp_path) as attempts:
        made = Dataset.from_frames(frames.pop("results"), frames.pop("models"),
                                   frames.pop("tasks"), frames.pop("steps", None),
                                   name=loaded.name, profile=loaded.profile)
    assert attempts == []
    for column in ("results", "models", "tasks", "runs", "steps"):
        left, right = getattr(made, column), getattr(loaded, column)
        if left is None or right is None:
            assert left is right
        else:
            pd.testing.assert_frame_equal(left, right)
    assert (made.name, made.profile, made.levels) == (loaded.name, loaded.profile, loaded.levels)
    assert made.files == {}


def test_optional_measures_and_weights_may_be_absent() -> None:
    frames = bundled_frames()
    results = frames["results"][["model", "task", "score"]]
    tasks = frames["tasks"][["task", "difficulty"]]
    models = frames["models"][["model", "params_b"]]
    ds = Dataset.from_frames(results, models, tasks)
    assert list(ds.results.columns) == ["model", "task", "score", "steps", "test_pass", "passed"]
    assert ds.results[["steps", "test_pass", "passed"]].isna().all().all()
    assert ds.equal_weights and list(ds.tasks["weight"]) == [1 / 3] * 3
    assert ds.tasks["pass_threshold"].isna().all()
    assert list(ds.models.columns) == ["model", "params_b", "active_params_b", "family", "source"]
    assert not load_dataset().equal_weights


def test_odd_corpus_cases_load() -> None:
    odd = TESTS / "data" / "odd"
    weightless = load_dataset(odd / "tasks_without_weight_and_threshold")
    assert weightless.equal_weights and weightless.tasks["pass_threshold"].isna().all()
    blanks = load_dataset(odd / "results_blank_optional_cells")
    assert blanks.warnings == ()
    assert blanks.results[["steps", "test_pass", "passed"]].isna().sum().tolist() == [1, 1, 1]
    assert blanks.results["steps"].dtype == np.float64
    assert blanks.results["passed"].dtype == "boolean"


def four_levels(ranks: list[object]) -> pd.DataFrame:
    return pd.DataFrame({"task": ["a", "b", "c", "d", "e"],
                         "difficulty": ["warmup", "easy", "easy", "expert", "hard"],
                         "difficulty_rank": ranks})


def level_frames(tasks: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    results = pd.DataFrame([(m, t, 0.5) for m in ("m1", "m2") for t in tasks["task"]],
                           columns=["model", "task", "score"])
    return results, pd.DataFrame({"model": ["m1", "m2"], "params_b": [1, None]}), tasks


def test_declared_levels_in_rank_order() -> None:
    ds = Dataset.from_frames(*level_frames(four_levels([1, 2, 2, 4, 3])))
    assert ds.levels == ("warmup", "easy", "hard", "expert")
    assert ds.tasks["difficulty_rank"].dtype == np.int64
    one = Dataset.from_frames(*level_frames(pd.DataFrame({"task": ["a"], "difficulty": ["x"],
                                                          "difficulty_rank": [1]})))
    assert one.levels == ("x",)
    with pytest.raises(DataValidationError) as info:
        Dataset.from_frames(*level_frames(four_levels([1, 2, 3, 2, 0])))
    assert [str(p) for p in info.value.problems] == [
        "tasks row 2, column difficulty_rank: 3 is not the rank of easy on row 1 (2)",
        "tasks row 3, column difficulty_rank: 2 is also the rank of easy (row 1); levels need "
        "different ranks",
        "tasks row 4, column difficulty_rank: 0 is not at least 1",
    ]


def test_benchmark_json_is_validated_with_located_messages(tmp_path: Path) -> None:
    profile, problems, warnings = parse_profile(
        {"name": "X", "protocol": {"runs_per_cell": 0, "aggregate": "median"},
         "grader": {"weights": {"lint_score": -1, "speed": 0.5}, "clamp": [0.9, 0.1]},
         "claims": {"f": 3}, "colour": "red"}, "folder")
    assert profile is None
    assert [str(p) for p in problems] == [
        "benchmark.json key protocol.runs_per_cell: 0 is not a whole number at least 1",
        'benchmark.json key protocol.aggregate: "median" is not "best" or "mean"',
        "benchmark.json key grader.weights.lint_score: -1 is not a number at least 0",
        'benchmark.json key grader.weights.speed: "speed" is not a grader column (test_pass, '
        "lint_score, efficiency_score, review_quality, reflection_quality)",
        "benchmark.json key grader.clamp: [0.9, 0.1] is not [low, high] with 0 <= low < high <= 1",
        'benchmark.json key claims.f: 3 is not a string',
    ]
    assert [str(w) for w in warnings] == ["benchmark.json key colour: unknown key, ignored"]
    folder = shutil.copytree(BUNDLED, tmp_path / "mine")
    (folder / "benchmark.json").write_text('{"name": "Mine", "grader": {"weights": {"x": 1}}}')
    with pytest.raises(DataValidationError, match=r"grader\.weights\.x"):
        load_dataset(folder)
    (folder / "benchmark.json").unlink()
    ds = load_dataset(folder)
    assert ds.name == "mine" and ds.profile is None


def test_teamforge_profile_is_inferred_from_component_columns(tmp_path: Path) -> None:
    frames = bundled_frames()
    results = frames["results"].assign(lint_score=0.5, efficiency_score=0.5, review_quality=0.5,
                                       reflection_quality=0.5)
    ds = Dataset.from_frames(results, frames["models"], frames["tasks"], name="team")
    assert ds.profile is not None and ds.profile.is_teamforge and ds.profile.name == "team"
    bundled = load_dataset().profile
    assert bundled.grader == ds.profile.grader and bundled.protocol.aggregate == "best"
    assert set(bundled.claims) == {"scale_vs_difficulty", "step_efficiency",
                                   "test_pass_vs_score", "hard_task_boundary"}


def test_a_file_of_blank_records_only_is_empty(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(tio, "_arrow_csv", lambda raw: None)  # (the csv module reads it)
    folder = shutil.copytree(BUNDLED, tmp_path / "data")
    (folder / "results.csv").write_bytes(b'""\n" "\n')  # (the csv module skips blank records)
    with pytest.raises(DataValidationError) as info:
        load_dataset(folder)
    assert str(info.value) == "results.csv: is empty (expected a header line and data rows)"


# -- the two CSV readers -----------------------------------------------------------------------
# io reads a CSV file with the csv module, or with pyarrow (the optional fast path) when the file
# has no quotes. Results must never depend on which one read a file. pandas needs pyarrow once
# it is installed, so "without pyarrow" is simulated by switching the fast path off.
@contextmanager
def csv_module_only() -> Iterator[None]:
    fast = tio._arrow_csv
    tio._arrow_csv = lambda raw: None
    try:
        yield
    finally:
        tio._arrow_csv = fast


def as_read(path: Path) -> object:
    """What io makes of a CSV file: its problems, or its header, cells and physical lines."""
    inp, problems, _ = tio.read_input(path, schema.RESULTS)
    if inp is None:
        return [str(p) for p in problems]
    lines = inp.find() if inp.labels is None else inp.labels
    return inp.names, [[c[i] for i in range(inp.n_rows)] for c in inp.cells], list(lines)


FIELDS = ["", " ", "1", "0.5", "x y", "\t", "NaN", "é", "a\x0bb"]


@st.composite
def quote_free_csv(draw: st.DrawFn) -> bytes:
    """Rows of a few fields (some rows of another width, some lines blank or of spaces), any
    line ends, a byte-order mark or not, a last line end or not."""
    width = draw(st.integers(1, 4))
    row = st.lists(st.sampled_from(FIELDS), min_size=width, max_size=width).map(",".join)
    other = st.lists(st.sampled_from(FIELDS), min_size=1, max_size=5).map(",".join)
    kinds = [row] * 8 + [other, st.sampled_from(["", " ", "\t"])]  # (mostly rows that fit)
    lines = draw(st.lists(st.integers(0, 9).flatmap(kinds.__getitem__), min_size=1, max_size=8))
    ends = draw(st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=len(lines),
                         max_size=len(lines)))
    text = "".join(line + end for line, end in zip([",".join("abcd"[:width]), *lines],
                                                    [*ends, ""], strict=True))
    text += draw(st.sampled_from(["", "\n", "\r\n"]))
    return (draw(st.sampled_from(["", "\ufeff"])) + text).encode("utf-8")


@given(raw=quote_free_csv())
@settings(max_examples=300)
def test_both_csv_readers_read_a_file_without_quotes_alike(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "results.csv"
        path.write_bytes(raw)
        fast = as_read(path)
        with csv_module_only():
            assert as_read(path) == fast
        event("read by pyarrow" if tio._arrow_csv(raw) is not None else "read by the csv module")


def test_files_with_quotes_or_one_column_are_read_by_the_csv_module() -> None:
    # What pyarrow reads otherwise than the csv module: text after a closing quote (accepted,
    # not reported), a quoted \r\n (kept, not read as \n), a quoted blank in a one-column file
    # (a row, not a blank line).
    for raw in (b'a,b\n"x"y,2\n', b'a,b\n"1\r\n2",3\r\n', b"a\n\"\"\n", b'a,b\n"1",2\n',
                b"a\n1\n"):
        assert tio._arrow_csv(raw) is None, raw
    assert tio._arrow_csv(b"a,b\n1,2\n") is not None


def loaded(folder: Path) -> object:
    """The Dataset's parts, or the problems and warnings, of loading ``folder``."""
    try:
        ds = load_dataset(folder)
    except DataValidationError as exc:
        return [str(p) for p in exc.problems], exc.warnings
    frames = [getattr(ds, f) for f in ("results", "runs", "models", "tasks", "steps")]
    return ([None if f is None else f.to_dict("split") for f in frames],
            ds.name, ds.files, ds.warnings, ds.levels, ds.equal_weights, ds.profile)


@pytest.mark.parametrize("case", BAD_CASES)
def test_both_csv_readers_give_the_same_problems(case: str) -> None:
    folder = BAD_CORPUS / case / bad_case(case)["data"]
    fast = loaded(folder)
    with csv_module_only():
        assert loaded(folder) == fast
