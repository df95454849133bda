"""Check input tables against :mod:`.schema`: cells, keys, and the rules across files.

The one validation behind files (read by :mod:`.io`) and DataFrames. A column is checked
through its distinct values, then spread to the rows by their codes. Problems are found by
row position and named as the user sees the row: a file's physical line or a frame's index.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import schema
from .schema import RUN_COLUMN, Column, Table

__all__ = ["Cells", "DataValidationError", "Input", "Problem", "check", "printable", "show",
           "tidy"]

Message = str | Callable[[str], str]  # (a callable words it from the value)
_TRUE, _FALSE = frozenset({"true", "1"}), frozenset({"false", "0"})
_CONTROL = r"[\x00-\x1f\x7f-\x9f]"
#: Whole numbers from here on are not exact in float64: rejected.
_MAX_EXACT = 2**53
#: Values (and header names) longer than this are cut in messages.
MAX_SHOWN = 60


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: ``line`` is a file's physical line (``unit`` "line"),
    a frame's index label (``unit`` "row") or a JSON key path (``unit`` "key")."""

    file: str
    message: str
    line: int | str | None = None
    column: str | None = None
    value: str | None = None
    unit: str = "line"

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file} {self.unit} {self.line}"
        if self.column is not None:
            where += f"{', ' if self.line is not None else ' '}column {show(self.column)}"
        if self.value is not None:
            shown = self.value if self.value.strip() else repr(self.value)
            return f"{where}: {shown} {self.message}"
        return f"{where}: {self.message}"


class DataValidationError(ValueError):
    """The input is not valid. ``problems`` lists every problem found, one per line;
    ``warnings`` the non-fatal remarks, which often explain the errors (a renamed model)."""

    def __init__(self, problems: Iterable[Problem], warnings: Iterable[str] = ()) -> None:
        self.problems: list[Problem] = list(problems)
        self.warnings: list[str] = list(warnings)
        super().__init__("\n".join(str(p) for p in self.problems))


def printable(text: str) -> str:
    """``text`` with the bytes of a file name that are not UTF-8 escaped (``\\xff``)."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def show(value: object, limit: int | None = MAX_SHOWN) -> str:
    """A value for a one-line message: control characters and bytes that are not UTF-8
    escaped, values longer than ``limit`` cut."""
    text = printable(str(value))
    if not text.isprintable():
        text = repr(text)[1:-1]
    return text if limit is None or len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Cells:
    """A column as distinct ``values`` and, per row, its value's position (``codes`` None:
    one value per row). Text and mixed cells are factorized; number columns kept as they are."""

    values: np.ndarray
    codes: np.ndarray | None = None

    @classmethod
    def of(cls, cells: pd.Series | np.ndarray) -> Cells:
        series = pd.Series(cells, copy=False)
        if series.dtype.kind in "iufb":
            return cls(series.to_numpy())
        series = series.astype(object)
        if pd.api.types.infer_dtype(series, skipna=False) not in ("string", "empty"):
            # Missing (None, NaN, NA) is blank; anything else its text (a boolean "True").
            series = series.astype(str).where(series.notna(), "")
        codes, uniques = pd.factorize(series)
        return cls(np.asarray(uniques, dtype=object), codes)

    def rows(self, per_value: np.ndarray) -> np.ndarray:
        return per_value if self.codes is None else per_value[self.codes]

    def __getitem__(self, row: int) -> object:
        return self.values[row if self.codes is None else self.codes[row]]


@dataclass
class Input:
    """One table to check: header names, cells in header order (None: a column of a type that
    holds no values, already reported), and what names a row position: a frame's index
    ``labels`` (``unit`` "row") or a file's physical lines, header first (0: none), which
    ``find`` gives when first asked. :func:`check` adds the typed ``frame`` (rows as given),
    the ``order`` that sorts it by key (None: sorted) and its key columns' codes and names."""

    table: Table
    file: str
    names: list[str]
    cells: list[Cells | None]
    n_rows: int
    labels: Sequence | None = None
    unit: str = "row"
    find: Callable[[], Sequence] = list
    no_rows: str = "has a header but no data rows"
    problems: list[tuple[int | None, Problem]] = field(default_factory=list)
    warnings: list[tuple[int | None, Problem]] = field(default_factory=list)
    frame: pd.DataFrame | None = None
    order: np.ndarray | None = None
    codes: dict[str, np.ndarray] = field(default_factory=dict)  # (sorted ranks, per row)
    used: dict[str, np.ndarray] = field(default_factory=dict)  # (distinct names in rows)

    @classmethod
    def of_frame(cls, table: Table, frame: pd.DataFrame, file: str | None = None) -> Input:
        if not isinstance(frame, pd.DataFrame):
            raise ValueError(f"{table.name} must be a pandas DataFrame, not "
                             f"{type(frame).__name__}")
        cells = [Cells.of(frame.iloc[:, i]) for i in range(frame.shape[1])]
        return cls(table, file or table.name, [str(c) for c in frame.columns], cells,
                   len(frame), frame.index)

    def label(self, position: int) -> int | str | None:
        """The row at ``position`` as the user sees it (-1: the header)."""
        if self.labels is None:
            self.labels = self.find()
        at = position + 1 if self.unit == "line" else position
        if not 0 <= at < len(self.labels):
            return None
        label = self.labels[at]
        label = label.item() if isinstance(label, np.generic) else label
        return None if self.unit == "line" and label == 0 else label

    def add(self, message: str, position: int | None = None, column: str | None = None,
            value: object = None, *, warn: bool = False) -> None:
        line = None if position is None else self.label(position)
        shown = None if value is None else show(str(value).strip())
        problem = Problem(self.file, message, line, column, shown, self.unit)
        (self.warnings if warn else self.problems).append((position, problem))

    def failing(self, mask: np.ndarray, column: str, message: Message,
                values: Sequence | None = None) -> None:
        for row in np.flatnonzero(mask):
            value = None if values is None else values[row]
            text = None if value is None else str(value).strip()
            self.add(message(text or "") if callable(message) else message, int(row), column,
                     text)


# -- one column --------------------------------------------------------------------------------
def _convert(cells: Cells, col: Column, key: bool) -> tuple[np.ndarray, np.ndarray,
                                                               list[tuple[np.ndarray, Message]]]:
    """Per distinct value: the converted value (NaN/None: missing), whether blank, and the
    masks of values failing each check with its message."""
    raw, checks = cells.values, []
    numeric = raw.dtype.kind in "iufb" and col.kind != "text"
    if numeric:
        blank = np.isnan(raw.astype(float))
    else:
        series = pd.Series(raw, dtype=object)
        text = series.astype(str).str.strip().where(series.notna(), "")
        blank = (text == "").to_numpy()
    if col.kind == "text":
        if key:
            checks.append(((text.str.contains(_CONTROL) & ~blank).to_numpy(),
                           "contains a line break or another control character"))
        if col.choices is not None:
            checks.append((~blank & ~text.isin(col.choices).to_numpy(),
                           f"is not one of {', '.join(col.choices)}"))
        return np.where(blank, None, text.to_numpy(dtype=object)), blank, checks
    if col.kind == "bool":
        if numeric:
            values = raw.astype(float)
            ok = blank | (values == 0) | (values == 1)
        else:
            words = text.str.lower()
            values = words.isin(_TRUE).to_numpy().astype(float)
            ok = blank | words.isin(_TRUE | _FALSE).to_numpy()
        return _where(ok & ~blank, values), blank, [(~ok, "is not a boolean (true/false, 1/0)")]
    if not numeric:
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
        checks.append((~blank & np.isnan(values),
                       _percent if col.upper == 1.0 else "is not a number"))
    else:
        values = raw.astype(float)
        if raw.dtype.kind == "b":  # (a boolean is not a number)
            checks.append((np.ones(len(raw), bool), "is not a number"))
        elif raw.dtype.kind in "iu" and col.kind == "int":  # (before float64 rounds them)
            checks.append(((raw >= _MAX_EXACT) | (raw <= -_MAX_EXACT), "is too large"))
    ok = ~blank & ~np.logical_or.reduce([m for m, _ in checks])
    values = _where(ok, values)
    finite = np.isfinite(values)
    checks.append((ok & ~finite, "is not a finite number"))
    if col.kind == "int":
        fraction = finite & (values != np.floor(values))
        checks.append((fraction, "is not a whole number"))
        checks.append((finite & ~fraction & (np.abs(values) >= _MAX_EXACT), "is too large"))
    low = values <= col.lower if col.lower_open else values < col.lower
    limit = (f"between {col.lower:g} and {col.upper:g}" if col.upper < math.inf else
             f"{'greater than' if col.lower_open else 'at least'} {col.lower:g}")
    checks.append((finite & (low | (values > col.upper)), f"is not {limit}"))
    bad = np.logical_or.reduce([m for m, _ in checks])
    return _where(~bad & ~blank, values), blank, checks


def _where(keep: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` as float64, missing where ``keep`` is false."""
    return pd.Series(values, dtype="float64").where(keep).to_numpy()


def _percent(value: str) -> str:
    number = pd.to_numeric(value.removesuffix("%").strip(), errors="coerce")
    if value.endswith("%") and not pd.isna(number):
        return f"is a percentage; write it as a number between 0 and 1 ({number / 100:g})"
    return "is not a number"


def _typed(values: np.ndarray, col: Column) -> np.ndarray | pd.api.extensions.ExtensionArray:
    """Row values as the Dataset holds them (int64/bool when nothing is missing)."""
    if col.kind == "text":
        return values
    missing = np.isnan(values)
    if col.kind == "int" and not missing.any():
        return values.astype(np.int64)
    if col.kind == "bool":
        return values == 1 if not missing.any() else pd.array(
            np.where(missing, None, values == 1), dtype="boolean")
    return values


# -- one table ---------------------------------------------------------------------------------
def _header(inp: Input) -> dict[str, int]:
    """Position of every known column named once; problems for the others."""
    known = inp.table.by_name
    names = [str(n).strip() for n in inp.names]
    if len(names) == 1 and names[0] not in known and (";" in names[0] or "\t" in names[0]):
        separator = "';'" if ";" in names[0] else "tabs"
        inp.add(f"the header looks separated by {separator}; columns must be separated "
                "by commas", -1)
        return {}
    where: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        where.setdefault(name, []).append(i)
    for i in where.pop("", []):
        inp.add(f"column {i + 1} of the header has no name", -1)
    for name, at in where.items():
        if name not in known:
            inp.add("unknown column, ignored", -1, name, warn=True)
        elif len(at) > 1:
            inp.add(f"appears {len(at)} times in the header", -1, name)
    lowered = {n.lower(): n for n in where}
    for col in inp.table.columns:
        if col.required and col.name not in where:
            near = lowered.get(col.name.lower())
            hint = f" (found '{show(near)}'; names are case-sensitive)" if near else ""
            inp.add(f"missing column {col.name!r}{hint}", -1)
    return {n: at[0] for n, at in where.items()
            if n in known and len(at) == 1 and inp.cells[at[0]] is not None}


def _check_table(inp: Input) -> None:
    if inp.n_rows == 0:
        inp.add(inp.no_rows)
        return
    at, columns = _header(inp), {}
    for col in (c for c in inp.table.columns if c.name in at):
        cells = inp.cells[at[col.name]]
        values, blank, checks = _convert(cells, col, col.name in inp.table.key)
        if not col.blank_ok and blank.any():
            inp.failing(cells.rows(blank), col.name, "is blank")
        for mask, message in checks:
            if mask.any():
                inp.failing(cells.rows(mask), col.name, message, cells)
        if col.name in inp.table.key:
            inp.codes[col.name] = cells.rows(pd.factorize(values, sort=True)[0].astype(np.int32))
            used = values if cells.codes is None else values[np.bincount(
                cells.codes, minlength=len(values)) > 0]
            inp.used[col.name] = pd.unique(used[pd.notna(used)])
        columns[col.name] = pd.Series(_typed(cells.rows(values), col),
                                      dtype=object if col.kind == "text" else None, copy=False)
    inp.frame = pd.DataFrame(columns, index=pd.RangeIndex(inp.n_rows), copy=False)
    if inp.table is schema.STEPS and RUN_COLUMN not in columns and "task" in columns:
        inp.frame.insert(inp.frame.columns.get_loc("task") + 1, RUN_COLUMN, 1)
    if all(k in inp.codes for k in inp.table.key if k != RUN_COLUMN):
        inp.order = _check_keys(inp)


def _check_keys(inp: Input) -> np.ndarray | None:
    """Repeated keys reported; the stable order that sorts the rows by key (None: sorted)."""
    coded = [inp.codes[k] for k in inp.table.key if k in inp.codes]
    sizes = [int(c.max(initial=-1)) + 2 for c in coded]
    if math.prod(sizes) < 2**62:  # (one integer per row: one sort, one comparison)
        combined = np.zeros(inp.n_rows, np.int64)
        for c, size in zip(coded, sizes, strict=True):
            combined = combined * size + (c + 1)  # (0: missing, sorted first)
        coded = [combined]
    order = np.lexsort(coded[::-1])
    if np.logical_and.reduce([c[order][1:] == c[order][:-1] for c in coded]).any():
        key = [k for k in inp.table.key if k in inp.frame]
        keys = inp.frame.loc[inp.frame[key].notna().all(axis=1), key]
        first = pd.Series(keys.index, index=keys.index).groupby(
            [keys[k] for k in key], sort=False).transform("min")
        for row in keys.index[keys.duplicated().to_numpy()]:
            inp.add(f"repeats the {'/'.join(key)} of {inp.unit} {inp.label(int(first[row]))}",
                    int(row), "/".join(key), ", ".join(_int_text(keys.at[row, k]) for k in key))
    return None if (order[1:] > order[:-1]).all() else order


def _int_text(value: object) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _check_tasks(inp: Input) -> None:
    frame = inp.frame
    if "weight" in frame and not any(p.column == "weight" for _, p in inp.problems):
        total = math.fsum(frame["weight"].to_numpy(dtype=float))
        if abs(total - 1.0) > schema.WEIGHT_SUM_TOLERANCE:
            inp.add(f"weights sum to {total:.12g}, not 1", None, "weight")
    if "difficulty" not in frame:
        return
    level = frame["difficulty"]
    if "difficulty_rank" not in frame:
        unknown = level.notna() & ~level.isin(schema.DIFFICULTY_LEVELS)
        inp.failing(unknown.to_numpy(), "difficulty", "is not easy, medium or hard; add a "
                    "difficulty_rank column to declare other levels", level.to_numpy())
        return
    rank, unit, label = frame["difficulty_rank"], inp.unit, inp.label
    known = level.notna() & rank.notna()
    first = frame[known].drop_duplicates("difficulty")
    for row in frame.index[known]:
        f = first.index[first["difficulty"] == level[row]][0]
        if rank[row] != rank[f]:
            inp.add(f"is not the rank of {show(level[row])} on {unit} {label(int(f))} "
                    f"({_int_text(rank[f])})", int(row), "difficulty_rank", _int_text(rank[row]))
    for row, shared in zip(first.index, first["difficulty_rank"].duplicated(), strict=True):
        if shared:
            f = first.index[first["difficulty_rank"] == rank[row]][0]
            inp.add(f"is also the rank of {show(level[f])} ({unit} {label(int(f))}); levels "
                    "need different ranks", int(row), "difficulty_rank", _int_text(rank[row]))


# -- across tables -----------------------------------------------------------------------------
def check(inputs: Sequence[Input]) -> tuple[list[Problem], list[Problem]]:
    """Check every table, then the rules across them (only between tables that were read):
    the problems and the warnings, each input's in file order."""
    tables = {inp.table.name: inp for inp in inputs}
    for inp in inputs:
        _check_table(inp)
    frames = {name: inp.frame for name, inp in tables.items() if inp.frame is not None}
    if "tasks" in frames:
        _check_tasks(tables["tasks"])
    if "results" in frames:
        results = tables["results"]
        for rule in ("task", "model"):
            if f"{rule}s" in frames and rule in frames["results"] and rule in frames[f"{rule}s"]:
                _cross(results, tables[f"{rule}s"], rule)
        present = [c for c in schema.COMPONENT_COLUMNS if c in results.frame]
        if 0 < len(present) < len(schema.COMPONENT_COLUMNS):
            absent = [c for c in schema.COMPONENT_COLUMNS if c not in present]
            results.add(f"has the grader component column(s) {', '.join(present)} but not "
                        f"{', '.join(absent)}; score components need all four", -1, warn=True)
    if "steps" in frames:
        _check_steps(tables["steps"], tables.get("results"))
    problems, warnings = [], []
    for inp in tables.values():
        problems += _ordered(inp.problems, inp.table)
        warnings += _ordered(inp.warnings, inp.table)
        inp.cells, inp.find = [], list  # (the file's bytes and codes: no longer needed)
    return problems, warnings


def _ordered(found: list[tuple[int | None, Problem]], table: Table) -> list[Problem]:
    order = {c.name: i for i, c in enumerate(table.columns)}
    ranked = sorted(found, key=lambda f: (-2 if f[0] is None else f[0],
                                          order.get(f[1].column or "", len(order))))
    return list(dict.fromkeys(p for _, p in ranked))


def _cross(results: Input, other: Input, column: str) -> None:
    names, declared = results.frame[column], other.frame[column]
    used = results.used[column]  # (compared once per name, not per row)
    unknown = used[~pd.Series(used).isin(set(declared.dropna())).to_numpy()]
    if len(unknown):
        results.failing(names.isin(set(unknown)).to_numpy(), column,
                        f"is not a {column} in {other.file}", names.to_numpy())
    unused = declared.notna() & ~declared.isin(set(used))
    message = "has no rows in {} (ignored)" if column == "model" else "has no rows in {}"
    for row in np.flatnonzero(unused.to_numpy()):
        other.add(message.format(results.file), int(row), column, declared.iloc[row],
                  warn=column == "model")


def _check_steps(steps: Input, results: Input | None) -> None:
    frame = steps.frame
    if "tests_passed" in frame and "tests_total" in frame:
        # (compared as held: int64, or float64 whose NaN, a missing count, is never more)
        passed, total = (frame[c].to_numpy() for c in ("tests_passed", "tests_total"))
        for row in np.flatnonzero(passed > total):
            steps.add(f"is more than tests_total ({_int_text(total[row])})", int(row),
                      "tests_passed", _int_text(passed[row]))
    if results is None or results.frame is None:
        return
    if RUN_COLUMN not in steps.codes and RUN_COLUMN in results.codes:
        steps.add(f"missing column 'run' ({results.file} has a run column)")
        return
    if results.problems or steps.problems:
        return
    first, sizes = _episode_rows(steps)  # (each episode compared with the results once)
    key, run = list(schema.EPISODE_KEY), {RUN_COLUMN: float}
    known = results.frame.reindex(columns=key).fillna({RUN_COLUMN: 1})
    known_runs = pd.MultiIndex.from_frame(known.astype(run))
    episodes = pd.MultiIndex.from_frame(frame[key].iloc[first].astype(run))
    matched = episodes.isin(known_runs)
    for i in np.flatnonzero(~matched):
        others = ("" if sizes[i] == 1 else " (nor does its other step)" if sizes[i] == 2
                  else f" (nor do its {sizes[i] - 1} other steps)")
        steps.add(f"matches no model/task/run of {results.file}{others}", int(first[i]),
                  "model/task/run", ", ".join(_int_text(v) for v in episodes[i]))
    lacking = int((~known_runs.isin(episodes)).sum())
    if matched.all() and lacking:
        steps.add(f"{lacking} of {len(known_runs)} runs in {results.file} have no steps (left "
                  "out of the step-log findings)", warn=True)


def _episode_rows(steps: Input) -> tuple[np.ndarray, np.ndarray]:
    """Each episode's first row (by position in the input) and its number of steps. In key
    order an episode is a run of rows, so one starts wherever a key column's code changes:
    compared column by column (no rows × keys array), and on the codes themselves when the
    rows are already in order."""
    order, new = steps.order, np.zeros(steps.n_rows, dtype=bool)
    new[:1] = True
    for column in (c for c in schema.EPISODE_KEY if c in steps.codes):
        ranked = steps.codes[column] if order is None else steps.codes[column][order]
        new[1:] |= ranked[1:] != ranked[:-1]
    at = np.flatnonzero(new)
    sizes = np.diff(np.append(at, steps.n_rows))
    return (at if order is None else np.minimum.reduceat(order, at)), sizes


def tidy(frame: pd.DataFrame, order: np.ndarray | None, table: Table, **defaults: object
         ) -> pd.DataFrame:
    """The table's columns in order (absent ones from ``defaults``, else missing), rows in
    ``order`` (None: as they are) numbered from 0."""
    columns = {}
    for col in table.columns:
        values = frame[col.name] if col.name in frame else defaults.get(col.name)
        if values is None:  # (all missing)
            kind = {"text": object, "bool": "boolean"}.get(col.kind, "float64")
            values = pd.Series(index=frame.index, dtype=kind)
        columns[col.name] = pd.Series(values, index=frame.index,
                                      dtype=object if col.kind == "text" else None)
    tidy = pd.DataFrame(columns, copy=False)
    return (tidy if order is None else tidy.take(order)).reset_index(drop=True)
