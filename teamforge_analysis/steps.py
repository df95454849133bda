"""Step logs: one row per agent step of every episode (one run of one model on one task).

A data folder may hold one step log, in one of three formats with the same columns:

``steps.jsonl``
    JSON Lines: one JSON object per line (blank lines are skipped).
``steps.csv``
    CSV with a header line.
``steps.parquet``
    Apache Parquet, read with pyarrow (the ``parquet`` extra).

Columns (:data:`STEP_COLUMNS`): ``model, task, run, step`` (whole numbers ≥ 1; ``run`` may be
left out when results.csv has no run column, and is then 1), ``action`` (one of
:data:`ACTIONS`), ``reward`` (a finite number: TeamForge's dense per-step reward) and,
optionally, ``phase`` (one of :data:`PHASES`), ``tests_passed`` and ``tests_total`` (whole
numbers ≥ 0, tests_passed ≤ tests_total).

Problems are reported like those of the CSV files, as :class:`~teamforge_analysis.io.Problem`
lines naming file, line, column and value. The *line* is the physical line for JSON Lines and
CSV (CSV's header is line 1); a Parquet file has no lines, so there it is the 1-based row
number (row index + 1). Besides bad cells, the log is checked for duplicate steps (the same
model, task, run and step twice) and for episodes that match no row of results.csv (reported
once per episode, at its first step).

:func:`episodes` summarises the log per episode (planning depth, total reward, reward slope,
first step with every test passing), and :func:`reward_curves` gives mean cumulative reward
against scaled step position; both are vectorised (groupby, no loop over episodes).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .io import (
    RUN_COLUMN,
    ColumnSpec,
    Dataset,
    DataValidationError,
    FileSpec,
    Problem,
    _checked_numbers,
    _FileReader,
)
from .runs import _in_key_order, sort_by_keys

__all__ = [
    "ACTIONS",
    "EPISODE_KEY",
    "EPISODE_SUMMARIES",
    "PHASES",
    "STEP_COLUMNS",
    "STEP_LOG_NAMES",
    "StepLog",
    "dataset_episodes",
    "episode_keys",
    "episodes",
    "find_step_log",
    "load_step_log",
    "read_step_log",
    "reward_curves",
]

#: TeamForge's eight action types.
ACTIONS: tuple[str, ...] = (
    "plan_step", "edit_file", "run_tests", "run_lint", "generate_review", "self_reflect",
    "request_iteration", "commit",
)
#: TeamForge's episode phases.
PHASES: tuple[str, ...] = ("planning", "coding", "testing", "reviewing", "reflecting", "done")
#: File names a step log may have, in the order they are looked for.
STEP_LOG_NAMES: tuple[str, ...] = ("steps.jsonl", "steps.csv", "steps.parquet")
#: An episode is one run of one model on one task.
EPISODE_KEY: tuple[str, ...] = ("model", "task", RUN_COLUMN)

STEPS_SPEC = FileSpec(
    "steps",
    key=(*EPISODE_KEY, "step"),
    columns=(
        ColumnSpec("model", "text"),
        ColumnSpec("task", "text"),
        # Required when results.csv has runs (checked in read_step_log).
        ColumnSpec(RUN_COLUMN, "int", required=False, lower=1),
        ColumnSpec("step", "int", lower=1),
        ColumnSpec("action", "text", choices=ACTIONS),
        ColumnSpec("reward", "float"),
        ColumnSpec("phase", "text", required=False, nullable=True, choices=PHASES),
        ColumnSpec("tests_passed", "int", required=False, nullable=True, lower=0),
        ColumnSpec("tests_total", "int", required=False, nullable=True, lower=0),
    ),
)
#: Columns of the step frame, in order (optional ones are filled with missing values).
STEP_COLUMNS: tuple[str, ...] = tuple(c.name for c in STEPS_SPEC.columns)


# ----------------------------------------------------------------------------------------------
# Reading: CSV with the loader's own reader, JSON Lines and Parquet through distinct values
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Coded:
    """A converted column: its values and, per row, the position of the row's value in them
    (``codes`` None: ``values`` holds one value per row)."""

    values: np.ndarray
    codes: np.ndarray | None = None

    @classmethod
    def of_rows(cls, values: np.ndarray) -> _Coded:
        return cls(values)

    def rows(self, order: np.ndarray | None = None) -> np.ndarray:
        """The value of every row, in ``order`` (file order when None)."""
        if self.codes is None:
            return self.values if order is None else self.values[order]
        return self.values[self.codes if order is None else self.codes[order]]

    def __len__(self) -> int:
        return len(self.values if self.codes is None else self.codes)

    def at(self, rows: np.ndarray) -> np.ndarray:
        """The values of the given rows (file order)."""
        return self.values[rows if self.codes is None else self.codes[rows]]

    def positions_in(self, index: pd.Index, rows: np.ndarray) -> np.ndarray:
        """Per given row, the position of its value in ``index`` (-1: not there), looking up
        each distinct value once."""
        if self.codes is None:
            return index.get_indexer(self.values[rows])
        return index.get_indexer(self.values)[self.codes[rows]]


class _CsvStepReader(_FileReader):
    """The loader's CSV reader; keys are checked by :func:`_checked_steps` instead (once the
    run column is known: it may be missing and then filled in)."""

    def _check_keys(self, frame: pd.DataFrame) -> None:
        pass

    def _typed_keys_distinct(self, key: list[str]) -> bool:
        return True

    def read_columns(self) -> dict[str, _Coded] | None:
        frame = self.read()
        if frame is None:
            return None
        return {str(name): _Coded.of_rows(frame[name].to_numpy()) for name in frame.columns}


class _RecordReader(_FileReader):
    """Reads a JSON Lines or Parquet step log, then checks it like a CSV file."""

    def __init__(self, spec: FileSpec, raw: bytes, file_format: str) -> None:
        super().__init__(spec, raw)
        self.format = file_format
        self.empty_message = "is empty (expected one JSON object per line)"
        self._lines: np.ndarray | None = None

    def physical_line(self, row: int) -> int:
        """JSON Lines: the physical line of record ``row``; Parquet: the row number (row + 1)."""
        if self.format == "parquet":
            return row + 1
        if self._lines is None:
            lines = (self._text or "").split("\n")
            self._lines = np.flatnonzero([bool(line.strip()) for line in lines]) + 1
        return int(self._lines[row]) if row < len(self._lines) else row + 1

    def read_columns(self) -> dict[str, _Coded] | None:
        """The known columns, converted and checked, or None when nothing could be read.

        Keys are not checked here: :func:`_checked_steps` does that once the run column is
        known (it may be missing and then filled in).
        """
        frame = self._parse_parquet() if self.format == "parquet" else self._parse_jsonl()
        if frame is None:
            return None
        name = self.spec.name
        known = self.spec.by_name
        for spec in self.spec.columns:
            if spec.required and spec.name not in frame.columns:
                self.problems.append(Problem(name, f"missing column {spec.name!r}"))
        unknown = [str(c) for c in frame.columns if c not in known]
        for column in unknown:
            self.warnings.append(Problem(name, "unknown column, ignored", column=column))
        frame = frame.drop(columns=unknown)
        if frame.empty:
            self.problems.append(Problem(name, "has no records"))
            return None
        if self.problems:
            return None
        frame = frame.reset_index(drop=True)
        return {spec.name: self._convert_distinct(frame[spec.name], spec)
                for spec in self.spec.columns if spec.name in frame.columns}

    def _convert_distinct(self, cells: pd.Series, spec: ColumnSpec) -> _Coded:
        """Convert and check a column through its distinct values, the loader's way.

        The loader's own conversion runs on the distinct values; when it finds a problem there,
        it runs again on every cell, so that problems are reported at their rows (as the loader
        reports them). Rows keep integer codes into the converted values, or their own values
        when those convert to themselves (numbers read as numbers).
        """
        cells = _flatten_nested(cells)
        if spec.kind == "text" and not pd.api.types.is_string_dtype(cells):
            # JSON numbers in a text column are read as their text, as CSV reads them.
            cells = cells.astype(object).where(cells.isna(), cells.astype(str))
        numbers = cells.dtype.kind in "iuf"
        if numbers and spec.kind in ("float", "int"):
            plain = _plain_numbers(cells.to_numpy(), spec)
            if plain is not None:
                return _Coded.of_rows(plain)
        if numbers:
            distinct = pd.unique(cells.to_numpy()).astype(object)
            codes = None
        elif isinstance(cells.dtype, pd.CategoricalDtype):
            # A Parquet text column comes as a Categorical: its codes are used as they are.
            codes = cells.cat.codes.to_numpy()
            distinct = np.asarray(cells.cat.categories, dtype=object)
        else:
            codes, uniques = pd.factorize(cells, use_na_sentinel=True)
            distinct = np.asarray(uniques, dtype=object)
        if codes is not None and (missing := codes < 0).any():
            codes = np.where(missing, len(distinct), codes.astype(np.intp))
            distinct = np.append(distinct, None)
        trial = _FileReader(self.spec, b"")  # collects the problems of the distinct values
        converted = trial._convert(pd.Series(distinct, dtype=object), spec).to_numpy()
        if trial.problems:
            return _Coded.of_rows(self._convert(cells, spec).to_numpy())
        if codes is not None:
            return _Coded(converted, codes)
        rows = cells.to_numpy()
        as_converted = distinct.astype(converted.dtype)
        if np.array_equal(converted, as_converted, equal_nan=converted.dtype.kind == "f"):
            return _Coded.of_rows(rows.astype(converted.dtype, copy=False))
        codes = pd.Index(distinct).get_indexer(rows)  # (rare: numbers that convert otherwise)
        return _Coded(converted, codes)

    def _parse_jsonl(self) -> pd.DataFrame | None:
        name = self.spec.name
        # The loader's own checks: UTF-16, NUL bytes, bytes that are not UTF-8, no content.
        if not self._decode():
            return None
        self._text = self.raw.decode("utf-8-sig")  # checked by _decode
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # precise_float: 0.0069 must stay 0.0069, as the CSV and Parquet readers keep it.
                frame = pd.read_json(io.StringIO(self._text), lines=True, dtype=False,
                                     convert_dates=False, keep_default_dates=False,
                                     precise_float=True)
        except (ValueError, TypeError):
            # The fast reader names no line; find the bad ones (only on this error path).
            self._locate_bad_json()
            return None
        if not isinstance(frame, pd.DataFrame):
            self.problems.append(Problem(name, "is not JSON Lines (one JSON object per line)"))
            return None
        return frame

    def _locate_bad_json(self) -> None:
        name = self.spec.name
        for number, line in enumerate((self._text or "").split("\n"), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                detail = exc.msg[:1].lower() + exc.msg[1:]
                message = f"is not valid JSON at column {exc.colno} ({detail})"
                self.problems.append(Problem(name, message, line=number))
                continue
            if not isinstance(record, dict):
                self.problems.append(
                    Problem(name, "is not a JSON object (expected one object per line)",
                            line=number)
                )
        if not self.problems:
            self.problems.append(Problem(name, "cannot be read as JSON Lines"))

    def _parse_parquet(self) -> pd.DataFrame | None:
        name = self.spec.name
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            self.problems.append(Problem(
                name, "needs pyarrow to be read (pip install 'teamforge-analysis[parquet]')"))
            return None
        # The system allocator while reading: pyarrow's default pool (mimalloc) keeps the
        # memory it frees, so the file's decoding buffers could not be reused for the arrays
        # made afterwards (the read's peak memory halves, and the later arrays need no fresh
        # pages). Set for the read only and restored.
        previous_pool = pa.default_memory_pool()
        pa.set_memory_pool(pa.system_memory_pool())
        try:
            # Text columns as dictionaries (codes into their distinct values): no string is
            # made per row, and the conversion reads the codes.
            text = [c.name for c in self.spec.columns if c.kind == "text"]
            table = pq.read_table(io.BytesIO(self.raw), read_dictionary=text)
            # One block per column (no copy into shared blocks), each freed on its own.
            return table.to_pandas(split_blocks=True)
        except Exception as exc:  # pyarrow raises several unrelated types for bad files
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self.problems.append(Problem(name, f"cannot be read as Parquet ({message})"))
            return None
        finally:
            pa.set_memory_pool(previous_pool)


def _plain_numbers(values: np.ndarray, spec: ColumnSpec) -> np.ndarray | None:
    """A number column read as numbers, converted as the loader converts its distinct values
    (whole numbers of an int column as int64, anything else as float64) when no cell is
    missing and every cell passes the column's checks; ``None`` otherwise (the distinct
    values then find and locate each problem). Checked on the array itself: hashing
    millions of numbers to find the distinct ones costs more than checking them all."""
    checked = _checked_numbers(values, spec, allow_missing=False)
    if checked is None:
        return None
    if spec.kind == "int" and checked[0]:
        return values.astype(np.int64, copy=False)
    return values.astype(np.float64, copy=False)


def _flatten_nested(column: pd.Series) -> pd.Series:
    """JSON arrays and objects in a cell become their JSON text, so they are reported as bad
    values instead of breaking the checks."""
    if column.dtype != object or pd.api.types.infer_dtype(column, skipna=True) in (
            "string", "integer", "floating", "mixed-integer-float", "boolean", "empty"):
        return column  # no arrays or objects (checked in C, without a Python loop)
    nested = column.map(lambda v: isinstance(v, list | dict))
    if not nested.any():
        return column
    return column.where(~nested, column[nested].map(json.dumps))


# ----------------------------------------------------------------------------------------------
# Finding, reading and checking the log
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StepLog:
    """What :func:`read_step_log` found: the frame (or None), problems, warnings, file hash."""

    frame: pd.DataFrame | None
    file: str | None = None
    sha256: str | None = None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def find_step_log(folder: Path) -> tuple[Path | None, list[Problem]]:
    """The folder's step log, or None; a problem when there is more than one."""
    found = [folder / n for n in STEP_LOG_NAMES if (folder / n).is_file()]
    if len(found) > 1:
        return None, [Problem(extra.name, f"is a second step log next to {found[0].name}; "
                              "keep only one") for extra in found[1:]]
    return (found[0] if found else None), []


def read_step_log(folder: Path, results: pd.DataFrame | None) -> StepLog:
    """Read and check the folder's step log against ``results`` (results.csv as read).

    ``results`` may be ``None`` (results.csv could not be read); the step log is then checked
    on its own. Problems are returned, not raised, so that :func:`~.io.load_dataset` can
    report them together with those of the other files. The frame is tidy (see
    :func:`tidy_steps`), or None when there is a problem.
    """
    file, problems = find_step_log(folder)
    if file is None:
        return StepLog(None, problems=problems)
    raw = file.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    reader = _step_reader(file, raw)
    frame = _checked_steps(reader, results)
    problems = [*problems, *reader.problems]
    return StepLog(None if problems else frame, file.name, sha, problems, reader.warnings)


def _step_reader(file: Path, raw: bytes) -> _CsvStepReader | _RecordReader:
    spec = replace(STEPS_SPEC, name=file.name)
    file_format = file.suffix.lstrip(".")
    return (_CsvStepReader(spec, raw) if file_format == "csv"
            else _RecordReader(spec, raw, file_format))


def _checked_steps(reader: _CsvStepReader | _RecordReader, results: pd.DataFrame | None
                   ) -> pd.DataFrame | None:
    """Read the log, check it (keys, test counts, episodes against ``results``) and return the
    tidy frame; None when there is a problem (in ``reader.problems``)."""
    columns = reader.read_columns()
    if columns is None:
        return None
    name = reader.spec.name
    n_rows = len(next(iter(columns.values())))
    if RUN_COLUMN not in columns:
        if results is not None and RUN_COLUMN in results.columns:
            reader.problems.append(Problem(
                name, f"missing column {RUN_COLUMN!r} (results.csv has a run column)"))
            return None
        columns[RUN_COLUMN] = _Coded(np.ones(1, dtype=np.int64), np.zeros(n_rows, dtype=np.intp))

    keys = None if reader.problems else _StepKeys.of(columns)
    if keys is None or keys.duplicated:
        # Report bad or repeated keys at their lines, the loader's way.
        _FileReader._check_keys(reader, _file_order_frame(columns))
    _check_test_counts(reader, columns)
    if results is not None and not reader.problems:
        assert keys is not None
        _check_episodes(reader, columns, keys, results)
    if reader.problems:
        return None
    assert keys is not None
    return _tidy_frame(columns, keys.order)


def _file_order_frame(columns: dict[str, _Coded]) -> pd.DataFrame:
    """The columns one value per row, in file order (to locate problems)."""
    ordered = [c.name for c in STEPS_SPEC.columns if c.name in columns]
    return pd.DataFrame({c: pd.Series(columns[c].rows(), copy=False) for c in ordered},
                        copy=False)


@dataclass(frozen=True)
class _StepKeys:
    """Where the log's episodes start, and the order that sorts it by model, task, run, step.

    Logs are written an episode at a time, steps in order: the rows then fall into blocks, one
    per episode, and sorting the blocks (a hundred thousand) sorts the rows (millions). Any
    other order is sorted row by row (``numpy.lexsort``). Keys compare through their ranks
    among the distinct converted values, so strings are compared only among distinct values.
    """

    starts: np.ndarray  # rows (file order) where a block of one episode starts
    order: np.ndarray | None  # rows in key order; None when the log is in order already
    duplicated: bool  # some model, task, run and step appear twice

    @classmethod
    def of(cls, columns: dict[str, _Coded]) -> _StepKeys | None:
        """None when a key column is missing (reported by the loader's key check)."""
        if not all(k in columns for k in STEPS_SPEC.key):
            return None
        episode_keys = [columns[k] for k in EPISODE_KEY]
        step = columns["step"].rows()  # (whole numbers: they sort as they are)
        n_rows = len(step)
        # A block starts where model, task or run differs from the row before, compared on
        # codes (equal codes mean equal values; two codes of one value only add a boundary).
        new_episode = np.ones(n_rows, dtype=bool)
        if n_rows > 1:
            new_episode[1:] = np.logical_or.reduce(
                [c[1:] != c[:-1] for c in (k.values if k.codes is None else k.codes
                                           for k in episode_keys)])
        starts = np.flatnonzero(new_episode)
        steps_rise = new_episode[1:] | (step[1:] > step[:-1])
        if steps_rise.all():
            # Each block holds its steps in order, none twice: sort the blocks by their keys'
            # ranks (among the keys of the blocks).
            block_ranks = [pd.factorize(k.at(starts), sort=True)[0] for k in episode_keys]
            sizes = [int(r.max()) + 1 for r in block_ranks]
            if math.prod(sizes) < 2**63:
                block_key = np.zeros(len(starts), dtype=np.int64)
                for rank, size in zip(block_ranks, sizes, strict=True):
                    block_key = block_key * size + rank
                if (block_key[1:] > block_key[:-1]).all():
                    return cls(starts, None, False)
                by_key = np.argsort(block_key, kind="stable")
                if (np.diff(block_key[by_key]) > 0).all():  # (else an episode is split)
                    return cls(starts, _block_order(starts, by_key, n_rows), False)
        ranks = [*(_ranks(k) for k in episode_keys), step]
        order = np.lexsort(ranks[::-1])
        ordered = [r[order] for r in ranks]
        same = np.logical_and.reduce([r[1:] == r[:-1] for r in ordered])
        in_order = bool((order == np.arange(n_rows)).all())
        return cls(starts, None if in_order else order, bool(same.any()))


def _ranks(column: _Coded) -> np.ndarray:
    """Per row, the rank of its value among the column's distinct values (equal values, equal
    ranks), as int32."""
    if column.codes is None:
        return pd.factorize(column.values, sort=True)[0].astype(np.int32)
    return pd.factorize(column.values, sort=True)[0].astype(np.int32)[column.codes]


def _block_order(starts: np.ndarray, by_key: np.ndarray, n_rows: int) -> np.ndarray:
    """Row order that puts blocks (starting at ``starts``) in the order ``by_key``."""
    lengths = np.diff(np.append(starts, n_rows))[by_key]
    first_row = starts[by_key]
    placed_at = np.cumsum(lengths) - lengths  # where each block starts once sorted
    return np.repeat(first_row - placed_at, lengths) + np.arange(n_rows)


def _check_test_counts(reader: _FileReader, columns: dict[str, _Coded]) -> None:
    if "tests_passed" not in columns or "tests_total" not in columns:
        return
    passed = columns["tests_passed"].rows().astype(float)
    total = columns["tests_total"].rows().astype(float)
    with np.errstate(invalid="ignore"):
        too_many = passed > total  # (missing values compare false)
    for row in np.flatnonzero(too_many):
        reader.problem(f"is more than tests_total ({_int_text(total[row])})", row=int(row),
                       column="tests_passed", value=_int_text(passed[row]))


def _check_episodes(reader: _FileReader, columns: dict[str, _Coded], keys: _StepKeys,
                    results: pd.DataFrame) -> None:
    """Report episodes that match no model/task/run of results.csv (once, at their first
    step). Compared on integer codes, at the first row of each block of one episode."""
    key = list(EPISODE_KEY)
    known = results.assign(**({} if RUN_COLUMN in results.columns else {RUN_COLUMN: 1}))[key]
    known_code = np.zeros(len(known), dtype=np.int64)
    known_ok = np.ones(len(known), dtype=bool)
    step_code = np.zeros(len(keys.starts), dtype=np.int64)
    matched = np.ones(len(keys.starts), dtype=bool)
    for k in key:
        # (run as float64, as results.csv's and the log's run may be read as either)
        values = known[k].astype("float64") if k == RUN_COLUMN else known[k]
        codes, distinct = pd.factorize(values)
        if k == RUN_COLUMN:
            found = pd.Index(distinct).get_indexer(
                columns[k].at(keys.starts).astype("float64"))
        else:
            found = columns[k].positions_in(pd.Index(distinct), keys.starts)
        size = max(len(distinct), 1)
        known_ok &= codes >= 0
        matched &= found >= 0
        known_code = known_code * size + codes
        step_code = step_code * size + found
        if size >= 2**21:  # three keys in one int64 could overflow: compare the columns
            matched[:] = False
            break
    if matched.all() and np.isin(step_code, known_code[known_ok]).all():
        return
    _report_unmatched(reader, _file_order_frame(columns), known)


def _report_unmatched(reader: _FileReader, frame: pd.DataFrame, known: pd.DataFrame) -> None:
    keys = list(EPISODE_KEY)
    known_index = pd.MultiIndex.from_frame(known.astype({RUN_COLUMN: "float64"}))
    episode = pd.MultiIndex.from_frame(frame[keys].astype({RUN_COLUMN: "float64"}))
    unmatched = ~episode.isin(known_index)
    if not unmatched.any():
        return
    bad = frame.loc[unmatched, keys]
    counts = bad.groupby(keys, sort=False, dropna=False).size()
    first_rows = bad.drop_duplicates(keys)
    for row, record in zip(first_rows.index, first_rows.itertuples(index=False), strict=True):
        n = int(counts.loc[tuple(record)])
        others = ("" if n == 1 else " (nor does its other step)" if n == 2
                  else f" (nor do its {n - 1} other steps)")
        value = f"{record.model}, {record.task}, {_int_text(record.run)}"
        reader.problem(f"matches no model/task/run of results.csv{others}", row=int(row),
                       column="/".join(keys), value=value)


def _int_text(value: Any) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else str(value)


def _tidy_frame(columns: dict[str, _Coded], order: np.ndarray | None) -> pd.DataFrame:
    """Declared columns in order (optional ones missing-filled), rows in ``order``.

    Text columns are made once, from their distinct values, in their final order. Takes the
    columns out of ``columns`` one by one, so that each read column is freed once its tidy
    one is made (the next one can reuse its memory).
    """
    n_rows = len(columns[RUN_COLUMN])
    out: dict[str, pd.Series] = {}
    for c in STEPS_SPEC.columns:
        column = columns.pop(c.name, None)
        if column is not None:
            values = column.rows(order)
            del column
        elif c.kind == "text":
            values = np.full(n_rows, None, dtype=object)
        else:
            values = pd.Series(index=range(n_rows), dtype="float64").to_numpy()  # missing
        # copy=False: the arrays are new or no longer used by anything else; dtype=object
        # keeps pandas from inferring its str dtype.
        out[c.name] = pd.Series(values, dtype=object if c.kind == "text" else None, copy=False)
    return pd.DataFrame(out, copy=False)


def tidy_steps(frame: pd.DataFrame) -> pd.DataFrame:
    """Declared columns in order (optional ones missing-filled), sorted by model, task, run, step.

    A frame that is tidy already (as :func:`read_step_log` returns it) is returned as it is,
    after a check of its order by comparing neighbouring rows. Otherwise sorting uses
    integer codes (``numpy.lexsort``), which stays fast on millions of rows.
    """
    if _is_tidy(frame):
        return frame.reset_index(drop=True)  # (no copy of the data: pandas copies on write)
    n = len(frame)
    columns: dict[str, Any] = {}
    for c in STEPS_SPEC.columns:
        if c.name in frame:
            columns[c.name] = frame[c.name].to_numpy()
        elif c.kind == "text":
            columns[c.name] = np.full(n, None, dtype=object)
        else:
            columns[c.name] = pd.Series(index=range(n), dtype="float64").to_numpy()  # missing
        if c.kind == "text":
            # An object Series: from a bare array pandas would infer its str dtype, a pass over
            # every cell, which astype(object) below would then undo with another.
            columns[c.name] = pd.Series(columns[c.name], dtype=object, copy=False)
    tidy = pd.DataFrame(columns)
    for c in STEPS_SPEC.columns:
        if c.kind == "text":
            tidy[c.name] = tidy[c.name].astype(object)
    return sort_by_keys(tidy, ["model", "task", RUN_COLUMN, "step"])


def _is_tidy(frame: pd.DataFrame) -> bool:
    """Declared columns in declared order, text as object, rows in key order."""
    if tuple(frame.columns) != STEP_COLUMNS:
        return False
    if any(c.kind == "text" and frame[c.name].dtype != object for c in STEPS_SPEC.columns):
        return False
    return _in_key_order(frame, list(STEPS_SPEC.key))


def load_step_log(path: str | Path, *, results: pd.DataFrame | None = None) -> pd.DataFrame:
    """Load and check one step log file on its own.

    Parameters
    ----------
    path
        A ``steps.jsonl``, ``steps.csv`` or ``steps.parquet`` file (any file name with one of
        those suffixes).
    results
        Optional results frame (with or without a ``run`` column) to check episodes against.

    Returns
    -------
    pandas.DataFrame
        The tidy step frame (:data:`STEP_COLUMNS`, sorted by model, task, run, step).

    Raises
    ------
    DataValidationError
        With every problem found.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "log.jsonl").write_text(
    ...     '{"model": "m", "task": "t", "step": 1, "action": "plan_step", "reward": 0.1}\\n')
    >>> load_step_log(folder / "log.jsonl")[["model", "run", "step", "action"]]
      model  run  step     action
    0     m    1     1  plan_step
    """
    file = Path(path)
    suffix = file.suffix.lstrip(".")
    if suffix not in ("jsonl", "csv", "parquet"):
        raise DataValidationError([Problem(file.name, "is not a .jsonl, .csv or .parquet file")])
    if not file.is_file():
        raise DataValidationError([Problem(file.name, "does not exist")])
    reader = _step_reader(file, file.read_bytes())
    frame = _checked_steps(reader, results)
    if reader.problems or frame is None:
        raise DataValidationError(reader.problems)
    return frame


# ----------------------------------------------------------------------------------------------
# Per-episode summaries
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Episodes:
    """Episode number of every step of a sorted step frame, and each episode's extent."""

    starts: np.ndarray  # bool per step: the first step of its episode
    code: np.ndarray  # episode number per step, 0, 1, ...
    count: int
    n_steps: np.ndarray  # per episode
    first: np.ndarray  # first step number, per episode
    last: np.ndarray  # last step number, per episode

    def position(self, step: np.ndarray, *, single: float) -> np.ndarray:
        """(step − first) / (last − first) per step; ``single`` for one-step episodes."""
        span = self.last - self.first
        spread = span > 0
        # In place on one new array (millions of steps): the same operations, the same bits.
        position = self.first[self.code]
        np.subtract(step, position, out=position)
        np.divide(position, np.where(spread, span, 1.0)[self.code], out=position)
        if not spread.all():
            position[~spread[self.code]] = single
        return position


def _episode_starts(steps: pd.DataFrame) -> np.ndarray:
    """Per step, whether it is its episode's first (the frame is sorted by episode, so an
    episode starts wherever a key changes)."""
    starts = np.zeros(len(steps), dtype=bool)
    starts[:1] = True
    if len(steps) > 1:
        # Column by column: one array of the three keys would be an object array.
        for key in EPISODE_KEY:
            values = steps[key].to_numpy()
            starts[1:] |= values[1:] != values[:-1]
    return starts


def episode_keys(steps: pd.DataFrame) -> pd.DataFrame:
    """The episodes of a tidy step frame: ``model, task, run``, one row each, in order.

    The rows of ``steps[["model", "task", "run"]].drop_duplicates()`` for a frame sorted by
    model, task, run, step (as ``Dataset.steps`` is), found by comparing neighbouring rows
    rather than by hashing every step's keys.

    Examples
    --------
    >>> log = pd.DataFrame({"model": "m", "task": ["t", "t", "u"], "run": 1,
    ...                     "step": [1, 2, 1]})
    >>> episode_keys(log).to_dict("records")
    [{'model': 'm', 'task': 't', 'run': 1}, {'model': 'm', 'task': 'u', 'run': 1}]
    """
    return steps.loc[_episode_starts(steps), list(EPISODE_KEY)].reset_index(drop=True)


def _episodes_of(steps: pd.DataFrame) -> _Episodes:
    """The episodes of a tidy step frame."""
    starts = _episode_starts(steps)
    code = np.cumsum(starts, dtype=np.intp)
    code -= 1
    first_rows = np.flatnonzero(starts)
    count = len(first_rows)
    step = steps["step"].to_numpy(dtype=float)
    # Episodes are runs of rows (a new number at each key change): reduce each run.
    first = np.minimum.reduceat(step, first_rows) if count else np.empty(0)
    last = np.maximum.reduceat(step, first_rows) if count else np.empty(0)
    n_steps = np.diff(np.append(first_rows, len(steps)))
    return _Episodes(starts, code, count, n_steps, first, last)


#: The per-episode summaries :func:`episodes` can compute.
EPISODE_SUMMARIES: tuple[str, ...] = (
    "planning_depth", "total_reward", "reward_slope", "first_full_pass_step")


def episodes(steps: pd.DataFrame, runs: pd.DataFrame | None = None,
             tasks: pd.DataFrame | None = None, *,
             summaries: Sequence[str] = EPISODE_SUMMARIES) -> pd.DataFrame:
    """One row per episode of a tidy step frame, with what the step-log findings use.

    Parameters
    ----------
    steps
        A tidy step frame (``Dataset.steps``), sorted by model, task, run, step.
    runs
        Optional run rows (``Dataset.runs``) to add each episode's ``score`` and ``passed``.
    tasks
        Optional tasks frame to add each episode's ``difficulty``.
    summaries
        Which of :data:`EPISODE_SUMMARIES` to compute (default: all); on millions of steps,
        leaving out what is not needed saves a pass or several over the steps.

    Returns
    -------
    pandas.DataFrame
        ``model, task, run``, ``n_steps``, ``first_step``, ``last_step``, ``planning_depth``
        (number of plan_step actions, 0 when none), ``total_reward`` (sum of rewards),
        ``reward_slope`` (least-squares slope of reward against the position
        (step − first) / (last − first); NaN for one-step episodes), ``first_full_pass_step``
        (first step with tests_passed = tests_total > 0; NaN when never), then ``score``,
        ``passed`` and ``difficulty`` when ``runs`` and ``tasks`` are given. (Only the
        ``summaries`` asked for, in this order.)

    Examples
    --------
    >>> log = pd.DataFrame({"model": "m", "task": "t", "run": 1, "step": [1, 2, 3],
    ...                     "action": ["plan_step", "edit_file", "commit"],
    ...                     "reward": [0.0, 0.5, 1.0], "tests_passed": [0, 2, 3],
    ...                     "tests_total": [3, 3, 3]})
    >>> episodes(log)[["planning_depth", "total_reward", "reward_slope",
    ...                "first_full_pass_step"]].to_dict("records")
    [{'planning_depth': 1, 'total_reward': 1.5, 'reward_slope': 1.0, 'first_full_pass_step': 3.0}]
    """
    return _episode_table(steps, _episodes_of(steps), runs, tasks, summaries=summaries)


def _episode_table(steps: pd.DataFrame, ep: _Episodes, runs: pd.DataFrame | None = None,
                   tasks: pd.DataFrame | None = None, *,
                   summaries: Sequence[str] = EPISODE_SUMMARIES) -> pd.DataFrame:
    """:func:`episodes` with the episodes of ``steps`` already found (``_episodes_of``)."""
    unknown = sorted(set(summaries) - set(EPISODE_SUMMARIES))
    if unknown:
        raise ValueError(f"unknown episode summaries {unknown}; choose from "
                         f"{', '.join(EPISODE_SUMMARIES)}")
    keys = list(EPISODE_KEY)
    out = steps.loc[ep.starts, keys].reset_index(drop=True)
    out["n_steps"] = ep.n_steps.astype(np.int64)
    out["first_step"] = ep.first.astype(np.int64)
    out["last_step"] = ep.last.astype(np.int64)
    computed = {"planning_depth": _planning_depth, "total_reward": _total_reward,
                "reward_slope": _reward_slope, "first_full_pass_step": _first_full_pass_step}
    for name in EPISODE_SUMMARIES:
        if name in summaries:
            out[name] = computed[name](steps, ep)
    if runs is not None:
        out = _with_run_results(out, runs[[*keys, "score", "passed"]])
    if tasks is not None:
        out["difficulty"] = out["task"].map(tasks.set_index("task")["difficulty"])
    return out


def dataset_episodes(dataset: Dataset, *, with_runs: bool = False, with_tasks: bool = False,
                     summaries: Sequence[str] = EPISODE_SUMMARIES) -> pd.DataFrame:
    """:func:`episodes` of ``dataset.steps`` (which must be present), with its runs' score
    and passed (``with_runs``) and its tasks' difficulty (``with_tasks``); the episodes are
    found once per Dataset (``Dataset.step_episodes``), for every finding and figure."""
    assert dataset.steps is not None
    return _episode_table(dataset.steps, dataset.step_episodes,
                          dataset.runs if with_runs else None,
                          dataset.tasks if with_tasks else None, summaries=summaries)


def _with_run_results(table: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """``table`` (one row per episode) with each episode's run's score and passed: a left
    merge on the episode key, or, when every run has steps and both are in key order (as
    Dataset.runs and a tidy step log are), the same columns side by side."""
    keys = list(EPISODE_KEY)
    if len(runs) == len(table) and all(
            np.array_equal(table[k].to_numpy(), runs[k].to_numpy()) for k in keys):
        return table.assign(score=runs["score"].to_numpy(), passed=runs["passed"].to_numpy())
    return table.merge(runs, on=keys, how="left", validate="1:1")


def _planning_depth(steps: pd.DataFrame, ep: _Episodes) -> np.ndarray:
    # (numpy's == on the object array: pandas' is several times slower on millions of rows)
    is_plan = steps["action"].to_numpy() == "plan_step"
    return np.bincount(ep.code, is_plan.astype(float), ep.count).astype(np.int64)


def _total_reward(steps: pd.DataFrame, ep: _Episodes) -> np.ndarray:
    return np.bincount(ep.code, steps["reward"].to_numpy(dtype=float), ep.count)


def _reward_slope(steps: pd.DataFrame, ep: _Episodes) -> np.ndarray:
    episode, n_episodes, n_steps = ep.code, ep.count, ep.n_steps
    reward = steps["reward"].to_numpy(dtype=float)
    position = ep.position(steps["step"].to_numpy(dtype=float), single=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_position = np.bincount(episode, position, n_episodes) / n_steps
        mean_reward = np.bincount(episode, reward, n_episodes) / n_steps
        # dx = position - mean, dy = reward - mean, then dx * dy and dx * dx, each made in
        # place over a step-long array (the same operations as new arrays, fewer pages).
        dx = np.subtract(position, mean_position[episode], out=position)
        dy = mean_reward[episode]
        np.subtract(reward, dy, out=dy)
        sxy = np.bincount(episode, np.multiply(dx, dy, out=dy), n_episodes)
        sxx = np.bincount(episode, np.multiply(dx, dx, out=dy), n_episodes)
        # One-step episodes have no slope (missing).
        return pd.Series(sxy / np.where(sxx > 0, sxx, 1)).where(n_steps >= 2).to_numpy()


def _first_full_pass_step(steps: pd.DataFrame, ep: _Episodes) -> np.ndarray:
    full_pass_step = np.full(ep.count, np.inf)
    if "tests_passed" in steps and "tests_total" in steps:
        step = steps["step"].to_numpy(dtype=float)
        passed_tests = steps["tests_passed"].to_numpy(dtype=float)
        total_tests = steps["tests_total"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            full = (total_tests > 0) & (passed_tests == total_tests)
        np.minimum.at(full_pass_step, ep.code[full], step[full])
    # Episodes that never pass every test have no such step (missing).
    return pd.Series(full_pass_step).where(np.isfinite(full_pass_step)).to_numpy()


def reward_curves(steps: pd.DataFrame, tasks: pd.DataFrame, *, bins: int = 10) -> pd.DataFrame:
    """Mean cumulative reward against scaled step position, per difficulty level.

    Each step's position in its episode is (step − first) / (last − first), in [0, 1] (a
    one-step episode sits at 1). Positions are cut into ``bins`` equal bins; within a bin each
    episode contributes the mean of its cumulative reward there, and episodes are averaged
    with equal weight (long episodes do not count more).

    Returns
    -------
    pandas.DataFrame
        Long form: ``difficulty``, ``position`` (bin centre), ``mean_cumulative_reward``,
        ``episodes`` (how many episodes have a step in the bin).

    Examples
    --------
    >>> log = pd.DataFrame({"model": "m", "task": "t", "run": 1, "step": [1, 2, 3],
    ...                     "action": "edit_file", "reward": [1.0, 1.0, 1.0]})
    >>> tasks = pd.DataFrame({"task": ["t"], "difficulty": ["easy"]})
    >>> reward_curves(log, tasks, bins=2)["mean_cumulative_reward"].tolist()
    [1.0, 2.5]
    """
    ep = _episodes_of(steps)
    episode = ep.code
    position = ep.position(steps["step"].to_numpy(dtype=float), single=1.0)
    cumulative = pd.Series(steps["reward"].to_numpy(dtype=float)).groupby(episode).cumsum()
    bin_index = np.minimum((position * bins).astype(np.int64), bins - 1)
    difficulty = steps["task"].map(tasks.set_index("task")["difficulty"]).to_numpy()
    per_episode = pd.DataFrame({"difficulty": difficulty, "episode": episode, "bin": bin_index,
                                "cumulative": cumulative.to_numpy()})
    per_episode = per_episode.groupby(["difficulty", "episode", "bin"], sort=False)[
        "cumulative"].mean().reset_index()
    curves = per_episode.groupby(["difficulty", "bin"], sort=True)["cumulative"].agg(
        ["mean", "size"]).reset_index()
    return pd.DataFrame({
        "difficulty": curves["difficulty"].astype(object),
        "position": (curves["bin"].to_numpy() + 0.5) / bins,
        "mean_cumulative_reward": curves["mean"].to_numpy(dtype=float),
        "episodes": curves["size"].to_numpy(dtype=np.int64),
    })
