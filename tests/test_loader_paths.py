"""The loader's two ways of reading a CSV file give the same result.

A clean file is read by pyarrow's typed, multi-threaded reader; anything else (and every file
when pyarrow is missing, or ``io.USE_PYARROW`` is off) cell by cell as text. These tests load
the same folders both ways and require identical frames, warnings and problems; and check that
the fast way is really taken for clean files, so that the comparison is not empty.
"""

from __future__ import annotations

import random
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _reliability import DATA_FILES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_loader_properties import (
    BUNDLED_TEXT,
    data_folder,
    mutated_table,
    spliced_bundled_file,
    valid_data,
)

import teamforge_analysis.io as tio
from teamforge_analysis.io import Dataset, DataValidationError, _FileReader, load_dataset

pytest.importorskip("pyarrow")

HERE = Path(__file__).parent
RUNS_BENCHMARK = HERE / "data" / "runs_benchmark"  # invented test data (see its README)
SAME = settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow], deadline=None)


def load_both_ways(folder: Path) -> tuple[object, object]:
    """What load_dataset gives (a Dataset, or the problem and warning lines) with pyarrow's
    reader switched on, then off."""
    outcomes = []
    for use_pyarrow in (True, False):
        tio.USE_PYARROW = use_pyarrow
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                outcomes.append(load_dataset(folder))
        except DataValidationError as error:
            outcomes.append(([str(p) for p in error.problems], error.warnings))
        finally:
            tio.USE_PYARROW = True
    return outcomes[0], outcomes[1]


def assert_same(fast: object, text: object) -> None:
    assert type(fast) is type(text)
    if not isinstance(fast, Dataset):
        assert fast == text
        return
    assert isinstance(text, Dataset)
    for name in ("results", "runs", "models", "tasks"):
        pd.testing.assert_frame_equal(getattr(fast, name), getattr(text, name),
                                      check_exact=True, obj=name)
    assert fast.warnings == text.warnings
    assert fast.files == text.files


def folder_with(tmp: Path, files: dict[str, bytes]) -> Path:
    for name in DATA_FILES:
        (tmp / name).write_bytes(files.get(name, BUNDLED_TEXT[name].encode("utf-8")))
    return tmp



@SAME
@given(data=st.data())
def test_mutated_tables_load_the_same_both_ways(data):
    names = data.draw(st.sets(st.sampled_from(DATA_FILES), min_size=1))
    files = {name: data.draw(mutated_table(name)) for name in sorted(names)}
    with data_folder(files) as folder:
        assert_same(*load_both_ways(folder))


@SAME
@given(files=valid_data())
def test_valid_folders_load_the_same_both_ways(files):
    with data_folder(files) as folder:
        assert_same(*load_both_ways(folder))


@SAME
@given(name=st.sampled_from(DATA_FILES), data=st.data())
def test_spliced_bytes_load_the_same_both_ways(name, data):
    with data_folder({name: spliced_bundled_file(name, data, edits=3)}) as folder:
        assert_same(*load_both_ways(folder))


@pytest.mark.parametrize("cell", [
    "0.5", " 0.5", "0.5 ", "+0.5", ".5", "5.", "5e-1", "5E-1", "0.50000000000000001",
    "1e-400", "0x1p-1", "½", "0,5", "1_0", "٠.5", "nan", "inf", "-0", "0.1234567890123456789",
])
def test_number_spellings_read_the_same_both_ways(tmp_path, cell):
    """Spellings pyarrow and pandas might read differently: the same value or the same error."""
    lines = BUNDLED_TEXT["results.csv"].splitlines()
    header, first, *rest = lines
    fields = first.split(",")
    fields[header.split(",").index("test_pass")] = cell
    files = {"results.csv": "\n".join([header, ",".join(fields), *rest, ""]).encode()}
    assert_same(*load_both_ways(folder_with(tmp_path, files)))


@pytest.mark.parametrize(("column", "cell"), [
    *(("steps", c) for c in ["18", " 18", "18 ", "+18", "018", "18.0", "1.8e1", "-0", "-3",
                              "2147483647", "2147483648", "9007199254740993", "1e400", "18.5",
                              "0x12", "nan", ""]),
    *(("passed", c) for c in ["true", "True", "TRUE", "tRuE", " true", "1", "0", "false",
                               "FALSE", "yes", "", "1.0"]),
])
def test_whole_number_and_flag_spellings_read_the_same_both_ways(tmp_path, column, cell):
    """The fast reader takes whole numbers as int32 and flags as booleans; a spelling it
    does not take leaves the file to the text path: the same value or the same error."""
    lines = BUNDLED_TEXT["results.csv"].splitlines()
    header, first, *rest = lines
    fields = first.split(",")
    fields[header.split(",").index(column)] = cell
    files = {"results.csv": "\n".join([header, ",".join(fields), *rest, ""]).encode()}
    assert_same(*load_both_ways(folder_with(tmp_path, files)))


def test_clean_files_take_the_fast_way(monkeypatch):
    """The bundled data and an invented folder with runs never reach the text parser."""

    def no_text_parse(self: _FileReader) -> None:
        raise AssertionError(f"{self.spec.name} was parsed as text")

    monkeypatch.setattr(_FileReader, "_parse", no_text_parse)
    load_dataset()
    load_dataset(RUNS_BENCHMARK)


def test_rows_in_any_order_give_the_same_dataset(tmp_path):
    """Run rows shuffled (and written with quotes and CRLF): the same sorted frames."""
    shutil.copytree(RUNS_BENCHMARK, tmp_path / "shuffled")
    folder = tmp_path / "shuffled"
    header, *rows = (RUNS_BENCHMARK / "results.csv").read_text().splitlines()
    random.Random(0).shuffle(rows)
    quoted = ['"' + r.replace(",", '","') + '"' for r in rows]
    (folder / "results.csv").write_bytes(("\r\n".join([header, *quoted]) + "\r\n").encode())
    fast, text = load_both_ways(folder)
    assert_same(fast, text)
    assert isinstance(fast, Dataset)
    original = load_dataset(RUNS_BENCHMARK)
    pd.testing.assert_frame_equal(fast.runs, original.runs, check_exact=True)
    pd.testing.assert_frame_equal(fast.results, original.results, check_exact=True)
    expected = original.runs.sort_values(["model", "task", "run"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(fast.runs, expected, check_exact=True)


def test_rows_read_into_key_order_keep_their_file_lines(tmp_path):
    """The fast reader writes shuffled run rows straight into key order; a problem found
    afterwards (a model missing from models.csv) still names the row's line in the file."""
    shutil.copytree(RUNS_BENCHMARK, tmp_path / "shuffled")
    folder = tmp_path / "shuffled"
    header, *rows = (RUNS_BENCHMARK / "results.csv").read_text().splitlines()
    random.Random(1).shuffle(rows)
    renamed = {10: "zz-unknown-model", 3: "aa-unknown-model"}  # (0-based data rows)
    for row, name in renamed.items():
        rows[row] = ",".join([name, *rows[row].split(",")[1:]])
    (folder / "results.csv").write_text("\n".join([header, *rows]) + "\n")
    fast, text = load_both_ways(folder)
    assert_same(fast, text)
    assert isinstance(fast, tuple)
    problems = fast[0]
    assert "results.csv line 5, column model: aa-unknown-model is not a model in models.csv" \
        in problems
    assert "results.csv line 12, column model: zz-unknown-model is not a model in models.csv" \
        in problems


def test_names_with_spaces_make_the_same_cells_both_ways(tmp_path):
    """Shuffled rows whose model names are sometimes written with spaces around them (the
    same model once stripped): the fast reader's cells, found from its codes, are pandas'
    groups of the stripped names, as on the text path."""
    shutil.copytree(RUNS_BENCHMARK, tmp_path / "spaced")
    folder = tmp_path / "spaced"
    header, *rows = (RUNS_BENCHMARK / "results.csv").read_text().splitlines()
    random.Random(2).shuffle(rows)
    rows = [f" {r}" if i % 3 == 0 else r for i, r in enumerate(rows)]
    (folder / "results.csv").write_text("\n".join([header, *rows]) + "\n")
    fast, text = load_both_ways(folder)
    assert_same(fast, text)
    assert isinstance(fast, Dataset) and fast.run_cells is not None
    grouped = fast.runs.groupby(["model", "task"], sort=True)
    np.testing.assert_array_equal(fast.run_cells[0], grouped.ngroup().to_numpy())
    np.testing.assert_array_equal(fast.run_cells[1], grouped.head(1).index.to_numpy())


def long_models(tmp: Path, last_row: str) -> Path:
    """runs_benchmark with its models.csv grown past the first 64 KB the fast reader looks at
    before parsing (rows of invented models without results, which are warnings), and
    ``last_row`` as its last row."""
    folder = tmp / "long"
    shutil.copytree(RUNS_BENCHMARK, folder)
    header, *rows = (RUNS_BENCHMARK / "models.csv").read_text().splitlines()
    extra = [f"padding-model-{i:05d},{i % 70 + 1},Padding,INVENTED padding row"
             for i in range((1 << 16) // 40)]
    (folder / "models.csv").write_text("\n".join([header, *rows, *extra, last_row]) + "\n")
    assert (folder / "models.csv").stat().st_size > 1 << 16
    return folder


@pytest.mark.parametrize("last_row", [
    'zz-model,3,Zz,"quoted, with a comma"',  # a quote (no line break) after the first block
    'zz-model,3,Zz,"a quoted\nline break"',  # a quoted line break after it
    "zz-model,3,Zz,a NUL\x00byte",  # a NUL byte after it (in a column with no checks)
], ids=["quote", "quoted-line-break", "nul"])
def test_what_comes_after_the_first_block_is_read_the_same_both_ways(tmp_path, last_row):
    """The fast reader guesses how to parse from the first block, and the whole file is
    hashed and scanned in a thread while the parsed columns are converted; a quote or a NUL
    byte found later by the scan makes it parse again or leave the file to the text path."""
    fast, text = load_both_ways(long_models(tmp_path, last_row))
    assert_same(fast, text)
    if "NUL" in last_row:
        assert fast[0] == ["models.csv line 1643: is not a text file (it contains NUL bytes)"]


def test_a_file_that_cannot_be_read_is_a_located_problem(tmp_path, monkeypatch):
    """An error reading the file (here: the scan of results.csv in its thread) is a problem
    naming the file, on either path."""
    folder = tmp_path / "data"
    shutil.copytree(tio.bundled_data_dir(), folder)
    real_scan = tio._FileScan.of_file

    def failing_scan(path: Path) -> object:
        if path.name == "results.csv":
            raise PermissionError(13, "Permission denied")
        return real_scan(path)

    monkeypatch.setattr(tio._FileScan, "of_file", staticmethod(failing_scan))
    fast, text = load_both_ways(folder)
    assert fast == text
    assert fast == (["results.csv: cannot be read (Permission denied)"], [])


@pytest.mark.parametrize("use_pyarrow", [True, False])
@pytest.mark.parametrize("folder", [None, RUNS_BENCHMARK], ids=["bundled", "runs_benchmark"])
def test_text_columns_are_object_dtype(folder: Path | None, use_pyarrow: bool) -> None:
    """The Dataset contract: model, task and the other text columns hold Python strings in
    object columns (pandas 3 would infer its str dtype from them)."""
    tio.USE_PYARROW = use_pyarrow
    try:
        dataset = load_dataset(folder)
    finally:
        tio.USE_PYARROW = True
    for name in ("results", "runs", "models", "tasks"):
        frame = getattr(dataset, name)
        for column in ("model", "task", "difficulty", "family", "source"):
            if column in frame:
                assert frame[column].dtype == object, (name, column, frame[column].dtype)


def test_bytes_read_again_must_be_the_ones_parsed(tmp_path, monkeypatch):
    """A clean file is scanned, then parsed by pyarrow from the file, and its bytes are read
    only to locate a problem found later (here a model missing from models.csv); if the file
    changed after the scan, the loader says so instead of pointing at lines of another
    file."""
    import pyarrow.csv

    folder = tmp_path / "data"
    shutil.copytree(tio.bundled_data_dir(), folder)
    results = folder / "results.csv"
    results.write_text(results.read_text().replace("gemma2-9b-it", "gemma2-9b-renamed"))

    class ChangingReader:
        """pyarrow.csv, whose read_csv changes results.csv right after parsing it."""

        def __getattr__(self, name: str) -> object:
            return getattr(pyarrow.csv, name)

        def read_csv(self, *args: object, **kwargs: object) -> object:
            table = pyarrow.csv.read_csv(*args, **kwargs)
            if "model" in table.column_names and "score" in table.column_names:
                results.write_text(results.read_text() + "\n")
            return table

    expected = "results.csv: changed while it was being read; run the analysis again"
    monkeypatch.setattr(tio, "_arrow_csv", ChangingReader)
    with pytest.raises(DataValidationError) as error:
        load_dataset(folder)
    assert [str(p) for p in error.value.problems] == [expected]


@pytest.mark.parametrize("content", [
    b"", b"ab", b"model\n", b'a,"b"\n', b"a\x00b\n", b"\xff\xfeu\x00", b"x" * (3 << 20) + b'"',
    b"y" * (1 << 20) + b"\x00",
], ids=["empty", "two-bytes", "plain", "quote", "nul", "utf16", "quote-after-3MB", "nul-after-1MB"])
def test_file_scan_in_blocks_equals_scan_of_bytes(tmp_path: Path, content: bytes) -> None:
    """The loader scans a file in 1 MB blocks instead of holding its bytes: the same SHA-256
    (hashlib on the whole bytes), start, NUL and quote flags as a scan of the bytes."""
    import hashlib

    file = tmp_path / "results.csv"
    file.write_bytes(content)
    scan = tio._FileScan.of_file(file)
    assert scan.sha256 == hashlib.sha256(content).hexdigest()
    assert (scan.head, scan.has_nul, scan.has_quote) == (content[:4], b"\x00" in content,
                                                         b'"' in content)
    assert scan.signature == (len(content), file.stat().st_mtime_ns)
