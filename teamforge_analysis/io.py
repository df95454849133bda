"""Read a data folder's files into the inputs :mod:`.validate` checks.

Each file is read once. A CSV file is parsed by pyarrow's reader with every column as text
(then dictionary-encoded: each distinct text once, a code per row); without pyarrow, or for a
file pyarrow rejects (a row with the wrong number of fields, a bad byte, a line of spaces), by
the :mod:`csv` module, which also gives every record's physical line. Those lines are worked
out only when a problem must be reported. Step logs may also be JSON Lines or Parquet.

The Dataset and the loading functions live in :mod:`.dataset`; their names are re-exported
here for older imports (``from .io import Dataset``), looked up when first asked for, so
that this module does not import :mod:`.dataset`, which imports it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from . import schema
from .schema import (
    COMPONENT_COLUMNS,
    DIFFICULTY_LEVELS,
    MEASURES,
    RUN_COLUMN,
    WEIGHT_SUM_TOLERANCE,
    Table,
)
from .validate import Cells, DataValidationError, Input, Problem, Rows

__all__ = [
    "COMPONENT_COLUMNS", "DIFFICULTY_LEVELS", "MODELS_COLUMNS", "RESULTS_COLUMNS", "RUN_COLUMN",
    "STEP_LOG_NAMES", "TASKS_COLUMNS", "WEIGHT_SUM_TOLERANCE",
    "DataValidationError", "Problem", "find_step_log", "read_input",
]

#: Column names of the Dataset's frames, in order (``results`` also has the component
#: columns its input has; ``runs`` also ``run``).
RESULTS_COLUMNS: tuple[str, ...] = ("model", "task", "score", *MEASURES)
MODELS_COLUMNS: tuple[str, ...] = tuple(c.name for c in schema.MODELS.columns)
TASKS_COLUMNS: tuple[str, ...] = tuple(c.name for c in schema.TASKS.columns)

#: File names a step log may have, in the order they are looked for.
STEP_LOG_NAMES: tuple[str, ...] = ("steps.jsonl", "steps.csv", "steps.parquet")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BLANK_LINE = re.compile(r"[ \t]*")


class Lines(Rows):
    """Row positions as physical lines (the header is line 1), found when first asked."""

    unit = "line"

    def __init__(self, text: str | None = None, records: list[tuple[int, list[str]]] | None = None,
                 n_rows: int | None = None, *, offset: int | None = None,
                 lines: np.ndarray | None = None) -> None:
        super().__init__()
        self.text, self.records, self.n_rows = text, records, n_rows
        self.offset, self.lines = offset, lines  # (Parquet: row + 1; JSON Lines: a table)

    def label(self, position: int) -> int | None:
        if self.offset is not None:
            return None if position < 0 else position + self.offset
        if self.lines is not None:
            return None if position < 0 else int(self.lines[position])
        if self.records is None:
            self.records = _records(self.text or "")
        if self.n_rows is not None and len(self.records) != self.n_rows + 1:
            return None  # (no line is better than a wrong one)
        return self.records[position + 1][0] if position + 1 < len(self.records) else None


def _records(text: str) -> list[tuple[int, list[str] | str]]:
    """Every record (header first) with its physical start line, as a CSV reader keeps them:
    empty lines and lines of spaces and tabs are skipped."""
    csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))  # (long fields keep lines)
    lines = io.StringIO(text, newline=None)
    consumed: list[str] = []

    def feed():
        for line in lines:
            consumed.append(line)
            yield line

    reader = csv.reader(feed(), strict=True)
    records, end = [], 0
    try:
        for record in reader:
            start, end = end + 1, reader.line_num
            if end == start and _BLANK_LINE.fullmatch(consumed[start - 1].rstrip("\n")):
                continue
            records.append((start, record))
    except csv.Error as exc:  # (the record that starts after the last one read)
        records.append((end + 1, "has a quoted field that is never closed"
                        if "end of data" in str(exc) else f"cannot be read as CSV ({exc})"))
    return records


def _line_of(raw: bytes, offset: int) -> int:
    return len(_LINE_BREAK.findall(raw[:offset].decode("utf-8", "replace"))) + 1


def _text_problem(raw: bytes, file: str, empty: str) -> Problem | None:
    """A problem when the bytes are not UTF-8 text with some content."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return Problem(file, "is UTF-16 text; save it as UTF-8")
    if (nul := raw.find(b"\x00")) >= 0:
        return Problem(file, "is not a text file (it contains NUL bytes)", _line_of(raw, nul))
    if raw.isspace() or not raw.removeprefix(b"\xef\xbb\xbf"):
        return Problem(file, empty)
    return None


def _decoded(raw: bytes, file: str) -> tuple[str | None, Problem | None]:
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        return None, Problem(file, f"is not UTF-8 text (byte 0x{raw[exc.start]:02x})",
                             _line_of(raw, exc.start))


def _read_csv(raw: bytes, table: Table, file: str) -> tuple[Input | None, list[Problem]]:
    if (bad := _text_problem(raw, file, "is empty (expected a header line and data rows)")):
        return None, [bad]
    parsed = _arrow_csv(raw)
    if parsed is not None:
        names, cells, n_rows = parsed
        return Input(table, file, names, cells, n_rows, _LazyLines(raw, n_rows)), []
    text, bad = _decoded(raw, file)
    if bad is not None:
        return None, [bad]
    records = _records(text)
    if isinstance(records[-1][1], str):
        return None, [Problem(file, records[-1][1], records[-1][0])]
    width = len(records[0][1])
    wrong = [Problem(file, f"has {len(r)} fields, but the header has {width}", line)
             for line, r in records[1:] if len(r) != width]
    if wrong:
        return None, wrong
    columns = list(zip(*(r for _, r in records), strict=True))
    cells = [Cells.of(pd.Series(c[1:], dtype=object)) for c in columns]
    return Input(table, file, list(records[0][1]), cells, len(records) - 1,
                 Lines(records=records, n_rows=len(records) - 1)), []


class _LazyLines(Lines):
    """Lines of a file read by pyarrow: the bytes are decoded and scanned only when needed."""

    def __init__(self, raw: bytes, n_rows: int) -> None:
        super().__init__(None, None, n_rows)
        self.raw = raw

    def label(self, position: int) -> int | None:
        if self.records is None and self.lines is None:
            self.text = self.raw.decode("utf-8-sig")
            if '"' not in self.text:  # (no quoted field: a record is a line that is not blank)
                kept = [i for i, line in enumerate(_LINE_BREAK.split(self.text), 1)
                        if line.strip(" \t")]
                self.lines = np.array(kept[1:] if len(kept) == self.n_rows + 1 else [])
                self.header = kept[0] if kept else None
        if self.lines is not None:
            if position < 0:
                return self.header
            return None if position >= len(self.lines) else super().label(position)
        return super().label(position)


def _arrow_csv(raw: bytes) -> tuple[list[str], list[Cells], int] | None:
    """The header and columns as pyarrow reads them, or None (no pyarrow; rejected)."""
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:
        return None
    width = raw[: raw.find(b"\n") if b"\n" in raw else len(raw)].count(b",") + 1
    try:
        table = pacsv.read_csv(
            pa.py_buffer(raw),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, block_size=4 << 20),
            parse_options=pacsv.ParseOptions(newlines_in_values=b'"' in raw),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(width)},
                strings_can_be_null=False))
    except (pa.ArrowException, ValueError, OverflowError):
        return None
    if any(t != pa.string() for t in table.schema.types):
        return None  # (more columns than the first line's commas suggested)
    names = [str(c[0]) for c in table.columns]
    cells = []
    for column in table.columns:
        coded = column.slice(1).combine_chunks().dictionary_encode()
        cells.append(Cells(coded.dictionary.to_numpy(zero_copy_only=False).astype(object),
                           coded.indices.to_numpy(zero_copy_only=False)))
    return names, cells, table.num_rows - 1


def _read_jsonl(raw: bytes, table: Table, file: str) -> tuple[Input | None, list[Problem]]:
    if (bad := _text_problem(raw, file, "is empty (expected one JSON object per line)")):
        return None, [bad]
    text, bad = _decoded(raw, file)
    if bad is not None:
        return None, [bad]
    numbered = [(i, line) for i, line in enumerate(text.split("\n"), 1) if line.strip()]
    problems = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = pd.read_json(io.StringIO(text), lines=True, dtype=False, convert_dates=False,
                                 keep_default_dates=False, precise_float=True)
    except (ValueError, TypeError):
        frame = None
    if frame is None or len(frame) != len(numbered):
        for number, line in numbered:
            try:
                record = json.loads(line)
            except ValueError as exc:
                detail = exc.msg[:1].lower() + exc.msg[1:]
                problems.append(Problem(file, f"is not valid JSON at column {exc.colno} "
                                        f"({detail})", number))
                continue
            if not isinstance(record, dict):
                problems.append(Problem(file, "is not a JSON object (expected one object per "
                                        "line)", number))
        return None, problems or [Problem(file, "cannot be read as JSON Lines")]
    lines = np.array([n for n, _ in numbered], dtype=np.int64)
    return _frame_input(frame, table, file, Lines(lines=lines)), []


def _read_parquet(raw: bytes, table: Table, file: str) -> tuple[Input | None, list[Problem]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        return None, [Problem(file, "needs pyarrow to be read (pip install "
                              "'teamforge-analysis[parquet]')")]
    try:
        frame = pq.read_table(io.BytesIO(raw)).to_pandas()
    except Exception as exc:  # pyarrow raises several unrelated types for bad files
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, [Problem(file, f"cannot be read as Parquet ({detail})")]
    return _frame_input(frame, table, file, Lines(offset=1)), []


def _frame_input(frame: pd.DataFrame, table: Table, file: str, rows: Rows) -> Input:
    inp = Input(table, file, [str(c) for c in frame.columns],
                [Cells.of(frame.iloc[:, i]) for i in range(frame.shape[1])], len(frame), rows)
    if not len(frame):
        inp.no_rows = "has no records"
    return inp


_READERS = {"csv": _read_csv, "jsonl": _read_jsonl, "parquet": _read_parquet}


def read_input(path: Path, table: Table, file: str | None = None
               ) -> tuple[Input | None, list[Problem], str | None]:
    """One file read for :func:`.validate.check`: the input (None when nothing could be
    read), the file-level problems, and the SHA-256 of its bytes."""
    file = file or path.name
    if path.is_dir():
        return None, [Problem(file, "is a folder, not a file")], None
    if path.exists() and not path.is_file():
        return None, [Problem(file, "is not a regular file")], None
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Problem(file, f"cannot be read ({exc.strerror or exc})")], None
    reader = _READERS[path.suffix.lstrip(".")]
    inp, problems = reader(raw, table, file)
    return inp, problems, hashlib.sha256(raw).hexdigest()


def find_step_log(folder: Path) -> tuple[Path | None, list[Problem]]:
    """The folder's step log, or None; a problem for every log beyond the first."""
    found = [folder / n for n in STEP_LOG_NAMES if (folder / n).exists()]
    extra = [Problem(f.name, f"is a second step log next to {found[0].name}; keep only one")
             for f in found[1:]]
    return (found[0] if found else None), extra


def table_of(name: str) -> Table:
    return next(t for t in schema.TABLES if t.name == name)


def __getattr__(name: str) -> object:
    # The Dataset and the loaders moved to .dataset (which imports this module).
    if name in ("Dataset", "load_dataset", "bundled_data_dir"):
        from . import dataset

        return getattr(dataset, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
