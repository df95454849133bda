"""A benchmark's profile (``benchmark.json`` in the data folder): its name, the label of its
weighted score, how the scores were produced, its grader formula and the claims to test.

Every key is optional; unknown keys are a warning. Problems are located by key path::

    benchmark.json key grader.weights.lint_score: -1 is not at least 0
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


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def bad(self, key: str, value: Any, message: str) -> None:
        shown = show(json.dumps(value, ensure_ascii=False))
        self.problems.append(Problem(FILE, message, key, value=shown, unit="key"))

    def obj(self, data: Any, key: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.bad(key, data, "is not a JSON object")
            return {}
        for name in data:
            if key in _KEYS and name not in _KEYS[key]:
                path = f"{key}.{name}" if key else name
                self.warnings.append(Problem(FILE, "unknown key, ignored", show(path),
                                             unit="key"))
        return data

    def text(self, data: dict[str, Any], name: str, key: str) -> str | None:
        value = data.get(name)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            self.bad(key, value, "is not a non-empty string")
            return None
        return value

    def number(self, value: Any, key: str, *, low: float, high: float | None = None,
               whole: bool = False) -> float | None:
        ok = isinstance(value, int if whole else int | float) and not isinstance(value, bool)
        ok = ok and math.isfinite(value) and value >= low and (high is None or value <= high)
        if not ok:
            what = "a whole number" if whole else "a number"
            limit = f"at least {low:g}" if high is None else f"between {low:g} and {high:g}"
            self.bad(key, value, f"is not {what} {limit}")
            return None
        return value


def parse_profile(data: Any, default_name: str) -> tuple[Profile | None, list[Problem],
                                                        list[Problem]]:
    """A profile from benchmark.json's parsed content; ``None`` when it has problems."""
    check = _Checker()
    top = check.obj(data, "")
    name = check.text(top, "name", "name") or default_name
    label = check.text(top, "score_label", "score_label") or DEFAULT.score_label
    protocol = grader = None
    if "protocol" in top:
        given = check.obj(top["protocol"], "protocol")
        runs = given.get("runs_per_cell")
        if runs is not None:
            runs = check.number(runs, "protocol.runs_per_cell", low=1, whole=True)
        aggregate = given.get("aggregate")
        if aggregate is not None and aggregate not in ("best", "mean"):
            check.bad("protocol.aggregate", aggregate, "is not \"best\" or \"mean\"")
        protocol = Protocol(runs, aggregate)
    if "grader" in top:
        given = check.obj(top["grader"], "grader")
        weights = {}
        for column, weight in check.obj(given.get("weights"), "grader.weights").items():
            key = f"grader.weights.{show(column)}"
            if column not in _GRADER_COLUMNS:
                check.bad(key, column, f"is not a grader column ({', '.join(_GRADER_COLUMNS)})")
            elif (value := check.number(weight, key, low=0)) is not None:
                weights[column] = float(value)
        clamp = given.get("clamp")
        if clamp is not None:
            if (not isinstance(clamp, list) or len(clamp) != 2
                    or any(check.number(v, "grader.clamp", low=0, high=1) is None for v in clamp)
                    or clamp[0] >= clamp[1]):
                check.bad("grader.clamp", clamp, "is not [low, high] with 0 <= low < high <= 1")
            else:
                clamp = (float(clamp[0]), float(clamp[1]))
        grader = Grader(weights, clamp)
    claims = {}
    for finding, claim in check.obj(top.get("claims", {}), "claims").items():
        if not isinstance(claim, str):
            check.bad(f"claims.{show(finding)}", claim, "is not a string")
        else:
            claims[finding] = claim
    if check.problems:
        return None, check.problems, check.warnings
    teamforge = grader == TEAMFORGE_GRADER
    return Profile(name, label, protocol, grader, claims, teamforge), [], check.warnings


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
