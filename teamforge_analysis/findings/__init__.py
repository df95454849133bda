"""The findings of TeamForge's published analysis, each tested by a documented rule, on any
benchmark's results (claims and the grader formula come from the data's profile).

Each finding is defined in one module, as one :class:`Definition`: the claim it tests, what
it computes, its rule (the wording ``docs/methods.md`` shows), its text, its input and
evidence tables and its figure. Calling a definition with a
:class:`~teamforge_analysis.dataset.Dataset` computes the finding: a :class:`Finding`, whose
``verdict`` follows from its ``statistics`` by the rule and whose ``text`` is written from them.
The definitions share their modules' names (``findings.step_efficiency`` is the definition;
the module is ``teamforge_analysis.findings.step_efficiency`` in ``sys.modules``).

:data:`FINDINGS` is the registry, in report order. Verdicts: ``supported``, ``contradicted``,
``inconclusive``, ``not_computable`` (a statistic the rule needs is null, or its inputs are
absent), and ``descriptive`` for findings that describe the data and test no claim.
"""

from __future__ import annotations

import pandas as pd

from .._checks import require_dataset
from ..dataset import Dataset
from ._common import (
    ALPHA,
    MAX_NAMED_MODELS,
    Definition,
    Finding,
    Verdict,
    correlation_verdict,
    difficulty_means,
    evidence,
    grader_weights,
    missing_measure,
    model_sizes,
    score_label,
    size_measures,
)
from .hard_task_boundary import hard_task_boundary
from .planning_depth_vs_success import planning_depth_vs_success
from .reward_trajectories import reward_trajectories
from .scale_vs_difficulty import scale_vs_difficulty
from .score_components import (
    COMPONENT_TOLERANCE,
    grader_formula,
    recomputed_scores,
    score_components,
)
from .step_efficiency import step_efficiency
from .test_pass_vs_score import test_pass_vs_score

__all__ = ["ALPHA", "COMPONENT_TOLERANCE", "FINDINGS", "MAX_NAMED_MODELS", "REGISTRY",
           "Definition", "Finding", "Verdict", "all_findings", "correlation_verdict", "definition",
           "difficulty_means", "evidence", "finding_inputs", "grader_formula", "grader_weights",
           "hard_task_boundary", "missing_measure", "model_sizes", "planning_depth_vs_success",
           "recomputed_scores", "reward_trajectories", "scale_vs_difficulty", "score_components",
           "score_label", "size_measures", "step_efficiency", "test_pass_vs_score"]

#: Every finding, in report order.
FINDINGS: tuple[Definition, ...] = (
    scale_vs_difficulty,
    step_efficiency,
    test_pass_vs_score,
    hard_task_boundary,
    score_components,
    planning_depth_vs_success,
    reward_trajectories,
)
#: The findings by id.
REGISTRY: dict[str, Definition] = {f.id: f for f in FINDINGS}


def definition(finding_id: str) -> Definition:
    """The finding with id ``finding_id``.

    Raises
    ------
    ValueError
        For an unknown id, listing the valid ones.
    """
    if not isinstance(finding_id, str) or finding_id not in REGISTRY:
        raise ValueError(f"unknown finding {finding_id!r}; expected one of "
                         f"{', '.join(REGISTRY)}")
    return REGISTRY[finding_id]


def all_findings(dataset: Dataset) -> list[Finding]:
    """Every finding for ``dataset``, in report order."""
    require_dataset(dataset)
    return [compute(dataset) for compute in FINDINGS]


def finding_inputs(dataset: Dataset, finding_id: str, *, size_column: str = "params_b"
                   ) -> pd.DataFrame:
    """The rows a finding reads, in long form: ``model, task, difficulty``, then its columns.

    The first four findings read one row per (model, task) cell (``hard_task_boundary`` only
    the hardest level's, with ``pass_threshold``), with ``size_column`` where they correlate
    with size; ``score_components`` one row per run (with ``recomputed``, the grader's formula,
    when results.csv has all its columns); the step-log findings one row per episode (none
    without a step log). Rows are ordered by model, level (easiest first), task, then run.

    Examples
    --------
    >>> from teamforge_analysis import load_dataset
    >>> list(finding_inputs(load_dataset(), "hard_task_boundary").columns)
    ['model', 'task', 'difficulty', 'score', 'passed', 'pass_threshold', 'params_b']
    >>> len(finding_inputs(load_dataset(), "reward_trajectories"))  # no step log
    0
    """
    found = definition(finding_id)
    return found.input_frame(dataset, **({"size_column": size_column} if found.reads_size
                                         else {}))
