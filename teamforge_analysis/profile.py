"""A benchmark's profile (``benchmark.json`` in the data folder): its name, the label of its
weighted score, how the scores were produced, its grader formula and the claims to test.
Every key is optional; unknown keys are a warning. Problems are located by key path::

    benchmark.json key grader.weights.lint_score: -1 is not a number at least 0
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from .schema import COMPONENT_COLUMNS
from .validate import Problem, show

__all__ = ["DEFAULT", "TEAMFORGE_GRADER", "Grader", "Profile", "Protocol", "parse_profile",
           "read_profile", "teamforge_profile"]

FILE = "benchmark.json"


@dataclass(frozen=True)
class Protocol:
    """How a cell's score was produced: runs per cell, and how they were combined."""

    runs_per_cell: int | None = None
    aggregate: str | None = None  # "best" or "mean"


@dataclass(frozen=True)
class Grader:
    """score = clamp(sum of weight x column): ``weights`` by results column."""

    weights: dict[str, float]
    clamp: tuple[float, float] | None = None


@dataclass(frozen=True)
class Profile:
    """What the outputs may say about the benchmark (see the module docstring)."""

    name: str
    score_label: str = "weighted score"
    protocol: Protocol | None = None
    grader: Grader | None = None
    claims: dict[str, str] = field(default_factory=dict)
    is_teamforge: bool = False


#: The generic profile's values (a benchmark without benchmark.json).
DEFAULT = Profile(name="benchmark")
#: TeamForge's grader (teamforge_analysis.findings holds the same numbers for its texts).
TEAMFORGE_GRADER = Grader({"test_pass": 0.40, "lint_score": 0.25, "efficiency_score": 0.20,
                           "review_quality": 0.10, "reflection_quality": 0.05}, (0.001, 0.999))
_GRADER_COLUMNS = ("test_pass", *COMPONENT_COLUMNS)
_KEYS = {"": ("name", "score_label", "protocol", "grader", "claims"),
         "protocol": ("runs_per_cell", "aggregate"), "grader": ("weights", "clamp")}


def teamforge_profile(name: str) -> Profile:
    """The profile of TeamForge data without a benchmark.json (inferred from its columns)."""
    return Profile(name, "TeamForge score", grader=TEAMFORGE_GRADER, is_teamforge=True)


class _Checks:
    """The problems and warnings found in benchmark.json, and the checks that find them."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def bad(self, key: str, value: Any, message: str) -> None:
        shown = show(json.dumps(value, ensure_ascii=False))
        self.problems.append(Problem(FILE, message, key, value=shown, unit="key"))

    def obj(self, value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.bad(key, value, "is not a JSON object")
            return {}
        for name in [n for n in value if key in _KEYS and n not in _KEYS[key]]:
            path = f"{key}.{name}" if key else name
            self.warnings.append(Problem(FILE, "unknown key, ignored", show(path), unit="key"))
        return value

    def number(self, value: Any, key: str, low: float, high: float = math.inf,
               whole: bool = False) -> float | None:
        if (isinstance(value, int if whole else int | float) and not isinstance(value, bool)
                and math.isfinite(value) and low <= value <= high):
            return value
        limit = f"at least {low:g}" if high == math.inf else f"between {low:g} and {high:g}"
        self.bad(key, value, f"is not {'a whole number' if whole else 'a number'} {limit}")
        return None


def _grader(check: _Checks, value: Any) -> Grader:
    given, weights = check.obj(value, "grader"), {}
    for column, weight in check.obj(given.get("weights"), "grader.weights").items():
        key = f"grader.weights.{show(column)}"
        if column not in _GRADER_COLUMNS:
            check.bad(key, column, f"is not a grader column ({', '.join(_GRADER_COLUMNS)})")
        elif (number := check.number(weight, key, 0)) is not None:
            weights[column] = float(number)
    clamp = given.get("clamp")
    if clamp is not None:
        ok = isinstance(clamp, list) and len(clamp) == 2 and all(
            check.number(v, "grader.clamp", 0, 1) is not None for v in clamp)
        if not ok or clamp[0] >= clamp[1]:
            check.bad("grader.clamp", clamp, "is not [low, high] with 0 <= low < high <= 1")
        clamp = (float(clamp[0]), float(clamp[1])) if ok else None
    return Grader(weights, clamp)


def parse_profile(data: Any, default_name: str) -> tuple[Profile | None, list[Problem],
                                                        list[Problem]]:
    """A profile from benchmark.json's parsed content (None when it has problems), the
    problems and the warnings."""
    check = _Checks()
    top = check.obj(data, "")
    texts = {k: top.get(k) for k in ("name", "score_label")}
    for key, value in texts.items():
        if value is not None and (not isinstance(value, str) or not value.strip()):
            check.bad(key, value, "is not a non-empty string")
            texts[key] = None
    protocol = None
    if "protocol" in top:
        given = check.obj(top["protocol"], "protocol")
        runs, aggregate = given.get("runs_per_cell"), given.get("aggregate")
        if runs is not None:
            runs = check.number(runs, "protocol.runs_per_cell", 1, whole=True)
        if aggregate is not None and aggregate not in ("best", "mean"):
            check.bad("protocol.aggregate", aggregate, "is not \"best\" or \"mean\"")
        protocol = Protocol(runs, aggregate)
    grader = _grader(check, top["grader"]) if "grader" in top else None
    claims = check.obj(top.get("claims", {}), "claims")
    for finding, claim in claims.items():
        if not isinstance(claim, str):
            check.bad(f"claims.{show(finding)}", claim, "is not a string")
    if check.problems:
        return None, check.problems, check.warnings
    profile = Profile(texts["name"] or default_name, texts["score_label"] or DEFAULT.score_label,
                      protocol, grader, dict(claims), grader == TEAMFORGE_GRADER)
    return profile, [], check.warnings


def read_profile(raw: bytes, default_name: str) -> tuple[Profile | None, list[Problem],
                                                         list[Problem]]:
    """benchmark.json's bytes (UTF-8, see :func:`.io.read_file`) read and checked."""
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (ValueError, RecursionError) as exc:
        detail = getattr(exc, "msg", str(exc))
        return None, [Problem(FILE, f"is not valid JSON ({show(detail)})",
                              getattr(exc, "lineno", None))], []
    return parse_profile(data, default_name)
