"""Load a TeamForge data folder into tidy, validated pandas DataFrames.

A data folder holds three CSV files (see ``data/README.md`` for the data dictionary):

``results.csv``
    one row per model and task: ``model, task, score, steps, test_pass, passed``; optionally a
    ``run`` column (then one row per model, task and run) and the grader's components
    ``lint_score, efficiency_score, review_quality, reflection_quality``.
``models.csv``
    one row per model: ``model, params_b`` and optionally ``active_params_b``, ``family``,
    ``source``.
``tasks.csv``
    one row per task: ``task, difficulty, weight, pass_threshold``.

and optionally a step log, ``steps.jsonl``, ``steps.csv`` or ``steps.parquet`` (see
:mod:`teamforge_analysis.steps`).

Every problem found is collected (not only the first) and raised together as one
:class:`DataValidationError`, whose lines name the file and, for a cell, its physical line
(the header is line 1), column and value.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import pyarrow as pa

    from .steps import _Episodes

__all__ = [
    "COMPONENT_COLUMNS",
    "DIFFICULTY_LEVELS",
    "DataValidationError",
    "Dataset",
    "Problem",
    "bundled_data_dir",
    "load_dataset",
]

#: Difficulty levels, easiest first. Rules that compare "hardest" and "easiest" use this order.
DIFFICULTY_LEVELS: tuple[str, ...] = ("easy", "medium", "hard")

#: Optional results.csv column numbering a model's repeated runs of a task (1, 2, ...).
RUN_COLUMN = "run"

#: Optional results.csv columns holding the grader's components other than the test pass rate
#: (which is ``test_pass``), each in [0, 1].
COMPONENT_COLUMNS: tuple[str, ...] = (
    "lint_score", "efficiency_score", "review_quality", "reflection_quality",
)

#: Weights in tasks.csv must sum to 1 within this tolerance.
WEIGHT_SUM_TOLERANCE = 1e-9

_TRUE_WORDS = frozenset({"true", "1"})
_FALSE_WORDS = frozenset({"false", "0"})
#: What pyarrow's fast reader takes as true and false: some of the spellings the text path
#: reads (which strips spaces and ignores case); any other sends the file to the text path.
_ARROW_TRUE = ["true", "True", "TRUE", "1"]
_ARROW_FALSE = ["false", "False", "FALSE", "0"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located as precisely as it can be."""

    file: str
    message: str
    line: int | None = None
    column: str | None = None
    value: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f" line {self.line}"
        if self.column is not None:
            separator = ", " if self.line is not None else " "
            where += f"{separator}column {self.column}"
        if self.value is not None:
            shown = self.value if self.value.strip() else repr(self.value)
            return f"{where}: {shown} {self.message}"
        return f"{where}: {self.message}"


class DataValidationError(ValueError):
    """The data folder is not valid. ``problems`` lists every problem found, one per line.

    ``warnings`` holds the non-fatal remarks found on the way (an unknown column, a model with no
    results), which often explain the errors (a model renamed in one file only).
    """

    def __init__(self, problems: Iterable[Problem], warnings: Iterable[str] = ()) -> None:
        self.problems: list[Problem] = list(problems)
        self.warnings: list[str] = list(warnings)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class Dataset:
    """A validated data folder.

    Attributes
    ----------
    name
        The folder's name (never its absolute path, which must not reach the outputs).
    results, models, tasks
        Tidy frames, each sorted by its key (see :data:`RESULTS_COLUMNS` and friends).
        ``results`` has one row per (model, task) cell: when results.csv has several runs per
        cell, the runs combined by ``aggregate`` (see :func:`.runs.aggregate_runs`). It has
        the columns of :data:`RESULTS_COLUMNS`, then those of :data:`COMPONENT_COLUMNS` that
        results.csv has.
    files
        SHA-256 of every input file's bytes, by file name.
    warnings
        Non-fatal remarks (ignored columns, models with no results, ...).
    runs
        One row per run, sorted by (model, task, run): ``model, task, run`` and the other
        columns of ``results``. ``run`` is 1 throughout when results.csv has no run column.
        Derived from ``results`` when not given.
    steps
        The step log (one row per step, sorted by model, task, run, step; see
        :data:`.steps.STEP_COLUMNS`), or ``None`` when the folder has none.
    aggregate
        ``"mean"`` or ``"best"``: how ``results`` was made from ``runs``.
    """

    name: str
    results: pd.DataFrame
    models: pd.DataFrame
    tasks: pd.DataFrame
    files: dict[str, str]
    warnings: tuple[str, ...] = field(default_factory=tuple)
    runs: pd.DataFrame | None = None
    steps: pd.DataFrame | None = None
    aggregate: str = "mean"
    # (interim, until the loader rewrite lands: the shared contract's fields)
    profile: object = None
    equal_weights: bool = False

    @property
    def levels(self) -> tuple[str, ...]:
        """Difficulty levels, easiest first."""
        if "difficulty_rank" in self.tasks:
            ranked = self.tasks.sort_values(["difficulty_rank", "difficulty"])
            return tuple(dict.fromkeys(ranked["difficulty"]))
        present = set(self.tasks["difficulty"])
        return tuple(level for level in DIFFICULTY_LEVELS if level in present)

    def __post_init__(self) -> None:
        if self.runs is None:
            runs = self.results.copy()
            runs.insert(runs.columns.get_loc("task") + 1, RUN_COLUMN, 1)
            object.__setattr__(self, "runs", runs)

    @property
    def has_runs(self) -> bool:
        """Whether some (model, task) cell has more than one run."""
        assert self.runs is not None
        return len(self.runs) > len(self.results)

    @cached_property
    def run_cells(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Where each (model, task) cell's runs are in ``runs``: per run row its cell's number
        (0, 1, ... in key order, as the rows of ``results``), and each cell's first row.

        ``None`` when ``runs`` is not sorted by model, task and run or has a missing key (a
        Dataset made by hand); functions then group by the key columns instead. Worked out
        once, for the aggregation, the leaderboard and the findings that look at run rows.
        """
        from .runs import CELL_KEY, _cells_in_order

        assert self.runs is not None
        if not _in_run_order(self.runs):
            return None
        return _cells_in_order(self.runs, list(CELL_KEY))

    @cached_property
    def step_episodes(self) -> _Episodes:
        """The episodes of ``steps`` (which must be present): where each starts and ends.
        Found once, for the step-log findings (see :func:`.steps.dataset_episodes`)."""
        from .steps import _episodes_of

        assert self.steps is not None
        return _episodes_of(self.steps)

    def with_aggregate(self, aggregate: str) -> Dataset:
        """The same data with ``results`` re-made from ``runs`` by ``aggregate``."""
        from .runs import _aggregate, aggregate_runs

        if aggregate == self.aggregate:
            return self
        assert self.runs is not None
        cells = self.run_cells
        results = (aggregate_runs(self.runs, how=aggregate) if cells is None
                   else _aggregate(self.runs, cells, aggregate))
        dataset = replace(self, results=results, aggregate=aggregate)
        if cells is not None:
            dataset.__dict__["run_cells"] = cells  # (same runs: same cells)
        if "step_episodes" in self.__dict__:
            dataset.__dict__["step_episodes"] = self.step_episodes  # (same steps)
        return dataset


def _in_run_order(runs: pd.DataFrame) -> bool:
    from .runs import _in_key_order

    return RUN_COLUMN in runs and _in_key_order(runs, ["model", "task", RUN_COLUMN])


# ----------------------------------------------------------------------------------------------
# Declared columns
# ----------------------------------------------------------------------------------------------
Kind = Literal["text", "float", "int", "bool"]


@dataclass(frozen=True)
class ColumnSpec:
    """How one column is read and checked."""

    name: str
    kind: Kind
    required: bool = True  # the column must be in the header
    nullable: bool = False  # blank cells are allowed (read as missing)
    lower: float | None = None
    upper: float | None = None
    lower_open: bool = False  # value must be > lower rather than >= lower
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class FileSpec:
    name: str
    key: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    #: Optional columns that join the key when the file has them (results.csv's ``run``).
    optional_key: tuple[str, ...] = ()

    @property
    def by_name(self) -> dict[str, ColumnSpec]:
        return {c.name: c for c in self.columns}


RESULTS_SPEC = FileSpec(
    "results.csv",
    key=("model", "task"),
    columns=(
        ColumnSpec("model", "text"),
        ColumnSpec("task", "text"),
        ColumnSpec(RUN_COLUMN, "int", required=False, lower=1),
        ColumnSpec("score", "float", lower=0.0, upper=1.0),
        ColumnSpec("steps", "int", lower=0),
        ColumnSpec("test_pass", "float", lower=0.0, upper=1.0),
        ColumnSpec("passed", "bool"),
        *(ColumnSpec(name, "float", required=False, lower=0.0, upper=1.0)
          for name in COMPONENT_COLUMNS),
    ),
    optional_key=(RUN_COLUMN,),
)
MODELS_SPEC = FileSpec(
    "models.csv",
    key=("model",),
    columns=(
        ColumnSpec("model", "text"),
        ColumnSpec("params_b", "float", nullable=True, lower=0.0, lower_open=True),
        ColumnSpec(
            "active_params_b", "float", required=False, nullable=True, lower=0.0, lower_open=True
        ),
        ColumnSpec("family", "text", required=False, nullable=True),
        ColumnSpec("source", "text", required=False, nullable=True),
    ),
)
TASKS_SPEC = FileSpec(
    "tasks.csv",
    key=("task",),
    columns=(
        ColumnSpec("task", "text"),
        ColumnSpec("difficulty", "text", choices=DIFFICULTY_LEVELS),
        ColumnSpec("weight", "float", lower=0.0),
        ColumnSpec("pass_threshold", "float", lower=0.0, upper=1.0),
    ),
)

#: Column names of the frames :func:`load_dataset` returns, in order. (``Dataset.results``
#: also has the :data:`COMPONENT_COLUMNS` that results.csv has; ``Dataset.runs`` also ``run``.)
RESULTS_COLUMNS = tuple(c.name for c in RESULTS_SPEC.columns if c.required)
MODELS_COLUMNS = tuple(c.name for c in MODELS_SPEC.columns)
TASKS_COLUMNS = tuple(c.name for c in TASKS_SPEC.columns)


# ----------------------------------------------------------------------------------------------
# Reading one file
# ----------------------------------------------------------------------------------------------
#: The order files are read and their problems reported in.
FILE_SPECS: tuple[FileSpec, ...] = (RESULTS_SPEC, MODELS_SPEC, TASKS_SPEC)

# pandas skips lines holding nothing but spaces and tabs (outside quoted fields).
_SKIPPED_LINE = re.compile(r"[ \t]*")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Characters that must not appear in a key (model or task name): line breaks and other controls.
_CONTROL_CHARACTERS = r"[\x00-\x1f\x7f-\x9f]"
#: Integers are read as float64 first; beyond 2**53 they are no longer exact.
_MAX_EXACT_INTEGER = 2.0**53
#: Read clean CSV files with pyarrow's multi-threaded reader when it is installed (see
#: ``_FileReader._read_typed``). Switching it off changes speed only, never a result.
USE_PYARROW = True
#: Rows of a number column checked at a time (see ``_checked_numbers``).
_CHECK_BLOCK = 1 << 16
#: Values longer than this are cut in messages, so that one bad cell cannot flood the terminal.
_MAX_SHOWN_CHARACTERS = 60

Message = str | Callable[[str], str]


class _FileReader:
    """Reads and checks one CSV file, collecting problems instead of stopping at the first.

    Every cell is read as text and converted column by column with vectorised pandas string and
    numeric operations; Python loops run only over the cells being reported.
    """

    #: What an empty file is told it lacks.
    empty_message = "is empty (expected a header line and data rows)"

    def __init__(self, spec: FileSpec, raw: bytes | None, *, path: Path | None = None,
                 in_key_order: bool = False) -> None:
        self.spec = spec
        self._raw: bytes | None = raw
        # Given the file's path instead of its bytes, the bytes are not held: the fast reader
        # parses the file itself, a scan hashes it, and the bytes are read (and checked against
        # the scan's SHA-256) only if a problem must be located or the file read as text.
        self.path = path
        self._scan: _FileScan | None = None
        self._background_scan: _BackgroundScan | None = None
        self._unreadable: Problem | None = None  # (the scan failed: the file cannot be read)
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self._text: str | None = None  # (used by the step-log reader)
        self._decoded = False  # raw is valid UTF-8 (decoded again only to locate problems)
        self._records: list[tuple[int, list[str]]] | None = None
        self._n_rows: int | None = None  # data rows pandas read, to check the line scan agrees
        # Key columns as integer codes of their converted values in sorted order (-1: missing),
        # made from the distinct values, for the duplicate check and the key order.
        self._key_codes: dict[str, np.ndarray] = {}
        # Text key columns as their distinct converted values and a code per row, for the
        # cross-file checks (a few hundred names to compare, not a million cells).
        self._key_values: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        # The key columns combined into one integer per row, in key order (set by
        # _check_keys when every key cell is present).
        self._combined_key: _CombinedKey | None = None
        # Whether the frame read is in key order (the fast reader of an ``in_key_order``
        # reader), and if it was moved there, the file row of each of its rows.
        self.in_key_order = in_key_order
        self._rows_sorted = False
        self._row_order: np.ndarray | None = None

    @property
    def raw(self) -> bytes:
        """The file's bytes (read from the file when not held, and checked against the SHA-256
        recorded when it was scanned)."""
        if self._raw is None:
            self._raw = self._read_again()
        return self._raw

    def _read_again(self) -> bytes:
        assert self.path is not None and self._scan is not None
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            raise DataValidationError([Problem(
                self.spec.name, f"cannot be read ({exc.strerror or exc})")]) from None
        if hashlib.sha256(raw).hexdigest() != self._scan.sha256:
            raise self._changed()
        return raw

    def _changed(self) -> DataValidationError:
        """The error for a file whose bytes are not those scanned any more."""
        return DataValidationError([Problem(
            self.spec.name, "changed while it was being read; run the analysis again")])

    # -- locating problems ------------------------------------------------------------------
    def problem(self, message: str, *, row: int | None = None, line: int | None = None,
                column: str | None = None, value: object = None) -> None:
        if row is not None:
            line = self.physical_line(row if self._row_order is None
                                      else int(self._row_order[row]))
        shown = None if value is None else _show(value)
        self.problems.append(Problem(self.spec.name, message, line, column, shown))

    def records(self) -> list[tuple[int, list[str]]]:
        """Every record pandas reads, header first, with its physical start line.

        Worked out only when a problem is reported, so clean files never pay for it.
        """
        if self._records is None:
            text = self.raw.decode("utf-8-sig") if self._decoded else ""
            self._records = _records_with_lines(text)
        return self._records

    def header_line(self) -> int | None:
        records = self.records()
        return records[0][0] if records else None

    def header_problem(self, message: str, column: str | None = None) -> None:
        self.problems.append(Problem(self.spec.name, message, self.header_line(), column))

    def physical_line(self, row: int) -> int | None:
        """Physical line (first line = 1) of data row ``row`` (0-based, as pandas numbers it).

        ``None`` in the rare case where the line scan and pandas disagree on the records: no
        line is better than a wrong one.
        """
        records = self.records()
        if self._n_rows is not None and len(records) != self._n_rows + 1:
            return None
        return records[row + 1][0] if row + 1 < len(records) else None

    # -- reading ----------------------------------------------------------------------------
    @property
    def sha256(self) -> str | None:
        """The SHA-256 of the file read (``None`` for bytes given, or a file not read)."""
        return None if self._scan is None else self._scan.sha256

    def read(self) -> pd.DataFrame | None:
        """The known columns, converted and checked (``None`` when nothing could be read)."""
        typed = self._read_typed()
        if typed is not None:
            return typed
        if not self._scanned():
            return None
        if not self._decode():
            return None
        cells = self._parse()
        if cells is None:
            return None
        columns = self._header([_cell_text(v) for v in cells.iloc[0].tolist()])
        data = cells.iloc[1:].reset_index(drop=True)
        self._n_rows = len(data)
        if data.empty:
            self.problems.append(Problem(self.spec.name, "has a header but no data rows"))
            return None

        out = {}
        for spec in self.spec.columns:
            if spec.name in columns:
                out[spec.name] = self._convert(data.iloc[:, columns[spec.name]], spec)
        frame = pd.DataFrame(out, index=data.index, copy=False)  # (columns are new already)
        self._check_keys(frame)
        return frame

    def _read_typed(self) -> pd.DataFrame | None:
        """The fast way to read a clean file: ``None`` when the file is not clean (or pyarrow is
        not installed), and then :meth:`read` reads it again cell by cell as text, to name
        each problem.

        pyarrow's CSV reader parses the file on all cores, with the number columns typed and
        the text columns dictionary-encoded (each distinct text once, with a code per row).
        The text columns then go through the very checks and conversions of the text path,
        on their distinct values; the number columns through the same checks on the typed
        values. A file is clean when the header names every required column once and no
        other, every cell passes, and no key repeats. Anything else pyarrow might read
        differently from pandas (a quoted line break, a line of spaces, a short row, a
        number written with spaces or a plus sign, "nan") makes pyarrow fail or a check
        fail, so such files take the text path: both paths give the same frame for every
        file the fast one accepts.
        """
        csv_reader = _arrow_csv()
        if csv_reader is None:
            return None
        if self._raw is not None:
            probe = scan = _FileScan.of_bytes(self._raw)
        elif self._scan is not None:
            probe = scan = self._scan
        else:
            # The file's first block tells how to parse it; the whole file is hashed and
            # scanned afterwards, in a thread, while the parsed columns are converted (the
            # conversion uses one core; pyarrow's parse uses them all).
            assert self.path is not None
            try:
                probe = _FileScan.of_head(self.path)
            except OSError:
                return None  # (the text path's scan reports it)
            scan = None
        if probe.head.startswith((b"\xff\xfe", b"\xfe\xff")) or probe.has_nul:
            return None
        table = self._arrow_table(csv_reader, quoted=probe.has_quote)
        if scan is None:
            assert self.path is not None
            self._background_scan = _BackgroundScan(self.path)
        if table is None:
            return None
        names = table.column_names
        present = set(names)
        known = {c.name for c in self.spec.columns}
        if (table.num_rows == 0 or len(present) != len(names) or not present <= known
                or any(c.required and c.name not in present for c in self.spec.columns)):
            return None
        # Each column is let go once converted, so that pyarrow's columns do not sit beside
        # all of the converted ones.
        columns = dict(zip(names, table.columns, strict=True))
        del table
        frame = self._typed_frame(columns)
        clean = frame is not None and not self.problems and not self.warnings
        if scan is None and self._scanned():
            scan = self._scan  # (waited for)
        if scan is None:  # (the file cannot be read)
            assert self._unreadable is not None
            self._forget_typed_read()
            self.problems = [self._unreadable]
            return None
        # The file must not have changed from the first look at it (the probe's signature,
        # or the scan's) to the end of the scan: the scan and the parse read the same bytes.
        if self._raw is None and not (probe.signature == scan.signature
                                      == _file_signature(self.path)):
            raise self._changed()
        if clean and not scan.has_nul and not (scan.has_quote and not probe.has_quote):
            self._n_rows = len(frame)
            # Every cell was read as UTF-8 text or as an ASCII number, so the file is UTF-8:
            # lines can be located later (a model with no results, ...).
            self._decoded = True
            return frame
        # Start again from nothing (the problems are found again, with their lines, by the
        # text path).
        self._forget_typed_read()
        if clean and scan.has_quote and not probe.has_quote and not scan.has_nul:
            # A quote after the first block: parsed again, allowing quoted line breaks.
            return self._read_typed()
        return None

    def _forget_typed_read(self) -> None:
        """Back to the state before the fast reader tried the file."""
        self.problems, self.warnings, self._records, self._n_rows = [], [], None, None
        self._key_codes, self._key_values, self._combined_key = {}, {}, None
        self._row_order, self._rows_sorted = None, False

    def _arrow_table(self, csv_reader: ModuleType, *, quoted: bool) -> pa.Table | None:
        """The file parsed by pyarrow's CSV reader, ``None`` if it fails."""
        import pyarrow as pa

        # Flags as booleans: less memory than text codes. (Whole numbers as float64, not as
        # integers: pyarrow's integer parser takes "0x12", which the text path does not.)
        code_type = pa.dictionary(pa.int32(), pa.string())
        kinds = {"float": pa.float64(), "int": pa.float64(), "bool": pa.bool_()}
        types = {c.name: kinds.get(c.kind, code_type) for c in self.spec.columns}
        try:
            table = csv_reader.read_csv(
                # The file itself when its bytes are not held: pyarrow reads it block by
                # block (ten million rows' bytes need not be in memory beside their columns).
                pa.BufferReader(self._raw) if self._raw is not None else str(self.path),
                # Blocks of 4 MB (not 1 MB): the same speed, and a lower peak of memory in
                # the parse; the system allocator returns memory that numpy then reuses.
                read_options=csv_reader.ReadOptions(block_size=4 << 20),
                memory_pool=pa.system_memory_pool(),
                parse_options=csv_reader.ParseOptions(
                    # Only a quoted field can hold a line break; without quotes the reader
                    # splits the file into lines up front, which is faster.
                    newlines_in_values=quoted),
                convert_options=csv_reader.ConvertOptions(
                    column_types=types, null_values=[""], strings_can_be_null=True,
                    quoted_strings_can_be_null=True, check_utf8=True,
                    # The spellings the text path reads as true or false, less its stripping
                    # of spaces and its ignoring of case beyond these (then the text path).
                    true_values=_ARROW_TRUE, false_values=_ARROW_FALSE),
            )
            table.column_names  # noqa: B018 (a header name that is not UTF-8 fails here)
        except (pa.ArrowException, ValueError, OverflowError, OSError):
            return None
        return table

    def _scanned(self) -> bool:
        """Whether the file read by path has been scanned (hashed); scanned now (or its scan
        in a thread waited for) if it was not yet. False, with the problem, when it cannot
        be read."""
        if self._raw is not None or self._scan is not None:
            return True
        if self._unreadable is not None:
            return False
        assert self.path is not None
        pending, self._background_scan = self._background_scan, None
        try:
            self._scan = pending.result() if pending is not None \
                else _FileScan.of_file(self.path)
        except OSError as exc:
            self._unreadable = Problem(self.spec.name, f"cannot be read ({exc.strerror or exc})")
            self.problems.append(self._unreadable)
            return False
        return True

    def _typed_frame(self, columns: dict[str, pa.ChunkedArray]) -> pd.DataFrame | None:
        """pyarrow's typed columns converted and checked; ``None`` at the first problem (the
        text path then finds every problem), including a repeated key.

        The key columns are converted first, and their codes checked for repeats. A reader
        made ``in_key_order`` then writes each column straight into key order: every column
        is made once, where converting in file order and sorting afterwards would make it
        twice (on ten million rows, touching that much new memory costs as much as the work).
        """
        specs = [s for s in self.spec.columns if s.name in columns]
        keys = [s.name for s in specs
                if s.name in self.spec.key or s.name in self.spec.optional_key]
        n_rows = len(next(iter(columns.values())))
        # One buffer for each number column read in file order before it is moved into key
        # order (only when the rows are sorted here).
        buffer = np.empty(n_rows, dtype=np.float64) if self.in_key_order else None
        scratch = buffer
        converted: dict[str, np.ndarray | tuple[np.ndarray, np.ndarray]] = {}
        for name in keys:
            column = self._typed_column(columns.pop(name), self.spec.by_name[name],
                                        into=scratch)
            if column is None or self.problems or self.warnings:
                return None
            converted[name] = column
            if isinstance(column, np.ndarray) and scratch is not None \
                    and np.shares_memory(column, scratch):
                scratch = None  # (in use until the key order is known)
        if not self._typed_keys_distinct(keys):
            return None
        order = self.key_order() if self.in_key_order else None
        out = {name: self._in_order(name, converted.pop(name), order) for name in keys}
        # Free again once the key columns are in key order. Rows already in order need no
        # buffer: each column is converted into its own array (a key column may be in it).
        scratch = buffer if order is not None else None
        del buffer
        for spec in specs:
            if spec.name in out:
                continue
            column = self._typed_column(columns.pop(spec.name), spec, into=scratch)
            if column is None or self.problems or self.warnings:
                return None
            out[spec.name] = self._in_order(spec.name, column, order)
        if order is not None:
            self._row_order = order
        self._rows_sorted = self.in_key_order
        # (the converted columns are new already)
        return pd.DataFrame({s.name: out[s.name] for s in specs}, copy=False)

    def _typed_column(self, cells: pa.ChunkedArray, spec: ColumnSpec, *,
                      into: np.ndarray | None) -> np.ndarray | tuple[np.ndarray, np.ndarray] | None:
        """One column of pyarrow's typed table, converted and checked, in file order:
        numbers as one array (written into ``into`` when given), text and flags as their
        distinct values' converted values with a code per row; ``None`` if a cell fails."""
        if spec.kind in ("float", "int"):
            return self._convert_typed_number(cells, spec, into=into)
        if spec.kind == "bool":
            return _typed_flags(cells)
        column = self._typed_distinct(cells)
        return self._checked_distinct(column, spec), column.codes

    def _in_order(self, name: str, converted: np.ndarray | tuple[np.ndarray, np.ndarray],
                  order: np.ndarray | None) -> pd.Series:
        """A converted column as a Series, its rows taken in ``order`` (``None``: as they are).

        A text key column's codes are kept in the same order, for the cross-file checks.
        """
        if not isinstance(converted, tuple):
            return pd.Series(converted if order is None else converted[order], copy=False)
        per_value, codes = converted
        if order is None:
            return _expanded(per_value, codes)
        codes = codes[order]
        if name in self._key_values:
            self._key_values[name] = (self._key_values[name][0], codes)
        return _expanded(per_value, codes)

    def _typed_keys_distinct(self, key: list[str]) -> bool:
        """Whether the typed reader's key columns are complete and no key repeats (their
        combined key is then kept for the key order)."""
        codes = [self._key_codes[k] for k in key]
        if any(c.min(initial=0) < 0 for c in codes):
            return False
        return not self._combine_keys(codes).any()

    def _combine_keys(self, codes: list[np.ndarray]) -> np.ndarray:
        """Keep the complete key columns' codes as one combined key (for the key order), and
        return which rows repeat an earlier row's key."""
        self._combined_key = _CombinedKey.of(codes)
        self._key_codes = {}  # (held by the combined key when still needed)
        return self._combined_key.duplicated()

    def _typed_distinct(self, cells: pa.ChunkedArray) -> _DistinctValues:
        """A dictionary-encoded text column of pyarrow's table as its distinct texts and a
        code per row.

        Read block by block (pyarrow's chunks) into one new array: on ten million rows each
        column-sized temporary costs as much in page faults as the work itself.
        """
        import pyarrow.compute as pc

        # The blocks' dictionaries differ: each is mapped onto one list of distinct texts
        # (a few hundred names), and its int32 codes (pyarrow's own, half the memory of intp)
        # written through that map into one array.
        position: dict[str, int] = {}
        codes = np.empty(len(cells), dtype=np.int32)
        start = 0
        for chunk in cells.chunks:
            local = chunk.dictionary.to_pylist()
            mapping = np.array([position.setdefault(t, len(position)) for t in local] + [-1],
                               dtype=np.int32)  # (the last entry: a missing cell)
            indices = pc.fill_null(chunk.indices, len(local)) if chunk.null_count \
                else chunk.indices
            codes[start:start + len(chunk)] = mapping[indices.to_numpy()]
            start += len(chunk)
        texts = list(position)
        if cells.null_count:
            codes[codes < 0] = len(texts)  # as _DistinctValues.of has it
            texts.append("")
        return _DistinctValues(pd.Series(texts, dtype=object), codes)

    def _convert_typed_number(self, cells: pa.ChunkedArray, spec: ColumnSpec, *,
                              into: np.ndarray | None = None) -> np.ndarray | None:
        """A number column of pyarrow's table (float64), checked, as one array (written into
        ``into``, a float64 buffer of its length, when given); ``None`` if a cell fails."""
        if cells.null_count and not spec.nullable:
            return None
        # Whole numbers are the only ones an int column accepts without a problem, so an int
        # column without missing cells is cast to int64 as it is copied.
        as_int = spec.kind == "int" and not cells.null_count
        dtype = np.int64 if as_int else np.float64
        values = np.empty(len(cells), dtype=dtype) if into is None else into.view(dtype)
        all_whole = True
        missing = 0
        start = 0
        for chunk in cells.chunks:
            numbers = chunk.to_numpy(zero_copy_only=False)  # float64; missing cells are NaN
            # (as_int: no cell is missing, so a NaN was written "nan"; not cast to int64)
            checked = _checked_numbers(numbers, spec, allow_missing=not as_int)
            if checked is None:
                return None
            all_whole = all_whole and checked[0]
            missing += checked[1]
            values[start:start + len(numbers)] = numbers
            start += len(numbers)
        # A NaN that is not a missing cell was written "nan" (the text path's "is not a
        # number").
        if missing != cells.null_count:
            return None
        if spec.name in self.spec.key or spec.name in self.spec.optional_key:
            self._key_codes[spec.name] = _sorted_codes(values, all_whole=all_whole)
        if spec.kind == "int" and all_whole and not as_int:
            return values.astype(np.int64)
        return values

    def _decode(self) -> bool:
        """Check that the file is UTF-8 text with some content (problems otherwise)."""
        name, raw = self.spec.name, self.raw
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            self.problems.append(Problem(name, "is UTF-16 text; save it as UTF-8"))
            return False
        if b"\x00" in raw:
            line = _count_lines(raw[: raw.index(b"\x00")].decode("utf-8", "replace"))
            self.problems.append(Problem(name, "is not a text file (it contains NUL bytes)",
                                         line=line))
            return False
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = _count_lines(raw[: exc.start].decode("utf-8", "replace"))
            self.problems.append(
                Problem(name, f"is not UTF-8 text (byte 0x{raw[exc.start]:02x})", line=line))
            return False
        if not text or text.isspace():  # (not text.strip(), without copying the file)
            self.problems.append(Problem(name, self.empty_message))
            return False
        self._decoded = True
        return True

    def _parse(self) -> pd.DataFrame | None:
        """Every cell as text (blank cells missing); row 0 is the header."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # From the bytes (checked UTF-8 by _decode): parsing a StringIO makes pandas
                # encode the whole text again, and holding the text doubles the peak memory.
                return pd.read_csv(
                    io.BytesIO(self.raw),
                    encoding="utf-8-sig",
                    header=None,  # the header is checked here; pandas would rename repeats
                    dtype=object,  # every cell as its text: str dtype would cost a pass more
                    keep_default_na=False,  # "NA", "nan", "null" are values, not missing
                    na_values=[""],
                    skip_blank_lines=True,
                    engine="c",
                )
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OverflowError) as exc:
            self._locate_parser_error(str(exc))
            return None

    def _locate_parser_error(self, message: str) -> None:
        """Turn pandas' tokenizer error into located problems."""
        records = self.records()
        if records:
            width = len(records[0][1])
            long_rows = [(line, len(r)) for line, r in records[1:] if len(r) > width]
            for line, n_fields in long_rows:
                self.problem(f"has {n_fields} fields, but the header has {width}", line=line)
            if long_rows:
                return
            if "EOF inside string" in message:
                self.problem("has a quoted field that is never closed", line=records[-1][0])
                return
        detail = message.strip().splitlines()[-1] if message.strip() else "unknown error"
        self.problem(f"cannot be read as CSV ({detail})")

    def _header(self, names: list[str]) -> dict[str, int]:
        """Position of every known column that appears once; problems for the rest."""
        known = self.spec.by_name
        if len(names) == 1 and names[0] not in known and (";" in names[0] or "\t" in names[0]):
            separator = "';'" if ";" in names[0] else "tabs"
            self.header_problem(f"the header looks separated by {separator}; columns must be "
                                "separated by commas")
            return {}
        positions: dict[str, list[int]] = {}
        for position, name in enumerate(names):
            positions.setdefault(name, []).append(position)
        for position in positions.pop("", []):
            self.header_problem(f"column {position + 1} of the header has no name")
        for name, where in positions.items():
            if name in known and len(where) > 1:
                # pandas would silently rename the repeat to "score.1"; which one is meant?
                self.header_problem(f"appears {len(where)} times in the header", name)
            elif name not in known:
                self.warnings.append(Problem(self.spec.name, "unknown column, ignored",
                                             self.header_line(), name))
        lowered = {name.lower(): name for name in positions}
        for spec in self.spec.columns:
            if spec.required and spec.name not in positions:
                near = lowered.get(spec.name.lower())
                hint = f" (found {near!r}; names are case-sensitive)" if near else ""
                self.header_problem(f"missing column {spec.name!r}{hint}")
        return {name: where[0] for name, where in positions.items()
                if name in known and len(where) == 1}

    # -- converting and checking columns ----------------------------------------------------
    # Each column is converted through its distinct values: keys, levels, flags and rounded
    # scores repeat a lot, and pandas string operations cost a Python call per value.
    def _convert(self, cells: pd.Series, spec: ColumnSpec) -> pd.Series:
        return self._convert_values(_DistinctValues.of(cells), spec)

    def _convert_values(self, column: _DistinctValues, spec: ColumnSpec) -> pd.Series:
        if spec.kind in ("float", "int"):
            return self._convert_number(column, spec)
        return _expanded(self._checked_distinct(column, spec), column.codes)

    def _checked_distinct(self, column: _DistinctValues, spec: ColumnSpec) -> np.ndarray:
        """A text or boolean column's distinct values, converted and checked: one value per
        distinct text (``None`` for a blank text cell), to be spread over the rows by
        :func:`_expanded`."""
        text = column.values.str.strip()
        blank = _mask(text == "")
        if not spec.nullable:
            self.report(blank, column, spec, "is blank", shown=None)
        if spec.kind == "text":
            return self._text_values(column, text, blank, spec)
        return self._bool_values(column, text, blank, spec)

    def _text_values(self, column: _DistinctValues, text: pd.Series, blank: np.ndarray,
                     spec: ColumnSpec) -> np.ndarray:
        if spec.name in self.spec.key:
            control = _mask(text.str.contains(_CONTROL_CHARACTERS, regex=True))
            self.report(control & ~blank, column, spec,
                        "contains a line break or another control character")
        if spec.choices is not None:
            bad = ~blank & ~_mask(text.isin(spec.choices))
            self.report(bad, column, spec, f"is not one of {', '.join(spec.choices)}")
        values = np.where(blank, None, text.to_numpy(dtype=object))
        self._remember_key_codes(column, values, spec)
        return values

    def _bool_values(self, column: _DistinctValues, text: pd.Series, blank: np.ndarray,
                     spec: ColumnSpec) -> np.ndarray:
        words = text.str.lower()
        is_true = _mask(words.isin(_TRUE_WORDS))
        is_false = _mask(words.isin(_FALSE_WORDS))
        self.report(~blank & ~is_true & ~is_false, column, spec,
                    "is not a boolean (true/false, 1/0)")
        return is_true

    def _convert_number(self, column: _DistinctValues, spec: ColumnSpec) -> pd.Series:
        values = np.array(pd.to_numeric(column.values, errors="coerce"), dtype="float64")
        # to_numeric skips ASCII spaces only; retry the rest stripped as text columns are.
        retry = np.flatnonzero(np.isnan(values))
        stripped = column.values.iloc[retry].str.strip()
        blank = np.zeros(len(values), dtype=bool)
        blank[retry] = _mask(stripped == "")
        values[retry] = pd.to_numeric(stripped, errors="coerce").to_numpy(dtype="float64")
        if not spec.nullable:
            self.report(blank, column, spec, "is blank", shown=None)
        missing = np.isnan(values)
        self.report(missing & ~blank, column, spec, _not_a_number(spec))
        checks, whole = _number_checks(values, spec)
        for bad, message in checks:
            self.report(bad, column, spec, message)
        self._remember_key_codes(column, values, spec)
        # expand() makes a new array: no need for pandas 3's defensive copy of it.
        numbers = pd.Series(column.expand(values), copy=False)
        if spec.kind == "int" and whole.all():
            return numbers.astype("int64")
        return numbers

    def report(self, mask: np.ndarray, column: _DistinctValues, spec: ColumnSpec,
               message: Message, *, shown: str | None = "value") -> None:
        """Report ``message`` for every cell of ``column`` whose distinct value is in ``mask``."""
        if not mask.any():
            return
        for row in np.flatnonzero(column.expand(mask)):
            # str(): step logs read from JSON or Parquet hold numbers, not texts.
            value = str(column.values.iloc[column.codes[row]]).strip() if shown else None
            said = message(str(value)) if callable(message) else message
            self.problem(said, row=int(row), column=spec.name, value=value)

    def report_cells(self, mask: np.ndarray, values: pd.Series, column: str, message: str
                     ) -> None:
        """Report ``message`` for converted ``values`` where ``mask`` is true (cross-file)."""
        for row in np.flatnonzero(mask):
            self.problem(message, row=int(row), column=column, value=values.iloc[row])

    def _remember_key_codes(self, column: _DistinctValues, values: np.ndarray,
                            spec: ColumnSpec) -> None:
        if spec.name in self.spec.key or spec.name in self.spec.optional_key:
            ranks = _small_codes(pd.factorize(values, sort=True)[0])
            # Distinct values met in sorted order (names written model by model, say) are their
            # own ranks: the codes are the key codes, without a second array.
            in_order = bool((ranks == np.arange(len(ranks))).all()) \
                and ranks.dtype == column.codes.dtype
            self._key_codes[spec.name] = column.codes if in_order else ranks[column.codes]
            if spec.kind == "text":
                self._key_values[spec.name] = (np.asarray(values, dtype=object), column.codes)

    def key_values(self, name: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Text key column ``name`` as its distinct values (``None``: blank) and a code per row
        indexing them; ``None`` if the column was not read."""
        return self._key_values.get(name)

    def same_keys_as_next(self, key: Sequence[str]) -> np.ndarray | None:
        """For a frame read into key order by the fast reader, whether each row's text keys
        ``key`` equal the next row's (see ``runs._cells_of``), from the key codes instead of
        the names; ``None`` when not known that way."""
        if not self._rows_sorted or self._n_rows is None:
            return None
        same = np.ones(max(self._n_rows - 1, 0), dtype=bool)
        for name in key:
            coded = self._key_values.get(name)
            if coded is None:
                return None
            values, codes = coded
            # Codes of distinct texts: texts that differ only in spaces have the same value.
            canonical, distinct = pd.factorize(values, use_na_sentinel=True)
            if (canonical < 0).any():  # (a blank key: not for a frame read cleanly)
                return None
            if len(distinct) < len(values):
                codes = canonical[codes]
            same &= codes[1:] == codes[:-1]
        return same

    def key_order(self) -> np.ndarray | None:
        """Row positions in key order, or ``None`` when the rows are in key order already.

        Only for a file whose keys are complete and distinct (no problem found).
        """
        if self._rows_sorted:
            return None
        assert self._combined_key is not None, "the keys were not checked, or a key is missing"
        return self._combined_key.order()

    def _check_keys(self, frame: pd.DataFrame) -> None:
        key = list(self.spec.key) + [c for c in self.spec.optional_key if c in frame.columns]
        if not all(k in frame.columns for k in key):
            return
        keys = frame[key]
        if all(k in self._key_codes for k in key):
            # Integer codes compare much faster than the strings (same equalities: pandas'
            # duplicated factorizes each column the same way).
            codes = [self._key_codes[k] for k in key]
            complete: np.ndarray | None = None  # rows with every key cell (None: all)
            if all(c.min(initial=0) >= 0 for c in codes):
                duplicated = self._combine_keys(codes)
            else:
                complete = np.logical_and.reduce([c >= 0 for c in codes])
                duplicated = _CombinedKey.of([c[complete] for c in codes]).duplicated()
        else:
            complete = _mask(keys.notna().all(axis=1))
            duplicated = _mask(keys[complete].duplicated(keep="first"))
        if not duplicated.any():
            return
        if complete is not None:
            keys = keys[complete]
        first_row = pd.Series(keys.index, index=keys.index).groupby(
            [keys[k] for k in key], sort=False).transform("min")
        for position in np.flatnonzero(duplicated):
            row = int(keys.index[position])
            first_line = self.physical_line(int(first_row.iloc[position]))
            where = f" of line {first_line}" if first_line is not None else " of an earlier line"
            self.problem(
                f"repeats the {'/'.join(key)}{where}",
                row=row, column="/".join(key),
                value=", ".join(str(keys.at[row, k]) for k in key),
            )


def _checked_numbers(values: np.ndarray, spec: ColumnSpec, *, allow_missing: bool
                     ) -> tuple[bool, int] | None:
    """Check a number column's values (NaN: missing) in blocks of ``_CHECK_BLOCK`` rows, so
    that the masks stay in the cache and no column-sized temporary is made.

    ``None`` if a value fails a check of :func:`_number_checks`, or one is missing and
    ``allow_missing`` is false; else whether every present value is whole, and how many
    are missing.
    """
    all_whole, missing = True, 0
    for offset in range(0, len(values), _CHECK_BLOCK):
        block = values[offset:offset + _CHECK_BLOCK].astype(np.float64, copy=False)
        checks, whole = _number_checks(block, spec)
        if any(bad.any() for bad, _ in checks):
            return None
        block_missing = int(np.count_nonzero(np.isnan(block)))
        if block_missing and not allow_missing:
            return None
        missing += block_missing
        all_whole = all_whole and bool(whole.all())
    return all_whole, missing


def _number_checks(values: np.ndarray, spec: ColumnSpec
                   ) -> tuple[list[tuple[np.ndarray, str]], np.ndarray]:
    """The checks of a number column's present values (NaN: missing, not checked here).

    Returns each check's mask of failing values with its message, and the mask of values
    that are whole numbers within the exact range of float64 (all finite ones, for floats).
    """
    missing = np.isnan(values)
    finite = np.isfinite(values)
    checks = [(~missing & ~finite, "is not a finite number")]
    whole = finite
    if spec.kind == "int":
        with np.errstate(invalid="ignore"):
            fractional = finite & (values != np.floor(values))
            huge = finite & ~fractional & (np.abs(values) > _MAX_EXACT_INTEGER)
        checks += [(fractional, "is not a whole number"), (huge, "is too large")]
        whole = finite & ~fractional & ~huge
    if spec.lower is not None or spec.upper is not None:
        with np.errstate(invalid="ignore"):
            below = np.zeros(len(values), dtype=bool)
            above = np.zeros(len(values), dtype=bool)
            if spec.lower is not None:
                below = values <= spec.lower if spec.lower_open else values < spec.lower
            if spec.upper is not None:
                above = values > spec.upper
        checks.append((finite & (below | above), _range_text(spec)))
    return checks, whole


def _small_codes(codes: np.ndarray) -> np.ndarray:
    """``codes`` as int32 when they fit (half the memory of int64 over a million rows)."""
    if len(codes) and -(2**31) <= codes.min() and codes.max() < 2**31:
        return codes.astype(np.int32)
    return codes


def _sorted_codes(values: np.ndarray, *, all_whole: bool) -> np.ndarray:
    """Integer codes of numbers in their sorted order (-1: missing).

    Whole numbers (``all_whole``) in a range no wider than the column is long are their own
    codes (minus the smallest); anything else is factorized.
    """
    if len(values) and all_whole:
        low, high = values.min(), values.max()
        if high - low <= max(len(values), 1024) and -(2**31) <= low and high < 2**31:
            codes = values.astype(np.int32)  # (one new array: the codes themselves)
            codes -= np.int32(low)
            return codes
    return _small_codes(pd.factorize(values, sort=True)[0])


@dataclass(frozen=True)
class _CombinedKey:
    """Key columns (non-negative codes in sorted order, one array per column) combined into
    one integer per row (int32 when it fits, else int64) whose order is the key order, when
    their sizes allow it."""

    codes: list[np.ndarray]
    combined: np.ndarray | None  # None: one int64 per row would overflow
    size: int  # number of possible combined values

    @classmethod
    def of(cls, codes: list[np.ndarray]) -> _CombinedKey:
        sizes = [int(c.max()) + 1 if len(c) else 1 for c in codes]
        size = math.prod(sizes)
        if size >= 2**63:
            return cls(codes, None, size)
        # int32 when every combined value fits: half the memory to write and read.
        combined = codes[0].astype(np.int32 if size <= 2**31 else np.int64)
        for column, width in zip(codes[1:], sizes[1:], strict=True):
            combined *= width
            combined += column
        return cls([], combined, size)  # (the codes are not needed any more)

    @property
    def _dense(self) -> bool:
        # A table of one slot per possible key costs no more than a few passes over the rows.
        return self.combined is not None and self.size <= 4 * len(self.combined) + 1024

    @cached_property
    def _in_order(self) -> bool:
        """Whether the keys strictly increase (so: distinct, and in key order)."""
        combined = self.combined
        return combined is not None and bool((combined[1:] > combined[:-1]).all())

    @cached_property
    def _slots(self) -> np.ndarray | None:
        """Dense keys: per possible key, the last row holding it (-1: none)."""
        if not self._dense:
            return None
        assert self.combined is not None
        n = len(self.combined)
        dtype = np.int32 if n < 2**31 else np.intp
        slots = np.full(self.size, -1, dtype=dtype)
        slots[self.combined] = np.arange(n, dtype=dtype)
        return slots

    def duplicated(self) -> np.ndarray:
        """Rows whose key repeats an earlier row's."""
        if self.combined is None:
            return _mask(pd.DataFrame(dict(enumerate(self.codes))).duplicated(keep="first"))
        if self._in_order:
            return np.zeros(len(self.combined), dtype=bool)
        slots = self._slots
        if slots is not None and np.count_nonzero(slots >= 0) == len(self.combined):
            return np.zeros(len(self.combined), dtype=bool)  # as many keys as rows
        return _mask(pd.Series(self.combined).duplicated(keep="first"))

    def order(self) -> np.ndarray | None:
        """Row positions in key order (stable), ``None`` when already in order; keys must be
        distinct."""
        if self.combined is None:
            order = np.lexsort(self.codes[::-1])
            return None if (order == np.arange(len(order))).all() else order
        if self._in_order:
            return None
        slots = self._slots
        if slots is not None:
            # Distinct keys in a small range: each row was placed at its key, and the slots
            # read in order (linear time, where a sort is n log n). Every possible key
            # present (a full grid of models, tasks and runs): the slots are the order.
            return slots if len(slots) == len(self.combined) else slots[slots >= 0]
        return np.argsort(self.combined, kind="stable")


@dataclass(frozen=True)
class _DistinctValues:
    """A column as its distinct cell texts and, per row, the position of its text among them.

    A missing cell (an empty field) is the text "".
    """

    values: pd.Series  # object dtype, one entry per distinct text
    codes: np.ndarray  # per row, an index into values

    @classmethod
    def of(cls, cells: pd.Series) -> _DistinctValues:
        codes, uniques = pd.factorize(cells, use_na_sentinel=True)
        values = np.asarray(uniques, dtype=object)
        if (codes < 0).any():
            codes = np.where(codes < 0, len(values), codes)
            values = np.append(values, "")
        return cls(pd.Series(values, dtype=object), codes)

    def expand(self, per_value: np.ndarray) -> np.ndarray:
        """Per-row values from per-distinct-value ones."""
        return np.asarray(per_value)[self.codes]


@dataclass(frozen=True)
class _FileScan:
    """What the fast reader must know of a file before parsing it, from one pass over its
    bytes (which are not kept): how they start, whether they hold a NUL byte or a quote, and,
    for a file, their SHA-256 and the file's size and modification time when scanned."""

    head: bytes
    has_nul: bool
    has_quote: bool
    sha256: str | None = None
    signature: tuple[int, int] | None = None

    @classmethod
    def of_bytes(cls, raw: bytes) -> _FileScan:
        """Bytes already held (their owner hashes them if it needs to)."""
        return cls(raw[:4], b"\x00" in raw, b'"' in raw)

    @classmethod
    def of_head(cls, path: Path) -> _FileScan:
        """The start, NUL and quote flags of the first block of ``path`` only (no hash), with
        the file's signature taken first; raises OSError."""
        signature = _file_signature(path)
        with path.open("rb", buffering=0) as file:
            block = file.read(1 << 16)
        return replace(cls.of_bytes(block), signature=signature)

    @classmethod
    def of_file(cls, path: Path) -> _FileScan:
        """Scan ``path`` in blocks of 1 MB read into one buffer (raises OSError)."""
        signature = _file_signature(path)
        sha = hashlib.sha256()
        buffer = bytearray(1 << 20)
        view = memoryview(buffer)
        head = b""
        has_nul = has_quote = False
        with path.open("rb", buffering=0) as file:
            while n := file.readinto(buffer):
                sha.update(view[:n])
                head = head or bytes(buffer[:min(n, 4)])
                has_nul = has_nul or buffer.find(b"\x00", 0, n) >= 0
                has_quote = has_quote or buffer.find(b'"', 0, n) >= 0
        return cls(head, has_nul, has_quote, sha.hexdigest(), signature)


class _BackgroundScan:
    """``_FileScan.of_file(path)`` worked out in a thread: reading and hashing let go of the
    GIL, so the file is hashed while its parsed columns are converted (one pass less on the
    critical path: 0.3 s for 10 million rows)."""

    def __init__(self, path: Path) -> None:
        self._scan: _FileScan | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(path,), daemon=True,
                                        name="teamforge-analysis file scan")
        self._thread.start()

    def _run(self, path: Path) -> None:
        try:
            self._scan = _FileScan.of_file(path)
        except BaseException as exc:  # (raised again by result(), in the reading thread)
            self._error = exc

    def result(self) -> _FileScan:
        """The scan (waits for it; raises what the scan raised, OSError for a read error)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._scan is not None
        return self._scan


def _file_signature(path: Path | None) -> tuple[int, int] | None:
    """Size and modification time (ns) of ``path``: what changes when the file is written."""
    if path is None:
        return None
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_size, status.st_mtime_ns


def _arrow_csv() -> ModuleType | None:
    """pyarrow's CSV reader, or ``None`` when pyarrow is not installed (or is switched off)."""
    if not USE_PYARROW:
        return None
    try:
        import pyarrow.csv
    except ImportError:
        return None
    return pyarrow.csv


def _typed_flags(cells: pa.ChunkedArray) -> np.ndarray | None:
    """A boolean column of pyarrow's table as one numpy array; ``None`` with a missing cell
    (the text path reports or reads it)."""
    if cells.null_count:
        return None
    flags = np.empty(len(cells), dtype=bool)
    start = 0
    for chunk in cells.chunks:
        flags[start:start + len(chunk)] = chunk.to_numpy(zero_copy_only=False)
        start += len(chunk)
    return flags


def _expanded(per_value: np.ndarray, codes: np.ndarray) -> pd.Series:
    """A column from its distinct values' converted values and a code per row (text stays
    object dtype: the constructor would infer pandas' str dtype)."""
    values = per_value[codes]
    return pd.Series(values, dtype=object if values.dtype == object else None, copy=False)


def _mask(values: pd.Series | np.ndarray) -> np.ndarray:
    """A plain numpy boolean mask (missing counts as false)."""
    if isinstance(values, pd.Series):
        return values.to_numpy(dtype=bool, na_value=False)
    return np.asarray(values, dtype=bool)


def _cell_text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else str(value).strip()


def _show(value: object) -> str:
    """A cell's value for a one-line message: control characters escaped, long values cut."""
    text = str(value)
    if not text.isprintable():
        text = repr(text)[1:-1]
    if len(text) > _MAX_SHOWN_CHARACTERS:
        text = text[: _MAX_SHOWN_CHARACTERS - 3] + "..."
    return text


def _not_a_number(spec: ColumnSpec) -> Message:
    """``is not a number``, with a hint for percentages in [0, 1] columns."""
    if spec.upper != 1.0:
        return "is not a number"

    def message(value: str) -> str:
        number = value.removesuffix("%").strip()
        if value.endswith("%") and not math.isnan(as_float := _float_or_nan(number)):
            return f"is a percentage; write it as a number between 0 and 1 ({as_float / 100:g})"
        return "is not a number"

    return message


def _float_or_nan(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def _range_text(spec: ColumnSpec) -> str:
    if spec.lower is not None and spec.upper is not None:
        return f"is not between {_fmt_bound(spec.lower)} and {_fmt_bound(spec.upper)}"
    if spec.lower is not None:
        relation = "greater than" if spec.lower_open else "at least"
        return f"is not {relation} {_fmt_bound(spec.lower)}"
    return f"is not at most {_fmt_bound(spec.upper)}"


def _fmt_bound(x: float | None) -> str:
    return format(x, "g")


def _count_lines(text: str) -> int:
    """The physical line the end of ``text`` is on (\\r\\n, \\r and \\n each end a line)."""
    return len(_LINE_BREAK.findall(text)) + 1


def _records_with_lines(text: str) -> list[tuple[int, list[str]]]:
    """Every record pandas would read (header first), with its physical start line.

    pandas skips lines of only spaces and tabs and lets quoted fields span lines, so row index
    + 2 is right only for simple files; the csv module, fed one physical line at a time, tracks
    the lines exactly. \\r\\n, \\r and \\n all end a line, as for pandas.
    """
    lines = io.StringIO(text, newline=None)
    consumed: list[str] = []

    def feed() -> Iterator[str]:
        for line in lines:
            consumed.append(line)
            yield line

    reader = csv.reader(feed())
    records: list[tuple[int, list[str]]] = []
    end = 0
    try:
        for record in reader:
            start, end = end + 1, reader.line_num
            if end == start and _SKIPPED_LINE.fullmatch(consumed[start - 1].rstrip("\n")):
                continue
            records.append((start, record))
    except csv.Error:
        pass  # e.g. a field beyond csv's size limit: later lines stay unknown
    return records


# ----------------------------------------------------------------------------------------------
# Loading a folder
# ----------------------------------------------------------------------------------------------
def bundled_data_dir() -> Path:
    """The data folder shipped with the package (TeamForge's published results).

    In a wheel the data sits inside the package; in a source checkout (or an editable install)
    it is the repository's ``data/`` folder. There is one copy in the repository.
    """
    here = Path(__file__).resolve().parent
    packaged = here / "_bundled_data"
    if (packaged / "results.csv").is_file():
        return packaged
    return here.parent / "data"


def load_dataset(path: str | Path | None = None, *, strict: bool = False,
                 aggregate: str = "mean") -> Dataset:
    """Load and validate a data folder.

    Parameters
    ----------
    path
        Folder holding ``results.csv``, ``models.csv`` and ``tasks.csv`` (and optionally a
        step log, see :mod:`.steps`). ``None`` loads the bundled TeamForge data.
    strict
        If true, warnings (ignored columns, models with no results) are errors too.
    aggregate
        How a cell's runs become the cell in ``Dataset.results`` when results.csv has a run
        column: ``"mean"`` (default) or ``"best"`` (see :func:`.runs.aggregate_runs`).

    Returns
    -------
    Dataset
        Frames sorted by their keys, with input file hashes and warnings.

    Raises
    ------
    DataValidationError
        With every problem found, one per line.

    Examples
    --------
    >>> ds = load_dataset()
    >>> ds.results.shape
    (12, 6)
    >>> list(ds.tasks["difficulty"])
    ['easy', 'hard', 'medium']
    """
    from .runs import AGGREGATES, CELL_KEY, _aggregate, _cells_in_order, _cells_of
    from .steps import EPISODE_KEY, _episodes_of, read_step_log

    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {', '.join(AGGREGATES)}, not {aggregate!r}")
    folder = bundled_data_dir() if path is None else Path(path)
    if not folder.exists():
        raise DataValidationError([Problem(str(folder), "data folder does not exist")])
    if not folder.is_dir():
        raise DataValidationError([Problem(str(folder), "is a file, not a data folder")])

    problems: list[Problem] = []
    readers: dict[str, _FileReader] = {}
    frames: dict[str, pd.DataFrame | None] = {}
    hashes: dict[str, str] = {}
    for spec in FILE_SPECS:
        frames[spec.name] = None
        file = folder / spec.name
        if file.is_dir():
            problems.append(Problem(spec.name, "is a folder, not a file"))
            continue
        if not file.is_file():
            problems.append(Problem(spec.name, f"is missing from the data folder {folder.name!r}"))
            continue
        # The result rows are read straight into key order (when the fast reader can).
        readers[spec.name] = _FileReader(spec, None, path=file,
                                         in_key_order=spec is RESULTS_SPEC)
        # A frame with bad cells is still used for the cross-file checks below.
        frames[spec.name] = readers[spec.name].read()
        if (sha256 := readers[spec.name].sha256) is not None:
            hashes[spec.name] = sha256

    results, models, tasks = (frames[s.name] for s in (RESULTS_SPEC, MODELS_SPEC, TASKS_SPEC))
    notes: list[Problem] = [w for r in readers.values() for w in r.warnings]

    tasks_reader = readers.get(TASKS_SPEC.name)
    if tasks is not None and tasks_reader is not None and "weight" in tasks:
        weights = tasks["weight"].to_numpy(dtype="float64")
        weights_ok = not any(p.column == "weight" for p in tasks_reader.problems)
        if weights_ok and np.isfinite(weights).all():
            total = math.fsum(weights)
            if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
                problems.append(
                    Problem("tasks.csv", f"weights sum to {total:.12g}, not 1", column="weight")
                )
    if _has(results, "task") and _has(tasks, "task"):
        assert results is not None and tasks is not None
        without_results = _cross_check(readers[RESULTS_SPEC.name], results, tasks, "task",
                                       TASKS_SPEC.name)
        readers[TASKS_SPEC.name].report_cells(
            without_results, tasks["task"], "task", "has no rows in results.csv")
    if _has(results, "model") and _has(models, "model"):
        assert results is not None and models is not None
        unused = _cross_check(readers[RESULTS_SPEC.name], results, models, "model",
                              MODELS_SPEC.name)
        models_reader = readers[MODELS_SPEC.name]
        for row in np.flatnonzero(_mask(unused)):
            notes.append(Problem(MODELS_SPEC.name, "has no rows in results.csv (ignored)",
                                 models_reader.physical_line(int(row)), "model",
                                 _show(models["model"].iloc[row])))

    if results is not None:
        components = [c for c in COMPONENT_COLUMNS if c in results.columns]
        if components and len(components) < len(COMPONENT_COLUMNS):
            absent = [c for c in COMPONENT_COLUMNS if c not in components]
            notes.append(Problem(
                RESULTS_SPEC.name,
                f"has the grader component column(s) {', '.join(components)} but not "
                f"{', '.join(absent)}; score components need all four", line=1))

    problems.extend(p for r in readers.values() for p in r.problems)
    step_log = read_step_log(folder, results if not problems else None)
    problems.extend(step_log.problems)
    notes.extend(step_log.warnings)
    if step_log.file is not None and step_log.sha256 is not None:
        hashes[step_log.file] = step_log.sha256
    steps = None
    step_episodes = None
    if step_log.frame is not None and results is not None:
        steps = step_log.frame  # (tidy as read: declared columns, sorted by key)
        step_episodes = _episodes_of(steps)  # (found once: for this check and the findings)
        notes.extend(_runs_without_steps(
            results, steps.loc[step_episodes.starts, list(EPISODE_KEY)], step_log.file))
    if strict:
        problems.extend(notes)
        notes = []
    warning_lines = [str(n) for n in _sorted_problems(notes)]
    if problems:
        raise DataValidationError(_sorted_problems(problems), warning_lines)
    # No problem left to locate: the readers' key codes are not needed any more (beyond the
    # order and the names taken here), and freeing them before sorting and aggregating
    # lowers the peak memory.
    results_reader = readers[RESULTS_SPEC.name]
    used_models = models[models["model"].isin(
        _distinct_names(results_reader, results, "model"))]
    order = results_reader.key_order()
    # (rows read into key order: their cells from the key codes, not by comparing names)
    same_cell = results_reader.same_keys_as_next(CELL_KEY)
    readers.clear()
    frames.clear()

    assert results is not None and models is not None and tasks is not None
    runs = _tidy_runs(results, order)
    del results  # (the rows in file order: not kept through the aggregation)
    # (runs are in key order, keys complete)
    cells = _cells_of(same_cell) if same_cell is not None and len(runs) \
        else _cells_in_order(runs, list(CELL_KEY))
    del same_cell
    dataset = Dataset(
        name=folder.resolve().name,
        results=_aggregate(runs, cells, aggregate),
        models=_tidy(used_models, MODELS_SPEC),
        tasks=_tidy(tasks, TASKS_SPEC),
        files=dict(sorted(hashes.items())),
        warnings=tuple(warning_lines),
        runs=runs,
        steps=steps,
        aggregate=aggregate,
    )
    dataset.__dict__["run_cells"] = cells  # (worked out above, for the same runs)
    if step_episodes is not None:
        dataset.__dict__["step_episodes"] = step_episodes  # (the same steps)
    return dataset


def _tidy_runs(results: pd.DataFrame, order: np.ndarray | None) -> pd.DataFrame:
    """Run rows: model, task, run (1 when results.csv has none), the required columns, then
    the component columns results.csv has; sorted by model, task, run.

    ``order`` is the row order that sorts ``results`` by its key (``None``: sorted already),
    which the reader worked out from the key codes. ``results`` is used up: each column is
    moved out of it in turn, so that at most one column exists twice (a million rows of
    several columns would otherwise be held in both orders at the peak).
    """
    components = [c for c in COMPONENT_COLUMNS if c in results]
    n_rows = len(results)
    runs = {}
    for column in ["model", "task", RUN_COLUMN, *RESULTS_COLUMNS[2:], *components]:
        if column not in results:  # (no run column: one run per cell)
            runs[column] = np.ones(n_rows, dtype=np.int64)
            continue
        values = results.pop(column).to_numpy()
        values = values if order is None else values[order]
        # (Text stays object dtype: the frame constructor would infer pandas' str dtype.)
        runs[column] = pd.Series(values, dtype=object if values.dtype == object else None,
                                 copy=False)
    return pd.DataFrame(runs, copy=False)


def _runs_without_steps(results: pd.DataFrame, logged_runs: pd.DataFrame, file: str | None
                        ) -> list[Problem]:
    """The warning for runs of results.csv that have no episode in ``logged_runs`` (the step
    log's model, task and run, one row per episode)."""
    keys = ["model", "task", RUN_COLUMN]
    runs = results.assign(**({} if RUN_COLUMN in results else {RUN_COLUMN: 1}))[keys]
    logged = pd.MultiIndex.from_frame(logged_runs)
    missing = int((~pd.MultiIndex.from_frame(runs).isin(logged)).sum())
    if not missing:
        return []
    return [Problem(file or "steps", f"{missing} of {len(runs)} runs in results.csv have no "
                    "steps (left out of the step-log findings)")]


def _cross_check(results_reader: _FileReader, results: pd.DataFrame, other: pd.DataFrame,
                 column: str, other_file: str) -> np.ndarray:
    """Report results.csv names missing from ``other_file``; return the mask of ``other``'s
    rows that no result row names."""
    known = set(other[column].dropna())
    coded = results_reader.key_values(column)
    if coded is not None:
        # Compared once per distinct name, then spread to the rows by their codes.
        values, codes = coded
        distinct = pd.Series(values, dtype=object)
        unknown = _mask(distinct.notna() & ~distinct.isin(known))[codes]
    else:
        unknown = _mask(results[column].notna() & ~results[column].isin(known))
    results_reader.report_cells(unknown, results[column], column,
                                f"is not a {column} in {other_file}")
    named = _distinct_names(results_reader, results, column)
    return _mask(other[column].notna() & ~other[column].isin(named))


def _distinct_names(reader: _FileReader | None, frame: pd.DataFrame, column: str
                    ) -> np.ndarray:
    """The distinct non-missing values of text key column ``column`` of ``frame`` (read by
    ``reader``)."""
    coded = None if reader is None else reader.key_values(column)
    if coded is None:
        return np.asarray(frame[column].dropna().unique(), dtype=object)
    values, codes = coded
    used = np.bincount(codes, minlength=len(values)) > 0
    return np.asarray(pd.Series(values[used], dtype=object).dropna().unique(), dtype=object)


def _has(frame: pd.DataFrame | None, column: str) -> bool:
    return frame is not None and column in frame


def _tidy(frame: pd.DataFrame, spec: FileSpec) -> pd.DataFrame:
    """Declared columns in declared order (optional ones filled with missing), sorted by key."""
    columns: dict[str, pd.Series] = {}
    for c in spec.columns:
        if c.name in frame:
            columns[c.name] = frame[c.name]
        elif c.kind == "float":
            columns[c.name] = pd.Series(index=frame.index, dtype="float64")  # all missing
        else:
            columns[c.name] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    tidy = pd.DataFrame(columns)
    for c in spec.columns:
        if c.kind == "text":
            tidy[c.name] = tidy[c.name].astype(object)
    return tidy.sort_values(list(spec.key), kind="stable").reset_index(drop=True)


def _sorted_problems(problems: Sequence[Problem]) -> list[Problem]:
    """Unique problems by file (in :data:`FILE_SPECS` order), line, then column order."""
    file_order = {spec.name: i for i, spec in enumerate(FILE_SPECS)}
    column_order = {(spec.name, c.name): i for spec in FILE_SPECS
                    for i, c in enumerate(spec.columns)}
    unique = list(dict.fromkeys(problems))
    return sorted(
        unique,
        key=lambda p: (file_order.get(p.file, len(file_order)),
                       p.line if p.line is not None else 0,
                       column_order.get((p.file, p.column or ""), len(column_order))),
    )
