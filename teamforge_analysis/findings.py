"""The findings of TeamForge's published analysis, each tested by a documented rule, on any
benchmark's results (claims and the grader formula come from the data's profile).

The first four test the seed's claims; three more cover what its docstring promised and never
computed, from run-level results and step logs: ``score_components``,
``planning_depth_vs_success`` and ``reward_trajectories``.

Each function takes a :class:`~teamforge_analysis.io.Dataset` and returns a :class:`Finding`
whose ``statistics`` are JSON-ready, whose ``verdict`` follows from those statistics by the rule
in its docstring (also in ``docs/methods.md``), and whose ``text`` is written from them.

Verdicts: ``supported``, ``contradicted``, ``inconclusive``, ``not_computable`` (a statistic the
rule needs is null, or the levels it compares are absent), and ``descriptive`` for findings that
describe the data and test no claim.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from . import _fmt as fmt
from ._checks import require_choice, require_dataset
from .inference import (
    NEAR_PERFECT_R,
    ConcordanceResult,
    MeanDifferenceResult,
    SettleResult,
    beyond_construction,
    floor_ceiling_warning,
    kendalls_w,
    leave_one_out_correlations,
    mean_difference_interval,
    min_attainable_correlation_p,
    near_perfect_verdict,
    settle_correlation,
    settle_fixed_effects_correlation,
    settle_paired,
    settle_size_test,
    size_test,
    size_verdict,
)
from .io import COMPONENT_COLUMNS, Dataset
from .scoring import (
    level_scores,
    level_task_weights,
    score_matrix,
    task_weights,
    weighted_total,
)
from .stats import (
    CorrelationResult,
    DifferenceResult,
    RepeatedMeasuresResult,
    correlation,
    finite_or_none,
    paired_wilcoxon,
    repeated_measures_correlation,
    stratified_permutation_correlation,
    zou_difference,
)

__all__ = [
    "ALPHA",
    "FINDINGS",
    "Finding",
    "all_findings",
    "difficulty_means",
    "finding_inputs",
    "hard_task_boundary",
    "model_sizes",
    "planning_depth_vs_success",
    "recomputed_scores",
    "reward_trajectories",
    "scale_vs_difficulty",
    "score_components",
    "step_efficiency",
    "test_pass_vs_score",
]

#: Significance level of every verdict rule.
ALPHA = 0.05

#: Finding texts name at most this many models in one list (the JSON lists them all).
MAX_NAMED_MODELS = 8

Verdict = Literal["supported", "contradicted", "inconclusive", "not_computable", "descriptive"]


@dataclass(frozen=True)
class Finding:
    """One finding: the seed's claim, the evidence, and the verdict it earns.

    Attributes
    ----------
    id, title
        Stable identifier and a short title.
    claim
        The seed's claim, quoted as the hypothesis being tested.
    statistics
        JSON-ready evidence (numbers unrounded; undefined values are ``None``).
    verdict
        ``supported``, ``contradicted``, ``inconclusive``, ``not_computable`` or
        ``descriptive`` (the finding describes the data and tests no claim).
    verdict_reason
        Which branch of the rule decided the verdict.
    text
        A paragraph generated from ``statistics`` and the verdict.
    """

    id: str
    title: str
    claim: str
    statistics: dict[str, Any]
    verdict: Verdict
    verdict_reason: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "claim": self.claim,
            "verdict": self.verdict,
            "verdict_reason": self.verdict_reason,
            "text": self.text,
            "statistics": self.statistics,
        }

    def to_frame(self) -> pd.DataFrame:
        """The statistics as a tidy frame: one row per number or text, ``statistic`` the
        dotted path to it (``by_difficulty.hard.r``), ``value`` the value itself."""
        rows = list(_flatten(self.statistics))
        return pd.DataFrame({"finding": [self.id] * len(rows),
                             "statistic": [k for k, _ in rows],
                             "value": pd.Series([v for _, v in rows], dtype=object)})

    def __repr__(self) -> str:
        from .display import one_line_repr

        return one_line_repr("Finding", [("id", self.id), ("verdict", self.verdict),
                                         ("reason", self.verdict_reason)])

    def _repr_html_(self) -> str:
        from .display import finding_html

        return finding_html(self.to_dict())


def _flatten(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _flatten(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        for i, item in enumerate(value):
            yield from _flatten(item, f"{path}[{i}]")
    else:
        yield path, value


# ----------------------------------------------------------------------------------------------
# Shared helpers
# ----------------------------------------------------------------------------------------------
#: Each finding's claim on a benchmark whose profile states none (no benchmark's own facts).
GENERIC_CLAIMS: dict[str, str] = {
    "scale_vs_difficulty": "Model size predicts scores on the hardest level more strongly than "
                           "on the easiest level.",
    "step_efficiency": "Step counts rise more between the two easiest levels than between the "
                       "two hardest.",
    "test_pass_vs_score": "The test pass rate is a near-perfect predictor of the score.",
    "hard_task_boundary": "The hardest level is a capability boundary that separates larger "
                          "models from smaller ones.",
    "planning_depth_vs_success": "Episodes with more planning (plan_step actions) succeed more "
                                 "often.",
    "reward_trajectories": "How the per-step reward evolves over an episode at each difficulty "
                           "level.",
}

#: What a measure is called when a text says which column would enable a finding.
_MEASURE_FILES = {"steps": "results.csv", "test_pass": "results.csv", "passed": "results.csv",
                  "pass_threshold": "tasks.csv"}


def claim_text(dataset: Dataset, finding_id: str) -> str:
    """The claim a finding tests: the data's profile's wording, else the generic one."""
    profile = dataset.profile
    claims = getattr(profile, "claims", None) or {}
    return claims.get(finding_id, GENERIC_CLAIMS.get(finding_id, ""))


def score_label(dataset: Dataset) -> str:
    """What the weighted score is called: the profile's label, else "weighted score"."""
    return getattr(dataset.profile, "score_label", None) or "weighted score"


def grader_weights(dataset: Dataset) -> dict[str, float] | None:
    """The grader formula's weight of each results column (``None`` when none is declared)."""
    grader = getattr(dataset.profile, "grader", None)
    return None if grader is None else dict(grader.weights)


def missing_measure(dataset: Dataset, column: str) -> str | None:
    """Why a finding needing ``column`` cannot be computed (``None`` when it has values)."""
    frame = dataset.tasks if column == "pass_threshold" else dataset.results
    if column in frame and frame[column].notna().any():
        return None
    return (f"it needs the {column} column of {_MEASURE_FILES.get(column, 'the data')}, "
            "which the data do not have")


def _not_computable(finding_id: str, title: str, claim: str, reason: str,
                    statistics: dict[str, Any] | None = None) -> Finding:
    return Finding(finding_id, title, claim, statistics or {}, "not_computable", reason,
                   _verdict_sentence("not_computable", reason))


def levels_present(dataset: Dataset) -> list[str]:
    """Difficulty levels, easiest first (by ``difficulty_rank``)."""
    return list(dataset.levels)


def difficulty_means(dataset: Dataset, value: str = "score") -> pd.DataFrame:
    """Per model, ``value`` on each level: :func:`.scoring.level_scores` (the weight-weighted
    mean over the level's tasks; missing unless the model has every task of the level).

    Examples
    --------
    >>> from teamforge_analysis.io import load_dataset
    >>> difficulty_means(load_dataset(), "steps").loc["gemma2-9b-it"].tolist()
    [18.0, 30.0, 40.0]
    """
    return level_scores(dataset, value)


def _column_sizes(dataset: Dataset, column: str) -> pd.Series:
    return dataset.models.set_index("model")[column].astype(float)


def _significant(r: float, p: float, sign: int) -> bool:
    return p < ALPHA and (r > 0 if sign > 0 else r < 0)


def correlation_verdict(result: CorrelationResult | RepeatedMeasuresResult
                        ) -> tuple[Verdict, str]:
    """The correlation rule, on the permutation p where defined, else the parametric p.

    *supported* iff r > 0 with p < α; *contradicted* iff r < 0 with p < α; *inconclusive*
    otherwise; *not_computable* when r or p is undefined.
    """
    p = result.p_for_verdict if isinstance(result, CorrelationResult) else result.p_value
    label = ("permutation " if isinstance(result, CorrelationResult)
             and result.p_permutation is not None else "")
    return _correlation_rule(result.r, p, label,
                             f"the correlation is undefined ({result.reason})")


def _correlation_rule(r: float | None, p: float | None, label: str, undefined: str
                      ) -> tuple[Verdict, str]:
    """The two-sided correlation rule on r and its p (``label`` names the kind of p)."""
    if r is None or p is None:
        return "not_computable", undefined
    if _significant(r, p, +1):
        return "supported", f"r > 0 and {label}{fmt.pval(p)} (below {ALPHA:g})"
    if _significant(r, p, -1):
        return "contradicted", f"r < 0 and {label}{fmt.pval(p)} (below {ALPHA:g})"
    return "inconclusive", f"{label}{fmt.pval(p)} is not below {ALPHA:g}"


def _p_phrase(result: CorrelationResult) -> str:
    """``p = 0.27, permutation p = 0.33`` (the permutation p only where computed)."""
    text = fmt.pval(result.p_value)
    if result.p_permutation is not None:
        text += f", permutation {fmt.pval(result.p_permutation)}"
    return text


def _corr_phrase(result: CorrelationResult) -> str:
    """``r = 0.73 (95% CI -0.77 to 0.99, p = 0.27, permutation p = 0.33, n = 4)``."""
    if result.r is None:
        return f"undefined (n = {result.n}: {result.reason})"
    return f"r = {fmt.num(result.r)} ({fmt.ci(result.ci95)}, {_p_phrase(result)}, n = {result.n})"


def _power_sentence(result: CorrelationResult) -> str:
    """Why a small sample can only detect large correlations (empty when not relevant)."""
    if result.min_detectable_r is None:
        if result.n < 3:
            return ""  # (the correlation itself is undefined, and the text says why)
        return (f"With n = {result.n}, no interval can be computed and only a perfect "
                "correlation could be told from chance.")
    if result.r is not None and abs(result.r) >= result.min_detectable_r:
        return ""
    return (f"With n = {result.n}, only |r| >= {fmt.num(result.min_detectable_r)} would be "
            "detected with 80% power at the 0.05 level.")


def _verdict_sentence(verdict: Verdict, reason: str) -> str:
    return f"Verdict: {verdict.replace('_', ' ')}, because {reason}."


# ----------------------------------------------------------------------------------------------
# Finding 1
# ----------------------------------------------------------------------------------------------
def size_measures(dataset: Dataset) -> dict[str, pd.Series]:
    """Model size by each measure the sensitivity analysis uses, indexed by model.

    ``params_b`` (total), ``active_params_b`` (active parameters where given, else the total)
    and ``log10_params_b``.
    """
    total = _column_sizes(dataset, "params_b")
    active = _column_sizes(dataset, "active_params_b").fillna(total)
    return {
        "params_b": total,
        "active_params_b": active,
        "log10_params_b": np.log10(total),
    }


def model_sizes(dataset: Dataset, measure: str = "params_b") -> pd.Series:
    """Model size by ``measure``, indexed by model: one of :func:`size_measures` (active
    parameters fall back to the total), or any other numeric column of models.csv."""
    require_dataset(dataset)
    measures = size_measures(dataset)
    # (any numeric column of models.csv, with the derived measures: a name from the caller)
    numeric = [c for c in dataset.models.columns if c != "model"
               and pd.api.types.is_numeric_dtype(dataset.models[c])]
    require_choice("size_column", measure, list(dict.fromkeys([*measures, *numeric])))
    return measures[measure] if measure in measures else _column_sizes(dataset, measure)


@dataclass(frozen=True)
class _ScaleEvidence:
    by_difficulty: dict[str, CorrelationResult]
    difference: DifferenceResult
    r_between_levels: float | None
    n_known: int
    verdict: Verdict
    reason: str


def _scale_evidence(means: pd.DataFrame, sizes: pd.Series) -> _ScaleEvidence:
    """Correlations of size with each level's mean score, Zou's difference, and the verdict."""
    levels = list(means.columns)
    known = means.index[sizes.reindex(means.index).notna().to_numpy()]
    by_difficulty = {
        level: correlation(sizes.reindex(known), means.loc[known, level]) for level in levels
    }
    hardest, easiest = levels[-1], levels[0]
    both = known[means.loc[known, [hardest, easiest]].notna().all(axis=1).to_numpy()]
    on_both = {lvl: correlation(sizes.reindex(both), means.loc[both, lvl])
               for lvl in (hardest, easiest)}
    between = correlation(means.loc[both, hardest], means.loc[both, easiest])
    diff = zou_difference(on_both[hardest].r, on_both[easiest].r, between.r, len(both))

    hard = by_difficulty[hardest]
    p = hard.p_for_verdict
    p_text = ("permutation " if hard.p_permutation is not None else "") + fmt.pval(p)
    if hard.r is None or p is None:
        verdict: Verdict = "not_computable"
        reason = f"the {hardest}-level correlation is undefined ({hard.reason})"
    elif diff.ci95 is None:
        verdict = "not_computable"
        reason = f"the interval for the difference is undefined ({diff.reason})"
    elif diff.ci95[1] < 0:
        verdict, reason = "contradicted", "the whole interval for the difference is below 0"
    elif _significant(hard.r, p, -1):
        verdict, reason = "contradicted", f"the {hardest}-level r is negative with {p_text}"
    elif _significant(hard.r, p, +1) and diff.ci95[0] > 0:
        verdict = "supported"
        reason = (f"the {hardest}-level r is positive with {p_text} and the whole interval "
                  "for the difference is above 0")
    else:
        parts = []
        if not _significant(hard.r, p, +1):
            parts.append(f"the {hardest}-level r is not significantly positive ({p_text})")
        if diff.ci95[0] <= 0:
            parts.append("the interval for the difference includes 0")
        verdict, reason = "inconclusive", fmt.names(parts)
    return _ScaleEvidence(by_difficulty, diff, between.r, len(known), verdict, reason)


def scale_vs_difficulty(dataset: Dataset, *, size_column: str = "params_b") -> Finding:
    """Does model size predict the hardest level's scores more than the easiest level's?

    Per model, the mean score over the tasks of each difficulty level is correlated with
    ``size_column`` (``by_difficulty``). ``hard_minus_easy`` is r(hardest) − r(easiest) with
    Zou's (2007) interval for two overlapping dependent correlations, on the models that have
    both levels and a known size. ``sensitivity`` repeats the correlations with every size
    measure of :func:`size_measures`.

    Rule (p is the permutation p where defined, else the parametric p): *supported* iff the
    hardest level's r > 0 with p < 0.05 and the whole ``hard_minus_easy`` interval is above 0;
    *contradicted* iff that interval is below 0, or the hardest level's r < 0 with p < 0.05;
    *inconclusive* otherwise; *not_computable* when fewer than two levels are present or a
    statistic the rule needs is null.
    """
    measures = size_measures(dataset)
    sizes = model_sizes(dataset, size_column)
    means = difficulty_means(dataset, "score")
    without_size = sorted(sizes.index[sizes.isna()])
    levels = list(means.columns)
    statistics: dict[str, Any] = {
        "size_column": size_column,
        "models_without_size": without_size,
        "by_difficulty": {},
        "hardest": levels[-1] if len(levels) >= 2 else None,
        "easiest": levels[0] if len(levels) >= 2 else None,
        "hard_minus_easy": None,
        "sensitivity": {},
        "sensitivity_verdicts": {},
    }
    claim = claim_text(dataset, "scale_vs_difficulty")
    title = "Model scale vs task difficulty"

    if len(levels) < 2:
        statistics["by_difficulty"] = {
            level: correlation(sizes.reindex(means.index), means[level]).to_dict()
            for level in levels
        }
        reason = f"the rule compares two difficulty levels and only {fmt.names(levels)} is present"
        return Finding("scale_vs_difficulty", title, claim, statistics, "not_computable", reason,
                       f"Not computable: {reason}.")

    evidence = _scale_evidence(means, sizes)
    statistics["by_difficulty"] = {lvl: c.to_dict() for lvl, c in evidence.by_difficulty.items()}
    statistics["hard_minus_easy"] = {
        **evidence.difference.to_dict(),
        "r_between_levels": evidence.r_between_levels,
    }
    # A measure equal to one already used (params_b itself; active_params_b when no model
    # gives active parameters) has that measure's evidence: the same inputs.
    done: list[tuple[pd.Series, _ScaleEvidence]] = [(sizes, evidence)]

    def evidence_for(measure: pd.Series) -> _ScaleEvidence:
        for used, found in done:
            if measure.equals(used):
                return found
        done.append((measure, _scale_evidence(means, measure)))
        return done[-1][1]

    sensitivity = {name: evidence_for(measure) for name, measure in measures.items()}
    statistics["sensitivity"] = {
        name: {lvl: c.to_dict() for lvl, c in ev.by_difficulty.items()}
        for name, ev in sensitivity.items()
    }
    statistics["sensitivity_verdicts"] = {name: ev.verdict for name, ev in sensitivity.items()}

    hardest, easiest = levels[-1], levels[0]
    verdict, reason, diff = evidence.verdict, evidence.reason, evidence.difference
    n_known = evidence.n_known
    known = sizes.index[sizes.notna()].intersection(means.index)
    hard_means = means.loc[known, hardest]
    floor = min_attainable_correlation_p(sizes.reindex(known), hard_means)
    leave_out = leave_one_out_correlations(sizes.reindex(known), hard_means)
    concordance = kendalls_w(means)
    floor_ceiling = floor_ceiling_warning(means)
    settle = settle_correlation(evidence.by_difficulty[hardest].r, n_known)
    statistics.update({
        "min_attainable_p": floor.to_dict(),
        "leave_one_out": [_leave_one_out_record(row, _verdict_on(row))
                          for row in leave_out.to_dict(orient="records")],
        "rank_concordance": concordance.to_dict(),
        "floor_ceiling": floor_ceiling,
        "settle": settle.to_dict(),
    })
    sentences = [
        f"Across {n_known} model{'s' if n_known != 1 else ''} of known size ({size_column}), "
        "the correlation of size with mean score is "
        + "; ".join(f"{_corr_phrase(evidence.by_difficulty[lvl])} at {lvl} level"
                    for lvl in reversed(levels))
        + "."
    ]
    if diff.difference is not None:
        sentences.append(
            f"The difference r({hardest}) - r({easiest}) is {fmt.num(diff.difference)} "
            f"({fmt.ci(diff.ci95)}, Zou 2007, n = {diff.n})."
        )
    if floor.min_attainable_p is not None and floor.min_attainable_p >= ALPHA:
        sentences.append(
            f"With {floor.n} models, the smallest p the verdict's permutation test could give "
            f"is {fmt.short(floor.min_attainable_p, 3)} (the most extreme arrangement of these "
            f"values), so no correlation at all could reach p < {ALPHA:g}.")
    else:
        power = _power_sentence(evidence.by_difficulty[hardest])
        if power:
            sentences.append(power)
    sentences += _robustness_sentences(leave_out, concordance, floor_ceiling, hardest)
    verdicts = statistics["sensitivity_verdicts"]
    if len(set(verdicts.values())) == 1:
        sentences.append(f"The verdict is the same under every size measure "
                         f"({fmt.names(list(verdicts))}).")
    else:
        sentences.append("The verdict depends on how size is measured: " + "; ".join(
            f"{name}: {v.replace('_', ' ')}" for name, v in verdicts.items()) + ".")
    if without_size:
        sentences.append("Left out for unknown size: "
                         f"{fmt.names(without_size, at_most=MAX_NAMED_MODELS)}.")
    sentences.append(_settle_sentence(settle, f" (for the {hardest}-level correlation, one "
                                               "half of the rule)"))
    sentences.append(_verdict_sentence(verdict, reason))
    return Finding("scale_vs_difficulty", title, claim, statistics, verdict, reason,
                   " ".join(sentences))


def _verdict_on(row: dict[str, Any]) -> Verdict:
    """The hardest level's half of the correlation rule on a leave-one-out correlation."""
    r, p = row["r"], row["p_value"]
    if r is None or p is None:
        return "not_computable"
    if p < ALPHA:
        return "supported" if r > 0 else "contradicted"
    return "inconclusive"


def _leave_one_out_record(row: dict[str, Any], verdict: Verdict) -> dict[str, Any]:
    return {"left_out": row["left_out"], "n": int(row["n"]), "r": finite_or_none(row["r"]),
            "p_value": finite_or_none(row["p_value"]), "p_method": row["p_method"],
            "verdict_without": verdict,
            "reason": row["reason"] or (None if verdict != "not_computable"
                                        else "the correlation without this model is undefined")}


def _robustness_sentences(leave_out: pd.DataFrame, concordance: ConcordanceResult,
                          floor_ceiling: list[dict[str, Any]], hardest: str) -> list[str]:
    """What could carry or mask the pattern: one influential model, rankings that agree on
    every level, scores piled at a floor or ceiling."""
    sentences = []
    defined = leave_out[leave_out["r"].notna()]
    if len(defined):
        r = defined["r"].astype(float)
        lowest = defined.loc[r.idxmin(), "left_out"]
        sentences.append(
            f"Leaving out one model at a time, r at the {hardest} level ranges from "
            f"{fmt.num(r.min())} to {fmt.num(r.max())} (lowest without {lowest}).")
    if concordance.w is not None:
        agree = ("the models rank in the same order on every level"
                 if concordance.w >= 1 - 1e-12 else "the models' rankings across levels")
        sentences.append(
            f"Kendall's W = {fmt.num(concordance.w)} ({agree}; {fmt.pval(concordance.p_value)}, "
            f"{concordance.method}).")
    for entry in floor_ceiling:
        sentences.append(
            f"Warning: at the {entry['level']} level {entry['n_floor'] + entry['n_ceiling']} of "
            f"{entry['n_models']} models score at a floor (<= 0.05) or ceiling (>= 0.95), which "
            "compresses the differences size could explain.")
    return sentences


def _missing_steps_reason(entry: dict[str, Any], levels: list[str]) -> str | None:
    """Why a model's step means or degradation are null (None when nothing is)."""
    missing = [lvl for lvl in levels if entry[lvl] is None]
    if missing:
        return f"no mean steps for {fmt.names(missing)} (a task of that level has no result)"
    if len(levels) < 2:
        return "degradation_pct needs two difficulty levels"
    if entry["degradation_pct"] is None:
        return f"degradation_pct is undefined: mean steps at {levels[0]} level is 0"
    return None


# ----------------------------------------------------------------------------------------------
# Finding 2
# ----------------------------------------------------------------------------------------------
def step_efficiency(dataset: Dataset) -> Finding:
    """Do steps jump more between the two easiest levels than between the two hardest?

    Per model, d = (level 2 − level 1) − (last level − the one before it) of the level means of
    steps (with easy, medium, hard: (medium − easy) − (hard − medium)); the claim holds for a
    model when d > 0. ``paired_test`` is ``scipy.stats.wilcoxon(d)`` with its defaults
    (two-sided); its ``min_attainable_p`` = 2 / 2ⁿ for n non-zero differences. Rule:
    *supported* iff p < 0.05 and median d > 0; *contradicted* iff p < 0.05 and median d < 0;
    *inconclusive* otherwise; *not_computable* with fewer than three levels, without step
    counts, or when the test is undefined.
    """
    title = "Step efficiency by difficulty"
    claim = claim_text(dataset, "step_efficiency")
    if (missing := missing_measure(dataset, "steps")) is not None:
        return _not_computable("step_efficiency", title, claim, missing)
    means = difficulty_means(dataset, "steps")
    levels = list(means.columns)
    hardest, easiest = levels[-1], levels[0]
    by_model: dict[str, dict[str, Any]] = {}
    degradation = ((means[hardest] - means[easiest]) / means[easiest] * 100).to_numpy()
    # Plain arrays in the loop over models (iterrows builds a Series per model).
    values = means.to_numpy(dtype=float)
    for i, model in enumerate(means.index):
        entry: dict[str, Any] = {lvl: finite_or_none(values[i, j]) for j, lvl in enumerate(levels)}
        entry["degradation_pct"] = finite_or_none(degradation[i]) if len(levels) > 1 else None
        reason = _missing_steps_reason(entry, levels)
        if reason:
            entry["reason"] = reason  # only where something is null
        by_model[str(model)] = entry
    statistics: dict[str, Any] = {
        "mean_steps": {lvl: finite_or_none(means[lvl].mean()) for lvl in levels},
        "by_model": by_model,
        "paired_test": None,
    }
    if len(levels) < 3:
        reason = (f"the rule compares the increases between three levels and the data have "
                  f"{len(levels)} ({fmt.names(levels)})")
        return Finding("step_efficiency", title, claim, statistics, "not_computable", reason,
                       f"Not computable: {reason}.")

    first_jump = means[levels[1]] - means[levels[0]]
    last_jump = means[levels[-1]] - means[levels[-2]]
    d = (first_jump - last_jump).dropna()
    test = paired_wilcoxon(d.to_numpy())
    holds_for = sorted(d.index[d > 0])
    n_nonzero = int((d != 0).sum())
    min_p = min(1.0, 2 / 2**n_nonzero) if n_nonzero else None
    statistics["paired_test"] = {**test.to_dict(), "holds_for": holds_for,
                                 "min_attainable_p": min_p}
    effect = mean_difference_interval(d.to_numpy())
    settle = settle_paired(d.to_numpy())
    statistics["effect"] = effect.to_dict()
    statistics["settle"] = settle.to_dict()

    if test.p_value is None or test.median is None:
        verdict: Verdict = "not_computable"
        reason = f"the paired test is undefined ({test.reason})"
    elif test.p_value < ALPHA and test.median > 0:
        verdict, reason = "supported", f"{fmt.pval(test.p_value)} < {ALPHA:g} and median d > 0"
    elif test.p_value < ALPHA and test.median < 0:
        verdict, reason = "contradicted", f"{fmt.pval(test.p_value)} < {ALPHA:g} and median d < 0"
    elif test.p_value < ALPHA:
        verdict = "inconclusive"
        reason = (f"{fmt.pval(test.p_value)} is below {ALPHA:g} but the median d is 0, so the "
                  "differences favour neither direction")
    else:
        verdict, reason = "inconclusive", f"{fmt.pval(test.p_value)} is not below {ALPHA:g}"

    mean_steps = statistics["mean_steps"]
    first, last = f"{levels[0]}-to-{levels[1]}", f"{levels[-2]}-to-{levels[-1]}"
    sentences = [_effect_sentence(effect, first, last, means, levels)]
    sentences += [
        "Mean steps per model go from "
        + " to ".join(f"{fmt.short(mean_steps[lvl])} ({lvl})" for lvl in levels) + ".",
        f"The {first} increase exceeds the {last} increase for {len(holds_for)} of {test.n} "
        f"models (Wilcoxon signed-rank test of d, two-sided, n = {test.n}, "
        f"{fmt.pval(test.p_value)}).",
    ]
    if min_p is not None and min_p >= ALPHA:
        sentences.append(
            f"With {n_nonzero} non-zero difference{'s' if n_nonzero != 1 else ''}, the smallest "
            f"attainable two-sided p is {fmt.short(min_p, 3)}, so this test cannot reach "
            f"p < {ALPHA:g} on these data."
        )
    sentences.append(_settle_sentence(settle))
    sentences.append(_verdict_sentence(verdict, reason))
    return Finding("step_efficiency", title, claim, statistics, verdict, reason,
                   " ".join(sentences))


def _effect_sentence(effect: MeanDifferenceResult, first: str, last: str,
                     means: pd.DataFrame, levels: list[str]) -> str:
    """The effect first: mean d with its t-interval, and the last jump as a share of the
    first."""
    if effect.mean_d is None:
        return f"The difference d is undefined ({effect.reason})."
    interval = (f"95% t-interval {fmt.num(effect.ci95[0])} to {fmt.num(effect.ci95[1])}"
                if effect.ci95 is not None else f"no interval: {effect.reason}")
    relation = "exceeds" if effect.mean_d >= 0 else "falls short of"
    text = (f"On average the {first} increase in steps {relation} the {last} increase: "
            f"d = {fmt.num(effect.mean_d)} steps ({interval}; median {fmt.short(effect.median_d)},"
            f" n = {effect.n} models).")
    jumps = pd.DataFrame({"first": means[levels[1]] - means[levels[0]],
                          "last": means[levels[-1]] - means[levels[-2]]}).dropna()
    first_jump, last_jump = float(jumps["first"].mean()), float(jumps["last"].mean())
    if first_jump > 0:
        text += (f" The mean {last} increase is {fmt.short(100 * last_jump / first_jump, 0)}% "
                 f"of the mean {first} increase.")
    return text


# ----------------------------------------------------------------------------------------------
# Finding 3
# ----------------------------------------------------------------------------------------------
def test_pass_vs_score(dataset: Dataset) -> Finding:
    """Is the test pass rate a near-perfect predictor of the score, beyond what the grader's
    formula builds in?

    ``beyond_construction`` is the partial correlation of the rest of the score
    (score − w × test_pass, w test_pass's weight in the data's grader formula; the score itself
    when no formula is declared, ``outcome`` says which) with test_pass, controlling for model
    and task fixed effects, over the (model, task) cells (:func:`.inference.beyond_construction`;
    Fisher-z interval with standard error 1/√(n − k − 3)). Also reported: ``pooled`` (over all
    cells), ``within_task`` (across models within each task), ``repeated_measures`` (subject =
    task, Bakdash & Marusich 2017: it ignores the crossed model factor) and
    ``construction_r``, the pooled r the formula alone would give if the rest of the score were
    unrelated to test_pass.

    Rule ("near-perfect" is r ≥ 0.9, :data:`.inference.NEAR_PERFECT_R`): *supported* iff the
    whole 95% interval of ``beyond_construction`` is ≥ 0.9; *contradicted* iff the whole
    interval is < 0.9; *inconclusive* otherwise; *not_computable* when n − k − 3 < 1 or a
    residual is constant.
    """
    title = "Test pass rate vs final score"
    claim = claim_text(dataset, "test_pass_vs_score")
    if (missing := missing_measure(dataset, "test_pass")) is not None:
        return _not_computable("test_pass_vs_score", title, claim, missing)
    results = dataset.results[dataset.results["test_pass"].notna()]
    share = (grader_weights(dataset) or {}).get("test_pass")
    pooled = correlation(results["test_pass"], results["score"])
    within = {
        str(task): correlation(cells["test_pass"], cells["score"])
        for task, cells in results.groupby("task", sort=True)
    }
    repeated = repeated_measures_correlation(results, x="test_pass", y="score", subject="task")
    beyond = beyond_construction(results, weight=share)
    construction = _construction_r(results, share)
    verdict, reason = near_perfect_verdict(beyond)
    reason = f"for the {beyond.outcome} beyond model and task effects, {reason}"
    settle = settle_fixed_effects_correlation(
        beyond.r, n_models=results["model"].nunique(), n_tasks=results["task"].nunique(),
        null_r=NEAR_PERFECT_R)

    n_models = results["model"].nunique()
    n_tasks = results["task"].nunique()
    sentences = [
        f"Pooled over {pooled.n} (model, task) cells, test_pass correlates with score at "
        f"{_corr_phrase(pooled)}, but the cells are not independent ({n_models} models x "
        f"{n_tasks} tasks)."
    ]
    if construction is not None:
        sentences.append(
            f"The grader formula puts {fmt.short(share)} x test_pass into the score, so even "
            f"if the rest of the score were unrelated to test_pass, the pooled r would be "
            f"about {fmt.num(construction)} by construction alone.")
    defined = {t: c for t, c in within.items() if c.r is not None}
    if defined and len(within) <= 5:
        sentences.append("Across models within each task: " + "; ".join(
            f"{t}: {_corr_phrase(c)}" for t, c in within.items()) + ".")
    elif defined:
        rs = [c.r for c in defined.values() if c.r is not None]
        sentences.append(
            f"Across models within single tasks, r ranges from {fmt.num(min(rs))} to "
            f"{fmt.num(max(rs))} ({len(defined)} of {len(within)} tasks defined).")
    if beyond.r is not None:
        sentences.append(
            f"{'Beyond the formula and beyond' if share is not None else 'Beyond'} model and "
            f"task effects, the {beyond.outcome} "
            f"correlates with test_pass at r = {fmt.num(beyond.r)} ({fmt.ci(beyond.ci95)}, "
            f"{fmt.pval(beyond.p_value)}, n = {beyond.n} cells, {beyond.dof} residual degrees "
            "of freedom).")
    else:
        sentences.append(f"The partial correlation beyond model and task effects is undefined "
                         f"({beyond.reason}).")
    if share is not None:
        sentences.append(
            "No correlation can validate the formula's weight on test_pass: the weight is a "
            "design choice of the grader, not something the scores can confirm.")
    if len(results) < len(dataset.results):
        sentences.append(f"{len(dataset.results) - len(results)} cells without test_pass are "
                         "left out.")
    sentences.append(_settle_sentence(settle))
    sentences.append(_verdict_sentence(verdict, reason))
    return Finding(
        "test_pass_vs_score",
        title,
        claim,
        {
            "beyond_construction": beyond.to_dict(),
            "near_perfect_r": NEAR_PERFECT_R,
            "construction_r": construction,
            "pooled": pooled.to_dict(),
            "within_task": {t: c.to_dict() for t, c in within.items()},
            "repeated_measures": repeated.to_dict(),
            "settle": settle.to_dict(),
        },
        verdict,
        reason,
        " ".join(sentences),
    )


def _construction_r(results: pd.DataFrame, share: float | None) -> float | None:
    """The pooled r of test_pass with score if score = share × test_pass + a rest unrelated to
    test_pass (the rest's observed spread): share·sd(tp) / √(share²·var(tp) + var(rest))."""
    if share is None or len(results) < 2:
        return None
    test_pass = results["test_pass"].to_numpy(dtype=float)
    rest = results["score"].to_numpy(dtype=float) - share * test_pass
    spread = share**2 * test_pass.var(ddof=1) + rest.var(ddof=1)
    return finite_or_none(share * test_pass.std(ddof=1) / math.sqrt(spread)) if spread > 0 \
        else None


def _settle_sentence(settle: SettleResult, about: str = "") -> str:
    """What data would settle the claim, in one sentence (``settle`` of the statistics);
    ``about`` names the part of the rule it is computed for, where that is not all of it."""
    if settle.min_n_attainable is None and settle.n_for_80_power is None:
        return f"What data would settle it cannot be said: {settle.reason}."
    parts = []
    if settle.min_n_attainable is not None:
        parts.append(f"the rule can decide at all only with at least "
                     f"{settle.min_n_attainable} {settle.unit}")
    if settle.n_for_80_power is not None:
        approximately = "about " if "approximate" in (settle.method or "") else ""
        parts.append(f"{approximately}{settle.n_for_80_power} {settle.unit} would give 80% "
                     "power at the observed effect")
    elif settle.reason:
        parts.append(f"no power estimate ({settle.reason})")
    unit = settle.unit[:-1] if settle.n_observed == 1 else settle.unit
    return (f"What data would settle it{about}: {'; '.join(parts)} (these data have "
            f"{settle.n_observed} {unit}).")


# ----------------------------------------------------------------------------------------------
# Finding 4
# ----------------------------------------------------------------------------------------------
def hard_task_boundary(dataset: Dataset, *, size_column: str = "params_b") -> Finding:
    """Does passing the hardest level separate larger models from smaller ones?

    A model passes the hardest level when its score on that level (the weight-weighted mean of
    its task scores, :func:`.scoring.level_scores`) is at least the weighted mean of the level's
    pass thresholds (with one task per level: score >= the task's threshold); a model missing a
    hardest-level task has ``passed`` null. Among models with known size,
    ``min_attainable_p`` = 1 / C(n_known, n_passing): the chance that the passing models are
    exactly the largest ones if passing were unrelated to size (null unless some pass and some
    fail); ``smallest_attainable_p`` = 1 / C(n_known, ⌊n_known / 2⌋) is the best any split could
    reach. Rule: *supported* iff some pass, some fail, every passing model is larger than every
    failing one and min_attainable_p < 0.05; *contradicted* iff some failing model is larger
    than some passing model; *inconclusive* otherwise; *not_computable* when no model has both a
    known size and a known pass status, or without pass thresholds.
    """
    title = "Hardest level as a capability boundary"
    claim = claim_text(dataset, "hard_task_boundary")
    if (missing := missing_measure(dataset, "pass_threshold")) is not None:
        return _not_computable("hard_task_boundary", title, claim, missing)
    tasks = dataset.tasks
    hardest = dataset.levels[-1]
    hard_tasks = tasks.loc[tasks["difficulty"] == hardest, "task"]
    thresholds = dict(zip(hard_tasks, tasks.loc[hard_tasks.index, "pass_threshold"].astype(float),
                          strict=True))
    within = level_task_weights(dataset)
    level_threshold = float((within.loc[list(hard_tasks), "weight"]
                             * pd.Series(thresholds)).sum())

    models = sorted(dataset.results["model"].unique())
    on_level = level_scores(dataset, "score")[hardest].reindex(models)
    passed_all = (on_level >= level_threshold).where(on_level.notna())
    passed = {m: (None if pd.isna(v) else bool(v)) for m, v in passed_all.items()}

    sizes = model_sizes(dataset, size_column).reindex(models)
    without_size = sorted(sizes.index[sizes.isna()])
    size_of = dict(zip(sizes.index, sizes.to_numpy(), strict=True))  # (one lookup per model)
    judged = [m for m in models if passed[m] is not None and not math.isnan(size_of[m])]
    passing = [m for m in judged if passed[m]]
    failing = [m for m in judged if not passed[m]]
    test = size_test([size_of[m] for m in passing], [size_of[m] for m in failing])
    settle = settle_size_test([size_of[m] for m in passing], [size_of[m] for m in failing])

    flags = _inconsistent_flags(dataset)
    n_known_status = sum(v is not None for v in passed.values())
    n_passed = sum(bool(v) for v in passed.values())
    statistics: dict[str, Any] = {
        "hardest_level": hardest,
        "size_column": size_column,
        "thresholds": thresholds,
        "level_threshold": level_threshold,
        "level_scores": {m: finite_or_none(v) for m, v in on_level.items()},
        "passed": passed,
        "n_passed": n_passed,
        "n_models": n_known_status,
        "models_without_size": without_size,
        "n_known_size": len(judged),
        "size_test": test.to_dict(),
        "settle": settle.to_dict(),
        "inconsistent_flags": flags,
        "aggregated_flag_disagreements": _aggregated_disagreements(dataset),
    }

    if not judged:
        verdict: Verdict = "not_computable"
        reason = "no model has both a known size and a known pass status"
    elif not passing or not failing:
        verdict = "inconclusive"
        reason = ("no model passes, so the level separates no group of models" if not passing
                  else "every model passes, so the level separates no group of models")
    else:
        verdict, reason = size_verdict(test)

    n_hard = len(hard_tasks)
    on_it = ("a score on it" if n_hard == 1 else
             f"a score on it (the weighted mean over its {n_hard} tasks)")
    bar = ("the pass threshold" if n_hard == 1 else "the weighted mean of their pass thresholds")
    sentences = [
        f"{n_passed} of {n_known_status} models pass the {hardest} level ({on_it} of at least "
        f"{fmt.num(level_threshold)}, {bar}).",
    ]
    if passing and failing:
        separated = ("every passing model is larger than every failing one" if test.separated
                     else "passing and failing models overlap in size")
        sentences.append(
            f"Passing: {fmt.names(passing, at_most=MAX_NAMED_MODELS)}; failing: "
            f"{fmt.names(failing, at_most=MAX_NAMED_MODELS)}; {separated}. Their sizes "
            f"({size_column}) differ with U = {fmt.short(test.statistic)} "
            f"({test.method}, {fmt.pval(test.p_value)}; {test.direction}).")
        if test.min_attainable_p is not None and test.min_attainable_p >= ALPHA:
            sentences.append(
                f"With {len(passing)} passing and {len(failing)} failing models of known size, "
                f"even the most extreme split by size gives p = "
                f"{fmt.short(test.min_attainable_p, 3)}, so no outcome could reach "
                f"p < {ALPHA:g}.")
    if without_size:
        sentences.append("Left out for unknown size: "
                         f"{fmt.names(without_size, at_most=MAX_NAMED_MODELS)}.")
    if flags:
        sentences.append(
            f"Warning: {len(flags)} row{'s' if len(flags) != 1 else ''} of results.csv "
            f"disagree{'s' if len(flags) == 1 else ''} with score >= pass_threshold in the "
            "passed column."
        )
    if disagreements := statistics["aggregated_flag_disagreements"]:
        sentences.append(
            f"Warning: for {len(disagreements)} cell{'s' if len(disagreements) != 1 else ''}, "
            "the majority of runs passing disagrees with the mean score against the threshold "
            "(listed in aggregated_flag_disagreements).")
    sentences.append(_settle_sentence(settle))
    sentences.append(_verdict_sentence(verdict, reason))
    return Finding(
        "hard_task_boundary",
        title,
        claim,
        statistics,
        verdict,
        reason,
        " ".join(sentences),
    )


def _disagreeing(dataset: Dataset, frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``frame`` (run rows or cells) whose ``passed`` disagrees with
    score >= their task's pass_threshold, with that threshold as a column."""
    passed = frame["passed"].to_numpy(dtype=float, na_value=math.nan)  # (1, 0 or NaN)
    # Looked up once per distinct task, then spread by code (Series.map over a million run
    # rows' names took 4x the time).
    codes, tasks = pd.factorize(frame["task"])
    threshold = dataset.tasks.set_index("task")["pass_threshold"].reindex(tasks).to_numpy()[codes]
    known = ~np.isnan(passed) & ~np.isnan(threshold)
    with np.errstate(invalid="ignore"):
        disagree = known & ((passed == 1) != (frame["score"].to_numpy() >= threshold))
    return frame[disagree].assign(pass_threshold=threshold[disagree])


def _aggregated_disagreements(dataset: Dataset) -> list[dict[str, Any]]:
    """Under mean aggregation of repeated runs: cells whose pass flag (a majority of runs
    passed) disagrees with their mean score >= pass_threshold (each run may agree with its own
    flag, and the cell still not)."""
    if not dataset.has_runs or dataset.aggregate != "mean":
        return []
    return [{"model": str(r.model), "task": str(r.task), "mean_score": float(r.score),
             "pass_threshold": float(r.pass_threshold), "majority_passed": bool(r.passed)}
            for r in _disagreeing(dataset, dataset.results).itertuples(index=False)]


def _inconsistent_flags(dataset: Dataset) -> list[dict[str, Any]]:
    """Rows of results.csv (run rows) whose ``passed`` disagrees with score >= pass_threshold."""
    assert dataset.runs is not None
    return [
        {"model": str(r.model), "task": str(r.task), "run": int(r.run), "score": float(r.score),
         "pass_threshold": float(r.pass_threshold), "passed": bool(r.passed)}
        for r in _disagreeing(dataset, dataset.runs).itertuples(index=False)
    ]


# ----------------------------------------------------------------------------------------------
# Run-level results and step logs (issue 5)
# ----------------------------------------------------------------------------------------------
#: A run row's score "differs from the formula" when it is further than this from it.
COMPONENT_TOLERANCE = 0.01
#: Step log file names, as texts name them.
_STEP_LOG_FILES = "steps.jsonl, steps.csv or steps.parquet"
_DESCRIPTIVE_REASON = "the finding describes the data and tests no claim"


def recomputed_scores(runs: pd.DataFrame, weights: dict[str, float],
                      clamp: tuple[float, float] | None = None) -> pd.Series:
    """A grader formula's score for every row: Σ weight × column, clamped to ``clamp``.

    Examples
    --------
    >>> row = pd.DataFrame({"test_pass": [1.0], "lint_score": [0.5]})
    >>> recomputed_scores(row, {"test_pass": 0.4, "lint_score": 0.6}).round(6).tolist()
    [0.7]
    >>> recomputed_scores(row, {"test_pass": 1.0, "lint_score": 0.6}, (0.0, 0.999)).tolist()
    [0.999]
    """
    raw = runs[list(weights)].to_numpy(dtype=float) @ np.array(list(weights.values()))
    if clamp is not None:
        raw = np.clip(raw, *clamp)
    return pd.Series(raw, index=runs.index, name="recomputed")


def grader_formula(weights: dict[str, float], clamp: tuple[float, float] | None) -> str:
    """``clamp(0.40 x test_pass + ..., 0.001, 0.999)`` (no clamp: the sum alone)."""
    terms = " + ".join(f"{w:.2f} x {c}" for c, w in weights.items())
    return terms if clamp is None else f"clamp({terms}, {clamp[0]:g}, {clamp[1]:g})"


def score_components(dataset: Dataset) -> Finding:
    """How each model's weighted score splits into the grader formula's components.

    With the component columns (``lint_score, efficiency_score, review_quality,
    reflection_quality``, and ``test_pass`` as the test component), ``by_model`` gives, per
    model, each component's contribution to its weighted score, grader weight × Σ_t task
    weight × component (cells combined by the data set's run protocol), and the ``residual``
    (weighted score minus the contributions: clamping, and scores that do not follow the
    formula). ``mismatches`` lists every run row whose score differs from the clamped formula
    by more than 0.01.

    Verdict: *descriptive*; *not_computable* without the component columns.
    """
    runs = dataset.runs
    assert runs is not None
    title = "Score components"
    label = score_label(dataset)
    grader = getattr(dataset.profile, "grader", None)
    if grader is None:
        return _not_computable(
            "score_components", title,
            f"How each model's {label} splits into the grader's weighted components.",
            "it needs the grader formula (the grader entry of the data's benchmark.json: "
            "the component columns, their weights and the clamp)")
    weights, clamp = dict(grader.weights), grader.clamp
    missing = [c for c in weights if c not in runs.columns or not runs[c].notna().all()]
    statistics: dict[str, Any] = {
        "weights": weights,
        "clamp": None if clamp is None else list(clamp),
        "tolerance": COMPONENT_TOLERANCE,
        "missing_columns": missing,
        "n_run_rows": len(runs),
        "by_model": None,
        "mismatches": None,
    }
    claim = (f"How each model's {label} splits into the grader's {len(weights)} weighted "
             f"components, {grader_formula(weights, clamp)}, and which rows' scores do not "
             "follow that formula.")
    if missing:
        reason = (f"results.csv has no values in column "
                  f"{fmt.names(missing, conjunction='or')}")
        text = (f"Add the grader component columns {fmt.names(list(weights))} to results.csv "
                "to split scores into components and check them against the formula. "
                f"{_verdict_sentence('not_computable', reason)}")
        return Finding("score_components", title, claim, statistics, "not_computable", reason,
                       text)

    recomputed = recomputed_scores(runs, weights, clamp)
    off = (runs["score"] - recomputed).abs() > COMPONENT_TOLERANCE
    bad = runs.loc[off].assign(recomputed=recomputed[off])
    mismatches = [
        {"model": str(r.model), "task": str(r.task), "run": int(r.run), "score": float(r.score),
         "recomputed": float(r.recomputed)}
        for r in bad.itertuples(index=False)
    ]

    per_task = task_weights(dataset)
    score_table = score_matrix(dataset, "score")
    models = list(score_table.index)
    by_model: dict[str, dict[str, float | None]] = {}

    def weighted_sum(column: str) -> pd.Series:
        # A model missing any task has no weighted score, so no split either.
        values = score_matrix(dataset, column).to_numpy(dtype=float)
        return pd.Series(weighted_total(values, per_task))

    total = weighted_sum("score")
    complete = total.notna().to_numpy()
    parts = {c: g * weighted_sum(c) for c, g in weights.items()}
    residual = total - sum(parts.values())
    for i, model in enumerate(models):
        entry: dict[str, float | None] = {"teamforge_score": finite_or_none(total[i])}
        entry.update({c: finite_or_none(parts[c][i]) for c in weights})
        entry["residual"] = finite_or_none(residual[i])
        by_model[model] = entry
    statistics["by_model"] = by_model
    statistics["mismatches"] = mismatches

    n = len(runs)
    sentences = [
        f"Of {n} row{'s' if n != 1 else ''} of results.csv, {len(mismatches)} "
        f"ha{'ve' if len(mismatches) != 1 else 's'} a score more than "
        f"{fmt.short(COMPONENT_TOLERANCE)} away from the grader's formula"
        + (": " + "; ".join(
            f"{m['model']} on {m['task']}, run {m['run']} (score {fmt.num(m['score'], 3)}, "
            f"formula {fmt.num(m['recomputed'], 3)})" for m in mismatches[:5])
           + (f"; and {len(mismatches) - 5} more" if len(mismatches) > 5 else "")
           if mismatches else "")
        + ".",
    ]
    if complete.any():
        mean_parts = {c: float(parts[c].mean()) for c in weights}
        n_complete = int(complete.sum())
        sentences.append(
            f"Averaged over the {n_complete} model{'s' if n_complete != 1 else ''} with every "
            f"task ({dataset.aggregate} over runs), the {label} of "
            f"{fmt.num(float(total.mean()))} is made of "
            + ", ".join(f"{c} {fmt.num(v)}" for c, v in mean_parts.items())
            + f" and a residual of {fmt.num(float(residual.mean()))}."
        )
    sentences.append(_verdict_sentence("descriptive", _DESCRIPTIVE_REASON))
    return Finding("score_components", title, claim, statistics, "descriptive",
                   _DESCRIPTIVE_REASON, " ".join(sentences))


def _step_log_missing(finding_id: str, title: str, claim: str, statistics: dict[str, Any]
                      ) -> Finding:
    reason = "the data folder has no step log"
    text = (f"Add {_STEP_LOG_FILES} (one row per agent step: model, task, run, step, action, "
            "reward) to the data folder to compute this finding. "
            f"{_verdict_sentence('not_computable', reason)}")
    return Finding(finding_id, title, claim, statistics, "not_computable", reason, text)


def planning_depth_vs_success(dataset: Dataset) -> Finding:
    """Do episodes with more planning succeed more often?

    An episode is a run row with steps in the step log; its planning depth is its number of
    ``plan_step`` actions (0 when it has none). ``depth_vs_score`` and ``depth_vs_passed``
    (point-biserial: passed as 0/1) correlate depth with the run's score and pass flag over all
    episodes; ``within_task`` correlates depth with score within each task.

    ``stratified``: the same point-biserial r with a permutation p that shuffles depth only
    among episodes of the same model and task (:func:`.stats.stratified_permutation_correlation`),
    since only those are exchangeable under the null.

    Rule, on ``stratified``: supported iff r > 0 with p < 0.05; contradicted iff r < 0 with
    p < 0.05; else inconclusive; not_computable when r or p is undefined or there is no step
    log.
    """
    from .steps import dataset_episodes

    title = "Planning depth vs success"
    claim = claim_text(dataset, "planning_depth_vs_success")
    statistics: dict[str, Any] = {
        "episodes": 0,
        "runs_without_steps": None,
        "planning_depth": None,
        "depth_vs_score": None,
        "depth_vs_passed": None,
        "within_task": {},
    }
    if dataset.steps is None:
        return _step_log_missing("planning_depth_vs_success", title, claim, statistics)

    runs = dataset.runs
    assert runs is not None
    table = dataset_episodes(dataset, with_runs=True, summaries=("planning_depth",))
    depth = table["planning_depth"].astype(float)
    by_score = correlation(depth, table["score"])
    passed = table["passed"].astype("Float64").to_numpy(dtype=float, na_value=math.nan)
    by_passed = correlation(depth, passed)
    stratified = stratified_permutation_correlation(
        depth, passed, list(zip(table["model"], table["task"], strict=True)))
    settle = replace(settle_correlation(stratified.r, stratified.n), unit="episodes")
    within = {
        str(task): correlation(group["planning_depth"].astype(float), group["score"])
        for task, group in table.groupby("task", sort=True)
    }
    statistics.update({
        "episodes": len(table),
        "runs_without_steps": len(runs) - len(table),
        "planning_depth": {
            "mean": finite_or_none(depth.mean()),
            "median": finite_or_none(depth.median()),
            "min": int(depth.min()),
            "max": int(depth.max()),
        },
        "depth_vs_score": by_score.to_dict(),
        "depth_vs_passed": by_passed.to_dict(),
        "stratified": stratified.to_dict(),
        "within_task": {task: res.to_dict() for task, res in within.items()},
        "settle": settle.to_dict(),
    })
    verdict, reason = _correlation_rule(
        stratified.r, stratified.p_value, "stratified permutation ",
        f"the stratified permutation test is undefined ({stratified.reason})")

    n_models, n_tasks = table["model"].nunique(), table["task"].nunique()
    sentences = [
        f"Across {len(table)} episodes (runs with a step log: {n_models} models x {n_tasks} "
        f"tasks), planning depth (plan_step actions per episode) ranges from "
        f"{int(depth.min())} to {int(depth.max())} (median {fmt.short(depth.median())}).",
        f"Depth vs the run's score: {_corr_phrase(by_score)}; depth vs passing "
        f"(point-biserial, passed = 1): {_corr_phrase(by_passed)}.",
        "Within tasks, depth vs score: "
        + "; ".join(f"{task} {_corr_phrase(res)}" for task, res in within.items()) + ".",
        (f"Shuffling depth only among episodes of the same model and task "
         f"({stratified.strata} strata), the permutation {fmt.pval(stratified.p_value)}."
         if stratified.p_value is not None else
         f"No within-stratum permutation p: {stratified.reason}."),
        "Episodes of the same model or task are not independent, so the unstratified p-values "
        "are optimistic; a correlation does not show that planning causes success.",
    ]
    left_out = statistics["runs_without_steps"]
    if left_out:
        sentences.append(f"{left_out} run{'s' if left_out != 1 else ''} without steps in the "
                         "log are left out.")
    sentences.append(_settle_sentence(settle))
    sentences.append(_verdict_sentence(verdict, reason))
    return Finding("planning_depth_vs_success", title, claim, statistics, verdict, reason,
                   " ".join(sentences))


def reward_trajectories(dataset: Dataset) -> Finding:
    """How the dense per-step reward evolves over an episode, per difficulty level.

    Per level: ``episodes``; ``mean_total_reward`` (mean over episodes of the summed reward);
    ``mean_reward_slope`` (mean over episodes of at least two steps of the least-squares slope
    of reward against the position (step − first) / (last − first)); ``declining_fraction``
    (share of those episodes with a negative slope); ``steps_to_first_full_pass`` (median,
    over episodes that reach tests_passed = tests_total > 0, of the first step where they do;
    null if none). Standard deviations and counts go with each mean.

    Verdict: *descriptive*; *not_computable* without a step log.
    """
    from .steps import dataset_episodes

    title = "Reward trajectories"
    claim = claim_text(dataset, "reward_trajectories")
    statistics: dict[str, Any] = {"episodes": 0, "has_test_counts": False, "by_difficulty": {}}
    if dataset.steps is None:
        return _step_log_missing("reward_trajectories", title, claim, statistics)

    steps = dataset.steps
    table = dataset_episodes(dataset, with_tasks=True, summaries=(
        "total_reward", "reward_slope", "first_full_pass_step"))
    has_tests = bool(steps["tests_total"].notna().any() and steps["tests_passed"].notna().any())
    grouped = table.groupby("difficulty", sort=False)
    summary = grouped.agg(
        episodes=("total_reward", "size"),
        mean_total_reward=("total_reward", "mean"),
        sd_total_reward=("total_reward", "std"),
        mean_reward_slope=("reward_slope", "mean"),
        sd_reward_slope=("reward_slope", "std"),
        episodes_with_slope=("reward_slope", "count"),
        steps_to_first_full_pass=("first_full_pass_step", "median"),
        episodes_with_full_pass=("first_full_pass_step", "count"),
    )
    declining = (table["reward_slope"] < 0).groupby(table["difficulty"]).sum()
    summary["declining_fraction"] = declining / summary["episodes_with_slope"].where(
        summary["episodes_with_slope"] > 0)
    levels = [lvl for lvl in dataset.levels if lvl in summary.index]
    by_difficulty: dict[str, dict[str, Any]] = {}
    for level in levels:
        row = summary.loc[level]
        by_difficulty[level] = {
            "episodes": int(row["episodes"]),
            "mean_total_reward": finite_or_none(row["mean_total_reward"]),
            "sd_total_reward": finite_or_none(row["sd_total_reward"]),
            "mean_reward_slope": finite_or_none(row["mean_reward_slope"]),
            "sd_reward_slope": finite_or_none(row["sd_reward_slope"]),
            "episodes_with_slope": int(row["episodes_with_slope"]),
            "declining_fraction": finite_or_none(row["declining_fraction"]),
            "steps_to_first_full_pass": finite_or_none(row["steps_to_first_full_pass"]),
            "episodes_with_full_pass": int(row["episodes_with_full_pass"]),
        }
    statistics.update({"episodes": len(table), "has_test_counts": has_tests,
                       "by_difficulty": by_difficulty})

    def level_sentence(level: str) -> str:
        s = by_difficulty[level]
        parts = [f"mean total reward {fmt.num(s['mean_total_reward'])} "
                 f"(SD {fmt.num(s['sd_total_reward'])}, n = {s['episodes']})"]
        if s["episodes_with_slope"]:
            parts.append(
                f"mean slope {fmt.num(s['mean_reward_slope'])}, declining in "
                f"{fmt.short(100 * s['declining_fraction'], 0)}% of "
                f"{s['episodes_with_slope']} episodes")
        if has_tests:
            parts.append(
                f"first full test pass at step {fmt.short(s['steps_to_first_full_pass'], 1)} "
                f"(median of {s['episodes_with_full_pass']} episodes that reach one)"
                if s["episodes_with_full_pass"] else "no episode passes every test")
        return f"{level}: " + ", ".join(parts)

    sentences = [
        f"Across {len(table)} episodes of the step log (slope: the least-squares change in "
        "per-step reward from an episode's first step to its last), by difficulty: "
        + "; ".join(level_sentence(lvl) for lvl in levels) + ".",
    ]
    if not has_tests:
        sentences.append("The step log has no tests_passed/tests_total, so the step of the "
                         "first full test pass is unknown.")
    sentences.append(_verdict_sentence("descriptive", _DESCRIPTIVE_REASON))
    return Finding("reward_trajectories", title, claim, statistics, "descriptive",
                   _DESCRIPTIVE_REASON, " ".join(sentences))


#: Every finding, in report order.
FINDINGS: tuple[Callable[[Dataset], Finding], ...] = (
    scale_vs_difficulty,
    step_efficiency,
    test_pass_vs_score,
    hard_task_boundary,
    score_components,
    planning_depth_vs_success,
    reward_trajectories,
)


def all_findings(dataset: Dataset) -> list[Finding]:
    """Every finding for ``dataset``, in report order."""
    require_dataset(dataset)
    return [compute(dataset) for compute in FINDINGS]



#: For each finding on (model, task) cells: the results.csv columns it reads, and whether it
#: reads model sizes.
_CELL_INPUTS: dict[str, tuple[tuple[str, ...], bool]] = {
    "scale_vs_difficulty": (("score",), True),
    "step_efficiency": (("steps",), False),
    "test_pass_vs_score": (("test_pass", "score"), False),
    "hard_task_boundary": (("score", "passed"), True),
}
#: For each step-log finding: the columns of :func:`.steps.episodes` it reads.
_EPISODE_INPUTS: dict[str, tuple[str, ...]] = {
    "planning_depth_vs_success": ("planning_depth", "n_steps", "score", "passed"),
    "reward_trajectories": ("n_steps", "total_reward", "reward_slope", "first_full_pass_step"),
}
_INPUT_IDS: tuple[str, ...] = (*_CELL_INPUTS, "score_components", *_EPISODE_INPUTS)


def _cell_inputs(dataset: Dataset, finding_id: str, size_column: str) -> pd.DataFrame:
    columns, reads_size = _CELL_INPUTS[finding_id]
    tasks = dataset.tasks.set_index("task")
    rows = dataset.results[["model", "task", *columns]]
    if finding_id == "hard_task_boundary":
        hardest = rows["task"].map(tasks["difficulty"]) == levels_present(dataset)[-1]
        rows = rows[hardest].assign(
            pass_threshold=lambda frame: frame["task"].map(tasks["pass_threshold"])
        )
    if reads_size:
        rows = rows.assign(**{size_column: rows["model"].map(model_sizes(dataset, size_column))})
    return rows


def _component_inputs(dataset: Dataset) -> pd.DataFrame:
    runs = dataset.runs
    assert runs is not None
    grader = getattr(dataset.profile, "grader", None)
    components = ("test_pass", *COMPONENT_COLUMNS) if grader is None else tuple(grader.weights)
    present = [c for c in components if c in runs.columns]
    rows = runs[["model", "task", "run", "score", *present]]
    if grader is not None and len(present) == len(components):
        rows = rows.assign(recomputed=recomputed_scores(runs, dict(grader.weights),
                                                        grader.clamp))
        rows = rows[["model", "task", "run", "score", "recomputed", *present]]
    return rows


def _episode_inputs(dataset: Dataset, columns: tuple[str, ...]) -> pd.DataFrame:
    from .steps import EPISODE_KEY, dataset_episodes

    keys = list(EPISODE_KEY)
    if dataset.steps is None:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in (*keys, *columns)})
    return dataset_episodes(dataset, with_runs=True)[[*keys, *columns]]


def finding_inputs(dataset: Dataset, finding_id: str, *, size_column: str = "params_b"
                   ) -> pd.DataFrame:
    """The rows a finding reads, in long form.

    Parameters
    ----------
    dataset
        A loaded data set.
    finding_id
        One of the ids of :data:`FINDINGS` (``scale_vs_difficulty``, ...).
    size_column
        The models.csv column used as model size by the findings that read sizes.

    Returns
    -------
    pandas.DataFrame
        Columns ``model, task, difficulty``, then what the finding reads:

        - the first four findings read one row per (model, task) cell: the results columns
          the finding reads, then ``size_column`` for findings that correlate with size;
          ``hard_task_boundary`` reads only the hardest level's rows and also gets
          ``pass_threshold``;
        - ``score_components`` reads one row per run of results.csv: ``run, score``, then
          ``recomputed`` (the grader's formula, :func:`recomputed_scores`) and the five
          component columns when results.csv has them all (else only those it has);
        - ``planning_depth_vs_success`` and ``reward_trajectories`` read one row per episode
          of the step log (:func:`.steps.episodes`): ``run`` and the episode columns they use;
          no rows when the data set has no step log.

        Rows are ordered by model, then difficulty (easiest first), then task, then run.

    Examples
    --------
    >>> from teamforge_analysis.io import load_dataset
    >>> rows = finding_inputs(load_dataset(), "hard_task_boundary")
    >>> list(rows.columns)
    ['model', 'task', 'difficulty', 'score', 'passed', 'pass_threshold', 'params_b']
    >>> len(rows)
    4
    >>> list(finding_inputs(load_dataset(), "score_components").columns)
    ['model', 'task', 'difficulty', 'run', 'score', 'test_pass']
    >>> len(finding_inputs(load_dataset(), "reward_trajectories"))  # no step log
    0
    """
    if finding_id not in _INPUT_IDS:
        raise ValueError(f"unknown finding {finding_id!r}; expected one of "
                         f"{', '.join(_INPUT_IDS)}")
    if finding_id in _CELL_INPUTS:
        rows = _cell_inputs(dataset, finding_id, size_column)
    elif finding_id == "score_components":
        rows = _component_inputs(dataset)
    else:
        rows = _episode_inputs(dataset, _EPISODE_INPUTS[finding_id])
    difficulty = rows["task"].map(dataset.tasks.set_index("task")["difficulty"])
    level_order = difficulty.map({lvl: i for i, lvl in enumerate(dataset.levels)})
    order = ["model", "_level", "task", *(["run"] if "run" in rows else [])]
    rows = rows.assign(difficulty=difficulty, _level=level_order).sort_values(order,
                                                                               kind="stable")
    ordered = ["model", "task", "difficulty", *[c for c in rows if c not in
                                                ("model", "task", "difficulty", "_level")]]
    return rows[ordered].reset_index(drop=True)
