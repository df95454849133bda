"""The Dataset, and its two ways in: a data folder (:func:`load_dataset`) and DataFrames
(:meth:`Dataset.from_frames`). Both run the same checks (:mod:`.validate`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import pandas as pd

from . import io, schema
from ._checks import require_choice
from .profile import FILE as PROFILE_FILE
from .profile import Profile, read_profile, teamforge_profile
from .runs import AGGREGATES, aggregate_runs, cell_scores
from .schema import COMPONENT_COLUMNS, RUN_COLUMN
from .validate import DataValidationError, Input, Problem, check, printable, show, tidy

__all__ = ["MODELS_COLUMNS", "RESULTS_COLUMNS", "TASKS_COLUMNS", "Dataset", "bundled_data_dir",
           "load_dataset"]

#: Column names of the Dataset's frames, in order (``results`` also has the component
#: columns its input has; ``runs`` also ``run``).
RESULTS_COLUMNS: tuple[str, ...] = ("model", "task", "score", *schema.MEASURES)
MODELS_COLUMNS: tuple[str, ...] = tuple(c.name for c in schema.MODELS.columns)
TASKS_COLUMNS: tuple[str, ...] = tuple(c.name for c in schema.TASKS.columns)
_FILES = (schema.RESULTS, schema.MODELS, schema.TASKS)


@dataclass(frozen=True)
class Dataset:
    """Validated benchmark results (their columns: README, "Data dictionary").

    ``results`` holds one row per (model, task), ``runs`` one per run (``run`` 1 without a run
    column), ``steps`` the step log or None, each sorted by its key; ``models`` (those with
    results) and ``tasks`` hold every declared column, absent ones missing or filled by their
    defaults. ``name`` is the profile's name, else the folder's (never a path); ``files`` the
    SHA-256 of each input file (empty for frames); ``aggregate`` how ``results`` was made
    from ``runs``; ``equal_weights`` whether the input had no weight column.
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
    profile: Profile | None = None
    equal_weights: bool = False

    def __post_init__(self) -> None:
        if self.runs is None:
            runs = self.results.copy()
            runs.insert(runs.columns.get_loc("task") + 1, RUN_COLUMN, 1)
            object.__setattr__(self, "runs", runs)

    @property
    def has_runs(self) -> bool:
        """Whether some (model, task) cell has more than one run."""
        return len(self.runs) > len(self.results)

    @cached_property
    def levels(self) -> tuple[str, ...]:
        """The difficulty levels, easiest first (by ``difficulty_rank``)."""
        ordered = self.tasks.sort_values(["difficulty_rank", "difficulty"], kind="stable")
        return tuple(ordered["difficulty"].drop_duplicates())

    @cached_property
    def cells(self) -> pd.DataFrame:
        """Per (model, task) cell: ``runs`` and the ``score_mean``, ``score_best`` and
        ``score_sd`` of its runs (:func:`.runs.cell_scores`; computed once)."""
        return cell_scores(self.runs)

    def _counts(self) -> dict[str, int]:
        return {"models": int(self.results["model"].nunique()), "tasks": len(self.tasks),
                "cells": len(self.results), "runs": len(self.runs),
                "step rows": 0 if self.steps is None else len(self.steps)}

    def __repr__(self) -> str:
        from .display import one_line_repr

        return one_line_repr("Dataset", [("name", self.name), *self._counts().items(),
                                         ("levels", ", ".join(self.levels)),
                                         ("aggregate", self.aggregate)])

    def _repr_html_(self) -> str:
        from .display import dataset_html

        sizes = self.tasks.groupby("difficulty")["task"].size()
        return dataset_html(self.name, self._counts(),
                            [(level, int(sizes[level])) for level in self.levels], self.files)

    def with_aggregate(self, aggregate: str) -> Dataset:
        """The same data with ``results`` re-made from ``runs`` by ``aggregate``."""
        require_choice("aggregate", aggregate, AGGREGATES)
        if aggregate == self.aggregate:
            return self
        return replace(self, results=aggregate_runs(self.runs, how=aggregate),
                       aggregate=aggregate)

    @classmethod
    def from_frames(cls, results: pd.DataFrame, models: pd.DataFrame, tasks: pd.DataFrame,
                    steps: pd.DataFrame | None = None, *, name: str | None = None,
                    profile: Profile | None = None, aggregate: str = "mean",
                    strict: bool = False) -> Dataset:
        """A Dataset from DataFrames, checked exactly as a data folder's files are.

        Parameters
        ----------
        results, models, tasks, steps
            The tables of ``data/README.md``; cells may be numbers, booleans or text
            (``"0.5"``, ``"true"``), missing values blank. ``steps`` is optional.
        name
            The data set's name (default: the profile's name, else ``"dataset"``).
        profile
            The benchmark's profile; ``None``: TeamForge's when ``results`` has the four
            grader component columns, else generic texts.
        aggregate
            How a cell's runs become its result: ``"mean"`` or ``"best"``.
        strict
            If true, warnings (ignored columns, models without results) are errors too.

        Returns
        -------
        Dataset

        Raises
        ------
        DataValidationError
            Listing every problem, located by the frames' index labels.

        Examples
        --------
        >>> results = pd.DataFrame({"model": ["m1", "m1", "m2", "m2"],
        ...                         "task": ["t1", "t2", "t1", "t2"],
        ...                         "score": [0.9, 0.4, 0.7, 0.2]})
        >>> models = pd.DataFrame({"model": ["m1", "m2"], "params_b": [70, 8]})
        >>> tasks = pd.DataFrame({"task": ["t1", "t2"], "difficulty": ["easy", "hard"]})
        >>> ds = Dataset.from_frames(results, models, tasks, name="demo")
        >>> ds.levels, list(ds.tasks["weight"]), ds.equal_weights
        (('easy', 'hard'), [0.5, 0.5], True)
        >>> Dataset.from_frames(  # doctest: +ELLIPSIS
        ...     results.assign(score=[0.9, 1.7, 0.7, 0.2]), models, tasks)
        Traceback (most recent call last):
        ...
        teamforge_analysis.validate.DataValidationError: results row 1, column score: 1.7 ...
        """
        require_choice("aggregate", aggregate, AGGREGATES)
        given = zip(schema.TABLES, (results, models, tasks, steps), strict=True)
        inputs = [Input.of_frame(t, f) for t, f in given if f is not None or t is not schema.STEPS]
        name = name or (profile.name if profile is not None else "dataset")
        return _dataset(inputs, [], [], name, profile, aggregate, {}, strict)


def bundled_data_dir() -> Path:
    """The data folder shipped with the package: inside the package in a wheel, the
    repository's ``data/`` in a source checkout."""
    here = Path(__file__).resolve().parent
    packaged = here / "_bundled_data"
    return packaged if (packaged / "results.csv").is_file() else here.parent / "data"


def load_dataset(path: str | bytes | os.PathLike | None = None, *, strict: bool = False,
                 aggregate: str = "mean") -> Dataset:
    """Load and validate a data folder (``None``: the bundled TeamForge data).

    The folder holds ``results.csv``, ``models.csv``, ``tasks.csv``, optionally a step log
    (``steps.jsonl``, ``steps.csv`` or ``steps.parquet``) and ``benchmark.json``. Problems
    are raised together as one :class:`DataValidationError` naming file, physical line
    (the header is line 1), column and value. ``strict`` and ``aggregate`` are as for
    :meth:`Dataset.from_frames`.

    Examples
    --------
    >>> ds = load_dataset()
    >>> ds.name, ds.results.shape, ds.levels
    ('TeamForge (published results)', (12, 6), ('easy', 'medium', 'hard'))
    """
    require_choice("aggregate", aggregate, AGGREGATES)
    folder = bundled_data_dir() if path is None else Path(os.fsdecode(path))  # (bytes too)
    readable = os.access(folder, os.R_OK | os.X_OK)
    wrong = ("data folder does not exist" if not os.path.exists(folder) else
             "is a file, not a data folder" if not folder.is_dir() else
             "data folder cannot be read (Permission denied)" if not readable else None)
    if wrong:
        raise DataValidationError([Problem(show(folder, limit=None), wrong)])
    inputs, problems, hashes = [], [], {}
    step_log, extra = io.find_step_log(folder)
    files = [(t, folder / t.file) for t in _FILES]
    for table, file in files + ([(schema.STEPS, step_log)] if step_log else []):
        if not os.path.lexists(file):
            problems.append(Problem(file.name, f"is missing from the data folder "
                                    f"'{show(folder.resolve().name)}'"))
            continue
        inp, found, hashes[file.name] = io.read_input(file, table)
        problems += found
        inputs += [inp] if inp is not None else []
    profile, notes, default_name = None, [], printable(folder.resolve().name)
    if os.path.lexists(folder / PROFILE_FILE):
        raw, hashes[PROFILE_FILE], bad = io.read_file(folder / PROFILE_FILE, PROFILE_FILE)
        profile, found, notes = read_profile(raw, default_name) if bad is None else (
            None, [bad], [])
        problems += found
    name = profile.name if profile is not None else default_name
    hashes = {f: sha for f, sha in sorted(hashes.items()) if sha is not None}
    return _dataset(inputs, problems + extra, notes, name, profile, aggregate, hashes, strict)


def _rank(problem: Problem) -> int:
    stem = problem.file.split(".")[0]
    return next((i for i, t in enumerate(schema.TABLES) if t.name == stem), len(schema.TABLES))


def _dataset(inputs: list[Input], problems: list[Problem], notes: list[Problem], name: str,
             profile: Profile | None, aggregate: str, files: dict[str, str], strict: bool
             ) -> Dataset:
    found, warned = check(inputs)
    problems, notes = problems + found, notes + warned
    if strict:
        problems, notes = problems + notes, []
    warnings = [str(w) for w in sorted(notes, key=_rank)]
    if problems:
        raise DataValidationError(sorted(problems, key=_rank), warnings)
    tables = {inp.table.name: inp for inp in inputs}
    results, models, tasks = tables["results"], tables["models"], tables["tasks"]
    columns = [c for c in schema.RESULTS.columns
               if c.name not in COMPONENT_COLUMNS or c.name in results.frame]
    runs = tidy(results.frame, results.order, replace(schema.RESULTS, columns=columns), run=1)
    results.frame = None  # (its rows, once sorted into runs, are not kept twice)
    ranks = tasks.frame["difficulty"].map(schema.DEFAULT_LEVEL_RANKS)
    task_frame = tidy(tasks.frame, tasks.order, schema.TASKS, weight=1.0 / tasks.n_rows,
                      difficulty_rank=ranks)
    model_frame = tidy(models.frame, models.order, schema.MODELS)
    model_frame = model_frame[model_frame["model"].isin(set(results.used["model"]))]
    steps = tables.get("steps")
    if steps is not None:
        steps = tidy(steps.frame, steps.order, schema.STEPS)
    if profile is None and all(c in runs for c in COMPONENT_COLUMNS):
        profile = teamforge_profile(name)
    return Dataset(name, aggregate_runs(runs, how=aggregate), model_frame.reset_index(drop=True),
                   task_frame, files, tuple(warnings), runs, steps, aggregate, profile,
                   "weight" not in tasks.frame)
