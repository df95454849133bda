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
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .io import RUN_COLUMN, ColumnSpec, DataValidationError, FileSpec, Problem, _FileReader
from .runs import sort_by_keys

__all__ = [
    "ACTIONS",
    "EPISODE_KEY",
    "PHASES",
    "STEP_COLUMNS",
    "STEP_LOG_NAMES",
    "StepLog",
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
# Reading JSON Lines and Parquet (CSV uses the loader's own reader)
# ----------------------------------------------------------------------------------------------
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

    def read(self) -> pd.DataFrame | None:
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
        out = {}
        for spec in self.spec.columns:
            if spec.name in frame.columns:
                column = _flatten_nested(frame[spec.name])
                if spec.kind == "text" and not pd.api.types.is_string_dtype(column):
                    # JSON numbers in a text column are read as their text, as CSV reads them.
                    column = column.astype(object).where(column.isna(), column.astype(str))
                out[spec.name] = self._convert(column, spec)
        result = pd.DataFrame(out, copy=False)  # (the converted columns are new already)
        self._check_keys(result)
        return result

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
            import pyarrow.parquet as pq
        except ImportError:
            self.problems.append(Problem(
                name, "needs pyarrow to be read (pip install 'teamforge-analysis[parquet]')"))
            return None
        try:
            table = pq.read_table(io.BytesIO(self.raw))
            return table.to_pandas()
        except Exception as exc:  # pyarrow raises several unrelated types for bad files
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self.problems.append(Problem(name, f"cannot be read as Parquet ({message})"))
            return None


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
    report them together with those of the other files.
    """
    file, problems = find_step_log(folder)
    if file is None:
        return StepLog(None, problems=problems)
    raw = file.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    spec = replace(STEPS_SPEC, name=file.name)
    file_format = file.suffix.lstrip(".")
    reader = (_FileReader(spec, raw) if file_format == "csv"
              else _RecordReader(spec, raw, file_format))
    frame = reader.read()
    if frame is not None:
        frame = _check_against_results(reader, frame, results)
    problems = [*problems, *reader.problems]
    return StepLog(None if problems else frame, file.name, sha, problems, reader.warnings)


def _check_against_results(reader: _FileReader, frame: pd.DataFrame,
                           results: pd.DataFrame | None) -> pd.DataFrame:
    name = reader.spec.name
    results_have_runs = results is not None and RUN_COLUMN in results.columns
    if RUN_COLUMN not in frame.columns:
        if results_have_runs:
            reader.problems.append(Problem(
                name, f"missing column {RUN_COLUMN!r} (results.csv has a run column)"))
            return frame
        frame.insert(2, RUN_COLUMN, np.ones(len(frame), dtype=np.int64))

    if "tests_passed" in frame.columns and "tests_total" in frame.columns:
        too_many = (frame["tests_passed"] > frame["tests_total"]).fillna(False)
        if too_many.any():
            for row in np.flatnonzero(too_many.to_numpy(dtype=bool)):
                total = _int_text(frame.at[row, "tests_total"])
                reader.problem(f"is more than tests_total ({total})", row=int(row),
                               column="tests_passed",
                               value=_int_text(frame.at[row, "tests_passed"]))

    if results is None or reader.problems:
        return frame
    keys = list(EPISODE_KEY)
    known = results.assign(**({} if results_have_runs else {RUN_COLUMN: 1}))[keys]
    known_index = pd.MultiIndex.from_frame(known.astype({RUN_COLUMN: "float64"}))
    episode = pd.MultiIndex.from_frame(frame[keys].astype({RUN_COLUMN: "float64"}))
    unmatched = ~episode.isin(known_index)
    if unmatched.any():
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
    return frame


def _int_text(value: Any) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else str(value)


def tidy_steps(frame: pd.DataFrame) -> pd.DataFrame:
    """Declared columns in order (optional ones missing-filled), sorted by model, task, run, step.

    Sorting uses integer codes (``numpy.lexsort``), which stays fast on millions of rows.
    """
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
    # Logs are usually written in order: sort_by_keys then returns the frame uncopied.
    return sort_by_keys(tidy, ["model", "task", RUN_COLUMN, "step"])


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
    raw = file.read_bytes()
    spec = replace(STEPS_SPEC, name=file.name)
    reader = _FileReader(spec, raw) if suffix == "csv" else _RecordReader(spec, raw, suffix)
    frame = reader.read()
    if frame is not None:
        frame = _check_against_results(reader, frame, results)
    if reader.problems or frame is None:
        raise DataValidationError(reader.problems)
    return tidy_steps(frame)


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
        span = (self.last - self.first)[self.code]
        safe = np.where(span > 0, span, 1.0)
        return np.where(span > 0, (step - self.first[self.code]) / safe, single)


def _episodes_of(steps: pd.DataFrame) -> _Episodes:
    # The frame is sorted by episode, so an episode starts wherever a key changes.
    keys = steps[list(EPISODE_KEY)].to_numpy()
    starts = np.ones(len(steps), dtype=bool)
    if len(steps) > 1:
        starts[1:] = (keys[1:] != keys[:-1]).any(axis=1)
    code = np.cumsum(starts) - 1
    count = int(starts.sum())
    step = steps["step"].to_numpy(dtype=float)
    first = np.full(count, np.inf)
    last = np.full(count, -np.inf)
    np.minimum.at(first, code, step)
    np.maximum.at(last, code, step)
    return _Episodes(starts, code, count, np.bincount(code, minlength=count), first, last)


def episodes(steps: pd.DataFrame, runs: pd.DataFrame | None = None,
             tasks: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per episode of a tidy step frame, with what the step-log findings use.

    Parameters
    ----------
    steps
        A tidy step frame (``Dataset.steps``), sorted by model, task, run, step.
    runs
        Optional run rows (``Dataset.runs``) to add each episode's ``score`` and ``passed``.
    tasks
        Optional tasks frame to add each episode's ``difficulty``.

    Returns
    -------
    pandas.DataFrame
        ``model, task, run``, ``n_steps``, ``first_step``, ``last_step``, ``planning_depth``
        (number of plan_step actions, 0 when none), ``total_reward`` (sum of rewards),
        ``reward_slope`` (least-squares slope of reward against the position
        (step − first) / (last − first); NaN for one-step episodes), ``first_full_pass_step``
        (first step with tests_passed = tests_total > 0; NaN when never), then ``score``,
        ``passed`` and ``difficulty`` when ``runs`` and ``tasks`` are given.

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
    keys = list(EPISODE_KEY)
    ep = _episodes_of(steps)
    episode, n_episodes, n_steps = ep.code, ep.count, ep.n_steps
    step = steps["step"].to_numpy(dtype=float)
    reward = steps["reward"].to_numpy(dtype=float)
    position = ep.position(step, single=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_position = np.bincount(episode, position, n_episodes) / n_steps
        mean_reward = np.bincount(episode, reward, n_episodes) / n_steps
        dx = position - mean_position[episode]
        dy = reward - mean_reward[episode]
        sxy = np.bincount(episode, dx * dy, n_episodes)
        sxx = np.bincount(episode, dx * dx, n_episodes)
        # One-step episodes have no slope (missing).
        slope = pd.Series(sxy / np.where(sxx > 0, sxx, 1)).where(n_steps >= 2).to_numpy()

    planning = np.bincount(episode, (steps["action"] == "plan_step").to_numpy(dtype=float),
                           n_episodes).astype(np.int64)
    full_pass_step = np.full(n_episodes, np.inf)
    if "tests_passed" in steps and "tests_total" in steps:
        passed_tests = steps["tests_passed"].to_numpy(dtype=float)
        total_tests = steps["tests_total"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            full = (total_tests > 0) & (passed_tests == total_tests)
        np.minimum.at(full_pass_step, episode[full], step[full])
    # Episodes that never pass every test have no such step (missing).
    full_pass_step = pd.Series(full_pass_step).where(np.isfinite(full_pass_step)).to_numpy()

    out = steps.loc[ep.starts, keys].reset_index(drop=True)
    out["n_steps"] = n_steps.astype(np.int64)
    out["first_step"] = ep.first.astype(np.int64)
    out["last_step"] = ep.last.astype(np.int64)
    out["planning_depth"] = planning
    out["total_reward"] = np.bincount(episode, reward, n_episodes)
    out["reward_slope"] = slope
    out["first_full_pass_step"] = full_pass_step
    if runs is not None:
        out = out.merge(runs[[*keys, "score", "passed"]], on=keys, how="left", validate="1:1")
    if tasks is not None:
        out["difficulty"] = out["task"].map(tasks.set_index("task")["difficulty"])
    return out


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
