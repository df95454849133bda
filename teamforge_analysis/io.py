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
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

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
    """The data folder is not valid. ``problems`` lists every problem found, one per line."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
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

    def with_aggregate(self, aggregate: str) -> Dataset:
        """The same data with ``results`` re-made from ``runs`` by ``aggregate``."""
        from .runs import aggregate_runs

        if aggregate == self.aggregate:
            return self
        assert self.runs is not None
        return replace(self, results=aggregate_runs(self.runs, how=aggregate),
                       aggregate=aggregate)


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
class _FileReader:
    """Reads and checks one CSV file, collecting problems instead of stopping at the first."""

    def __init__(self, spec: FileSpec, raw: bytes) -> None:
        self.spec = spec
        self.raw = raw
        self.problems: list[Problem] = []
        self.warnings: list[str] = []
        self._lines: np.ndarray | None = None
        self._text: str | None = None

    # -- locating problems ------------------------------------------------------------------
    def problem(self, message: str, *, row: int | None = None, column: str | None = None,
                value: object = None) -> None:
        line = None if row is None else self.physical_line(row)
        shown = None if value is None else _show(value)
        self.problems.append(Problem(self.spec.name, message, line, column, shown))

    def physical_line(self, row: int) -> int:
        """Physical line (header = 1) of data row ``row`` (0-based, as pandas numbers it).

        Worked out only when a problem is reported, so clean files never pay for it.
        """
        if self._lines is None:
            self._lines = _record_start_lines(self._text or "")
        return int(self._lines[row]) if row < len(self._lines) else row + 2

    # -- reading ----------------------------------------------------------------------------
    def read(self) -> pd.DataFrame | None:
        name = self.spec.name
        if not self.raw.strip():
            self.problems.append(Problem(name, "is empty (expected a header line and data rows)"))
            return None
        if b"\x00" in self.raw:
            self.problems.append(Problem(name, "is not text (it contains NUL bytes)"))
            return None
        try:
            self._text = self.raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = self.raw[: exc.start].count(b"\n") + 1
            self.problems.append(
                Problem(name, f"is not UTF-8 text (byte 0x{self.raw[exc.start]:02x})", line=line)
            )
            return None

        header = self._header()
        if header is None:
            return None
        text_columns = {c.name: str for c in self.spec.columns if c.kind == "text"}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                frame = pd.read_csv(
                    io.StringIO(self._text),
                    dtype=text_columns,
                    keep_default_na=False,
                    na_values=[""],
                    skipinitialspace=False,
                )
        except (pd.errors.ParserError, ValueError) as exc:
            message = str(exc).strip().splitlines()[-1]
            self.problems.append(Problem(name, f"cannot be read as CSV ({message})"))
            return None
        frame.columns = header
        known = self.spec.by_name
        unknown = [c for c in header if c not in known]
        for column in unknown:
            self.warnings.append(f"{name}: ignoring unknown column {column!r}")
        frame = frame.drop(columns=unknown)
        if frame.empty:
            self.problems.append(Problem(name, "has a header but no data rows"))
            return None

        out = {}
        for spec in self.spec.columns:
            if spec.name in frame.columns:
                out[spec.name] = self._convert(frame[spec.name], spec)
        result = pd.DataFrame(out)
        self._check_keys(result)
        return result

    def _header(self) -> list[str] | None:
        assert self._text is not None
        first = next(csv.reader(io.StringIO(self._text)), [])
        header = [h.strip() for h in first]
        seen: set[str] = set()
        ok = True
        for column in header:
            if column == "":
                self.problems.append(Problem(self.spec.name, "has an unnamed column", line=1))
                ok = False
            elif column in seen:
                self.problems.append(
                    Problem(self.spec.name, f"column {column!r} appears more than once", line=1)
                )
                ok = False
            seen.add(column)
        for spec in self.spec.columns:
            if spec.required and spec.name not in seen:
                self.problems.append(
                    Problem(self.spec.name, f"missing column {spec.name!r}", line=1)
                )
                ok = False
        return header if ok else None

    # -- converting and checking columns ----------------------------------------------------
    def _convert(self, column: pd.Series, spec: ColumnSpec) -> pd.Series:
        if spec.kind == "text":
            values = column.astype(object).where(column.notna(), None)
            values = values.map(lambda v: v.strip() if isinstance(v, str) else v)
            blank = values.isna() | (values == "")
            values = values.where(~blank, None)
            if not spec.nullable:
                self.report(blank, column, "is blank", blank_value="")
            if spec.choices is not None:
                bad = ~blank & ~values.isin(spec.choices)
                self.report(bad, column, f"is not one of {', '.join(spec.choices)}")
            return values
        if spec.kind == "bool":
            return self._convert_bool(column, spec)

        blank = column.isna()
        numbers = column if pd.api.types.is_numeric_dtype(column.dtype) else None
        if numbers is None or pd.api.types.is_bool_dtype(column.dtype):
            stripped = column.astype(object).map(lambda v: v.strip() if isinstance(v, str) else v)
            blank = stripped.isna() | (stripped == "")
            numbers = pd.to_numeric(stripped.where(~blank, None), errors="coerce")
            not_number = numbers.isna() & ~blank
            self.report(not_number, column, "is not a number")
        numbers = numbers.astype("float64")
        if not spec.nullable:
            self.report(blank, column, "is blank", blank_value="")
        present = numbers.notna()
        finite = np.isfinite(numbers.to_numpy(dtype="float64", na_value=0.0))
        self.report(present & ~finite, column, "is not a finite number")
        checkable = present & finite
        fractional = checkable & (numbers != np.floor(numbers))
        if spec.kind == "int":
            self.report(fractional, column, "is not a whole number")
        if spec.lower is not None or spec.upper is not None:
            below = (numbers <= spec.lower) if spec.lower_open else (numbers < spec.lower)
            below = below if spec.lower is not None else False
            above = (numbers > spec.upper) if spec.upper is not None else False
            out_of_range = checkable & (below | above)
            self.report(out_of_range, column, _range_text(spec))
        if (spec.kind == "int" and not spec.nullable and not blank.any() and checkable.all()
                and not fractional.any()):  # 2.5 must not become 2 (a false duplicate key)
            return numbers.astype("int64")
        return numbers

    def _convert_bool(self, column: pd.Series, spec: ColumnSpec) -> pd.Series:
        if pd.api.types.is_bool_dtype(column.dtype):
            return column.astype(bool)
        words = column.astype(object).map(
            lambda v: v.strip().lower() if isinstance(v, str) else v
        )
        # Integers 1/0 (or floats 1.0/0.0) read by pandas as numbers.
        if pd.api.types.is_numeric_dtype(column.dtype):
            words = column.map(lambda v: "" if pd.isna(v) else format(v, "g"))
        blank = words.isna() | (words == "")
        is_true = words.isin(_TRUE_WORDS)
        is_false = words.isin(_FALSE_WORDS)
        if not spec.nullable:
            self.report(blank, column, "is blank", blank_value="")
        bad = ~blank & ~is_true & ~is_false
        self.report(bad, column, "is not a boolean (true/false, 1/0)")
        return is_true.astype(bool)

    def report(self, mask: pd.Series | bool, column: pd.Series, message: str,
               blank_value: str | None = None) -> None:
        """Report ``message`` for every cell of ``column`` where ``mask`` is true."""
        if isinstance(mask, bool) or not mask.any():
            return
        for row in np.flatnonzero(mask.to_numpy(dtype=bool)):
            value = blank_value if blank_value is not None else column.iloc[row]
            self.problem(message, row=int(row), column=str(column.name), value=value)

    def _check_keys(self, frame: pd.DataFrame) -> None:
        key = list(self.spec.key) + [c for c in self.spec.optional_key if c in frame.columns]
        if not all(k in frame.columns for k in key):
            return
        duplicated = frame.duplicated(subset=key, keep="first")
        if not duplicated.any():
            return
        first_row = frame.reset_index().groupby(key, sort=False)["index"].transform("min")
        for row in np.flatnonzero(duplicated.to_numpy()):
            value = ", ".join(str(frame.at[row, k]) for k in key)
            first_line = self.physical_line(int(first_row.iloc[row]))
            self.problem(
                f"repeats the {'/'.join(key)} of line {first_line}",
                row=int(row), column=key[-1] if len(key) == 1 else "/".join(key), value=value,
            )


def _show(value: object) -> str:
    return str(value)


def _range_text(spec: ColumnSpec) -> str:
    if spec.lower is not None and spec.upper is not None:
        return f"is not between {_fmt_bound(spec.lower)} and {_fmt_bound(spec.upper)}"
    if spec.lower is not None:
        relation = "greater than" if spec.lower_open else "at least"
        return f"is not {relation} {_fmt_bound(spec.lower)}"
    return f"is not at most {_fmt_bound(spec.upper)}"


def _fmt_bound(x: float | None) -> str:
    return format(x, "g")


def _record_start_lines(text: str) -> np.ndarray:
    """Physical start line of every non-blank data record (the header is line 1).

    pandas skips blank lines and lets quoted fields span lines, so row index + 2 is only right
    for simple files; the csv module tracks physical lines exactly.
    """
    reader = csv.reader(io.StringIO(text))
    starts: list[int] = []
    previous_end = 0
    for i, record in enumerate(reader):
        start = previous_end + 1
        previous_end = reader.line_num
        if i == 0:
            continue  # header
        if not record or (len(record) == 1 and not record[0].strip()):
            continue  # pandas skips blank lines
        starts.append(start)
    return np.asarray(starts, dtype=np.int64)


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
    from .runs import AGGREGATES, aggregate_runs
    from .steps import read_step_log, tidy_steps

    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {', '.join(AGGREGATES)}, not {aggregate!r}")
    folder = bundled_data_dir() if path is None else Path(path)
    if not folder.exists():
        raise DataValidationError([Problem(str(path), "data folder does not exist")])
    if not folder.is_dir():
        raise DataValidationError([Problem(str(path), "is a file, not a data folder")])

    problems: list[Problem] = []
    readers: dict[str, _FileReader] = {}
    frames: dict[str, pd.DataFrame | None] = {}
    hashes: dict[str, str] = {}
    for spec in (RESULTS_SPEC, MODELS_SPEC, TASKS_SPEC):
        file = folder / spec.name
        if not file.is_file():
            problems.append(Problem(spec.name, f"is missing from the data folder {folder.name!r}"))
            frames[spec.name] = None
            continue
        raw = file.read_bytes()
        hashes[spec.name] = hashlib.sha256(raw).hexdigest()
        readers[spec.name] = _FileReader(spec, raw)
        # A frame with bad cells is still used for the cross-file checks below.
        frames[spec.name] = readers[spec.name].read()

    results, models, tasks = (frames[s.name] for s in (RESULTS_SPEC, MODELS_SPEC, TASKS_SPEC))
    notes: list[str] = [w for r in readers.values() for w in r.warnings]

    if tasks is not None and "weight" in tasks:
        weights = tasks["weight"]
        if weights.notna().all() and np.isfinite(weights).all():
            total = math.fsum(weights)
            if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
                problems.append(
                    Problem("tasks.csv", f"weights sum to {total:.12g}, not 1", column="weight")
                )
    if results is not None and tasks is not None:
        results_reader, tasks_reader = readers[RESULTS_SPEC.name], readers[TASKS_SPEC.name]
        unknown = results["task"].notna() & ~results["task"].isin(set(tasks["task"].dropna()))
        results_reader.report(unknown, results["task"], "is not a task in tasks.csv")
        without_results = tasks["task"].notna() & ~tasks["task"].isin(set(results["task"]))
        tasks_reader.report(without_results, tasks["task"], "has no rows in results.csv")
    if results is not None and models is not None:
        known_models = set(models["model"].dropna())
        unknown = results["model"].notna() & ~results["model"].isin(known_models)
        readers[RESULTS_SPEC.name].report(unknown, results["model"], "is not a model in models.csv")
        unused = sorted(known_models - set(results["model"].dropna()))
        notes.extend(f"models.csv: model {m!r} has no rows in results.csv (ignored)"
                     for m in unused)
    if results is not None:
        components = [c for c in COMPONENT_COLUMNS if c in results.columns]
        if components and len(components) < len(COMPONENT_COLUMNS):
            absent = [c for c in COMPONENT_COLUMNS if c not in components]
            notes.append(f"results.csv: has the grader component column(s) "
                         f"{', '.join(components)} but not {', '.join(absent)}; score "
                         "components need all four")

    problems.extend(p for r in readers.values() for p in r.problems)
    step_log = read_step_log(folder, results if not problems else None)
    problems.extend(step_log.problems)
    notes.extend(step_log.warnings)
    if step_log.file is not None and step_log.sha256 is not None:
        hashes[step_log.file] = step_log.sha256
    steps = None
    if step_log.frame is not None and results is not None:
        steps = tidy_steps(step_log.frame)
        notes.extend(_runs_without_steps(results, steps, step_log.file))
    if strict and notes:
        problems.extend(Problem("warning", n) for n in notes)
    if problems:
        raise DataValidationError(_sorted_problems(problems))

    assert results is not None and models is not None and tasks is not None
    used_models = models[models["model"].isin(set(results["model"]))]
    runs = _tidy_runs(results)
    return Dataset(
        name=folder.resolve().name,
        results=aggregate_runs(runs, how=aggregate),
        models=_tidy(used_models, MODELS_SPEC),
        tasks=_tidy(tasks, TASKS_SPEC),
        files=dict(sorted(hashes.items())),
        warnings=tuple(notes),
        runs=runs,
        steps=steps,
        aggregate=aggregate,
    )


def _tidy_runs(results: pd.DataFrame) -> pd.DataFrame:
    """Run rows: model, task, run (1 when results.csv has none), the required columns, then
    the component columns results.csv has; sorted by model, task, run."""
    runs = results.copy()
    if RUN_COLUMN not in runs:
        runs[RUN_COLUMN] = np.ones(len(runs), dtype=np.int64)
    components = [c for c in COMPONENT_COLUMNS if c in runs]
    columns = ["model", "task", RUN_COLUMN, *RESULTS_COLUMNS[2:], *components]
    runs = runs[columns]
    for column in ("model", "task"):
        runs[column] = runs[column].astype(object)
    return runs.sort_values(["model", "task", RUN_COLUMN], kind="stable").reset_index(drop=True)


def _runs_without_steps(results: pd.DataFrame, steps: pd.DataFrame, file: str | None
                        ) -> list[str]:
    keys = ["model", "task", RUN_COLUMN]
    runs = results.assign(**({} if RUN_COLUMN in results else {RUN_COLUMN: 1}))[keys]
    logged = pd.MultiIndex.from_frame(steps[keys].drop_duplicates())
    missing = int((~pd.MultiIndex.from_frame(runs).isin(logged)).sum())
    if not missing:
        return []
    return [f"{file}: {missing} of {len(runs)} runs in results.csv have no steps "
            "(left out of the step-log findings)"]


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
    order = {RESULTS_SPEC.name: 0, MODELS_SPEC.name: 1, TASKS_SPEC.name: 2}
    unique = list(dict.fromkeys(problems))
    return sorted(
        unique,
        key=lambda p: (order.get(p.file, 3), p.line if p.line is not None else 0),
    )
