"""The input columns, declared once: for every file, each column's name, kind and range,
whether the file must have it and whether a cell may be blank (``data/README.md`` documents
the same table for people)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ACTIONS", "COMPONENT_COLUMNS", "DEFAULT_LEVEL_RANKS", "DIFFICULTY_LEVELS", "EPISODE_KEY",
    "MEASURES", "MODELS", "PHASES", "RESULTS", "RUN_COLUMN", "STEPS", "TABLES", "TASKS",
    "WEIGHT_SUM_TOLERANCE", "Column", "Table",
]

#: The default difficulty levels, easiest first (without a ``difficulty_rank`` column).
DIFFICULTY_LEVELS: tuple[str, ...] = ("easy", "medium", "hard")
DEFAULT_LEVEL_RANKS: dict[str, int] = {level: i + 1 for i, level in enumerate(DIFFICULTY_LEVELS)}
#: Optional results column numbering a model's repeated runs of a task (1, 2, ...).
RUN_COLUMN = "run"
#: Optional results columns holding the grader's components other than ``test_pass``.
COMPONENT_COLUMNS: tuple[str, ...] = (
    "lint_score", "efficiency_score", "review_quality", "reflection_quality")
#: Optional measures: the Dataset always has them (absent in the input: every value missing).
MEASURES: tuple[str, ...] = ("steps", "test_pass", "passed")
#: Task weights, when given, must sum to 1 within this tolerance.
WEIGHT_SUM_TOLERANCE = 1e-9
#: TeamForge's eight step-log actions and six phases.
ACTIONS: tuple[str, ...] = (
    "plan_step", "edit_file", "run_tests", "run_lint", "generate_review", "self_reflect",
    "request_iteration", "commit")
PHASES: tuple[str, ...] = ("planning", "coding", "testing", "reviewing", "reflecting", "done")
#: An episode is one run of one model on one task.
EPISODE_KEY: tuple[str, ...] = ("model", "task", RUN_COLUMN)


@dataclass(frozen=True)
class Column:
    """``lower``/``upper`` bound the value (``lower_open``: strictly above)."""

    name: str
    kind: Literal["text", "float", "int", "bool"]
    required: bool = True  # the file must have the column
    blank_ok: bool = False  # a cell may be blank (a missing value)
    lower: float = -math.inf
    upper: float = math.inf
    lower_open: bool = False
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Table:
    """One input: its name as a frame (``results``) and as a file (``results.csv``)."""

    name: str
    file: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def by_name(self) -> dict[str, Column]:
        return {c.name: c for c in self.columns}


def _share(name: str, *, required: bool = False, blank_ok: bool = False) -> Column:
    return Column(name, "float", required, blank_ok, lower=0.0, upper=1.0)


RESULTS = Table("results", "results.csv", ("model", "task", RUN_COLUMN), (
    Column("model", "text"),
    Column("task", "text"),
    Column(RUN_COLUMN, "int", required=False, lower=1),
    _share("score", required=True),
    Column("steps", "int", required=False, blank_ok=True, lower=0),
    _share("test_pass", blank_ok=True),
    Column("passed", "bool", required=False, blank_ok=True),
    *(_share(c) for c in COMPONENT_COLUMNS),
))
MODELS = Table("models", "models.csv", ("model",), (
    Column("model", "text"),
    Column("params_b", "float", blank_ok=True, lower=0.0, lower_open=True),
    Column("active_params_b", "float", False, True, lower=0.0, lower_open=True),
    Column("family", "text", required=False, blank_ok=True),
    Column("source", "text", required=False, blank_ok=True),
))
TASKS = Table("tasks", "tasks.csv", ("task",), (
    Column("task", "text"),
    Column("difficulty", "text"),
    Column("difficulty_rank", "int", required=False, lower=1),
    Column("weight", "float", required=False, lower=0.0),
    _share("pass_threshold"),
))
STEPS = Table("steps", "steps", (*EPISODE_KEY, "step"), (
    Column("model", "text"),
    Column("task", "text"),
    Column(RUN_COLUMN, "int", required=False, lower=1),  # (required when results have runs)
    Column("step", "int", lower=1),
    Column("action", "text", choices=ACTIONS),
    Column("reward", "float"),
    Column("phase", "text", required=False, blank_ok=True, choices=PHASES),
    Column("tests_passed", "int", required=False, blank_ok=True, lower=0),
    Column("tests_total", "int", required=False, blank_ok=True, lower=0),
))
#: The tables in the order their problems are reported.
TABLES: tuple[Table, ...] = (RESULTS, MODELS, TASKS, STEPS)
