"""Finding 1: does model size predict the hardest level's scores more than the easiest's?"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import _fmt as fmt
from ..dataset import Dataset
from ..inference import (
    ConcordanceResult,
    floor_ceiling_warning,
    kendalls_w,
    leave_one_out_correlations,
    min_attainable_correlation_p,
    settle_correlation,
)
from ..scoring import level_scores_with_gaps
from ..stats import (
    CORRELATION_MIN_N,
    CorrelationResult,
    DifferenceResult,
    correlation,
    finite_or_none,
    zou_difference,
)
from ..tables import (
    CORR_HEADERS,
    MAX_TABLE_ROWS,
    Table,
    corr_row,
    frame_table,
    more_rows_note,
)
from ._common import (
    ALPHA,
    MAX_NAMED_MODELS,
    Definition,
    Finding,
    Verdict,
    corr_phrase,
    correlation_rule,
    difficulty_means,
    gap_records,
    left_out_sentence,
    model_sizes,
    ordered_inputs,
    power_sentence,
    settle_sentence,
    significant,
    size_measures,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class ScaleVsDifficulty(Definition):
    """Does model size predict the hardest level's scores more than the easiest level's?"""

    id = "scale_vs_difficulty"
    title = "Model scale vs task difficulty"
    reads_size = True
    generic_claim = ("Model size predicts scores on the hardest level more strongly than on the "
                     "easiest level.")
    computes = (
        "Per model, the score on each difficulty level: the weight-weighted mean of its task "
        "scores on that level (Σ weight × score / Σ weight over the level's tasks; equal "
        "weights without a `weight` column; a level whose weights are all zero weighs its tasks "
        "equally, with a warning among the caveats). A model without a result on some task of a "
        "level has no score on that level and is left out of that level's statistics "
        "(`left_out_of_levels` names it and why). The level scores are correlated across models "
        "with `params_b` (`by_difficulty`). `hard_minus_easy` is r(hardest) − r(easiest) with "
        "Zou's (2007) 95% interval for two overlapping dependent correlations (both share size; "
        "the third correlation is between the hardest- and easiest-level scores), on the models "
        "that "
        "have both; null when n ≤ 3 or any |r| = 1. `sensitivity` repeats the correlations "
        "with total parameters, active parameters (where given, else the total; only when some "
        "model gives them) and log10(total), each only when at least "
        f"{CORRELATION_MIN_N} models have a value, and `sensitivity_verdicts` applies the rule "
        "under each."
    )
    rule = (
        f"*Supported* iff the hardest level's r > 0 with p < {ALPHA:g} and the whole Zou "
        "interval for r(hardest) − r(easiest) is above 0; *contradicted* iff that interval is "
        f"below 0, or the hardest level's r < 0 with p < {ALPHA:g}; otherwise *inconclusive*; "
        "*not computable* with fewer than two difficulty levels or when a statistic the rule "
        "needs is null."
    )
    inputs_caption = "Scores and model sizes"
    figure_shows = ("each model's level scores joined from the easiest level to the hardest; "
                    "the correlation of size with score at each level with its 95% interval; "
                    "the hardest minus easiest difference of the correlations with Zou's "
                    "interval")

    def compute(self, dataset: Dataset, *, size_column: str = "params_b") -> Finding:
        sizes = model_sizes(dataset, size_column)
        means, gaps = level_scores_with_gaps(dataset, "score")
        levels = list(means.columns)
        statistics: dict[str, Any] = {
            "size_column": size_column,
            "models_without_size": sorted(sizes.index[sizes.isna()]),
            "left_out_of_levels": gap_records(dataset, gaps, "score"),
            "by_difficulty": {},
            "hardest": levels[-1] if len(levels) >= 2 else None,
            "easiest": levels[0] if len(levels) >= 2 else None,
            "hard_minus_easy": None,
            "sensitivity": {},
            "sensitivity_verdicts": {},
        }
        if len(levels) < 2:
            statistics["by_difficulty"] = {
                level: correlation(sizes.reindex(means.index), means[level]).to_dict()
                for level in levels}
            reason = (f"the rule compares two difficulty levels and only {fmt.names(levels)} "
                      "is present")
            return Finding(self.id, self.title, self.claim(dataset), statistics,
                           "not_computable", reason, f"Not computable: {reason}.")
        evidence = _scale_evidence(means, sizes)
        statistics["by_difficulty"] = {lvl: c.to_dict()
                                       for lvl, c in evidence.by_difficulty.items()}
        statistics["hard_minus_easy"] = {**evidence.difference.to_dict(),
                                         "r_between_levels": evidence.r_between_levels}
        sensitivity = _sensitivity(dataset, means, sizes, evidence)
        statistics["sensitivity"] = {
            name: {lvl: c.to_dict() for lvl, c in ev.by_difficulty.items()}
            for name, ev in sensitivity.items()}
        statistics["sensitivity_verdicts"] = {name: ev.verdict
                                              for name, ev in sensitivity.items()}
        known = sizes.index[sizes.notna()].intersection(means.index)
        hard_means = means.loc[known, levels[-1]]
        robust = _Robustness(
            min_attainable_correlation_p(sizes.reindex(known), hard_means),
            leave_one_out_correlations(sizes.reindex(known), hard_means), kendalls_w(means),
            floor_ceiling_warning(means))
        settle = settle_correlation(evidence.by_difficulty[levels[-1]].r, evidence.n_known)
        statistics.update({
            "min_attainable_p": robust.floor.to_dict(),
            "leave_one_out": [_leave_one_out_record(row)
                              for row in robust.leave_out.to_dict(orient="records")],
            "rank_concordance": robust.concordance.to_dict(),
            "floor_ceiling": robust.floor_ceiling,
            "settle": settle.to_dict(),
        })
        sentences = _sentences(statistics, evidence, robust, levels)
        sentences.append(settle_sentence(settle, f" (for the {levels[-1]}-level correlation, "
                                                  "one half of the rule)"))
        return self.result(dataset, statistics, evidence.verdict, evidence.reason, sentences)

    def input_frame(self, dataset: Dataset, *, size_column: str = "params_b") -> pd.DataFrame:
        rows = dataset.results[["model", "task", "score"]]
        rows = rows.assign(**{size_column: rows["model"].map(model_sizes(dataset, size_column))})
        return ordered_inputs(dataset, rows)

    def input_tables(self, dataset: Dataset, **options: Any) -> list[Table]:
        return [*super().input_tables(dataset, **options),
                frame_table(difficulty_means(dataset, "score"),
                            "Mean score per model and difficulty level", number=fmt.score)]

    def evidence(self, statistics: dict[str, Any]) -> list[Table]:
        return _tables(statistics)

    def figure(self, finding: Finding) -> Figure | None:
        return _figure(finding)


scale_vs_difficulty = ScaleVsDifficulty()


@dataclass(frozen=True)
class _ScaleEvidence:
    by_difficulty: dict[str, CorrelationResult]
    difference: DifferenceResult
    r_between_levels: float | None
    n_known: int
    verdict: Verdict
    reason: str


@dataclass(frozen=True)
class _Robustness:
    floor: Any
    leave_out: pd.DataFrame
    concordance: ConcordanceResult
    floor_ceiling: list[dict[str, Any]]


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
    elif significant(hard.r, p, -1):
        verdict, reason = "contradicted", f"the {hardest}-level r is negative with {p_text}"
    elif significant(hard.r, p, +1) and diff.ci95[0] > 0:
        verdict = "supported"
        reason = (f"the {hardest}-level r is positive with {p_text} and the whole interval "
                  "for the difference is above 0")
    else:
        parts = []
        if not significant(hard.r, p, +1):
            parts.append(f"the {hardest}-level r is not significantly positive ({p_text})")
        if diff.ci95[0] <= 0:
            parts.append("the interval for the difference includes 0")
        verdict, reason = "inconclusive", fmt.names(parts)
    return _ScaleEvidence(by_difficulty, diff, between.r, len(known), verdict, reason)


def _sensitivity(dataset: Dataset, means: pd.DataFrame, sizes: pd.Series,
                 evidence: _ScaleEvidence) -> dict[str, _ScaleEvidence]:
    """The evidence under every size measure; a measure equal to one already used (params_b
    itself; active_params_b when no model gives active parameters) reuses its evidence."""
    done: list[tuple[pd.Series, _ScaleEvidence]] = [(sizes, evidence)]

    def evidence_for(measure: pd.Series) -> _ScaleEvidence:
        for used, found in done:
            if measure.equals(used):
                return found
        done.append((measure, _scale_evidence(means, measure)))
        return done[-1][1]

    return {name: evidence_for(measure) for name, measure in _measures_given(dataset).items()}


def _measures_given(dataset: Dataset) -> dict[str, pd.Series]:
    """The size measures the data have: active_params_b only when some model gives active
    parameters (else it is params_b under another name), and each only with enough known
    values for a correlation (else naming it would claim a check that was never made)."""
    active_given = bool(dataset.models["active_params_b"].notna().any())
    return {name: measure for name, measure in size_measures(dataset).items()
            if (name != "active_params_b" or active_given)
            and int(measure.notna().sum()) >= CORRELATION_MIN_N}


def _sentences(statistics: dict[str, Any], evidence: _ScaleEvidence, robust: _Robustness,
               levels: list[str]) -> list[str]:
    hardest, easiest = levels[-1], levels[0]
    n_known, diff, floor = evidence.n_known, evidence.difference, robust.floor
    sentences = [
        f"Across {n_known} model{'s' if n_known != 1 else ''} of known size "
        f"({statistics['size_column']}), the correlation of size with mean score is "
        + "; ".join(f"{corr_phrase(evidence.by_difficulty[lvl])} at {lvl} level"
                    for lvl in levels) + "."
    ]
    if diff.difference is not None:
        sentences.append(
            f"The difference r({hardest}) - r({easiest}) is {fmt.corr(diff.difference)} "
            f"({fmt.ci(diff.ci95, fmt.corr)}, Zou 2007, n = {diff.n}).")
    if floor.min_attainable_p is not None and floor.min_attainable_p >= ALPHA:
        sentences.append(
            f"With {floor.n} models, the smallest p the verdict's permutation test could give "
            f"is {fmt.p(floor.min_attainable_p)} (the most extreme arrangement of these "
            f"values), so no correlation at all could reach p < {ALPHA:g}.")
    elif power := power_sentence(evidence.by_difficulty[hardest]):
        sentences.append(power)
    sentences += _robustness_sentences(robust.leave_out, robust.concordance,
                                       robust.floor_ceiling, hardest)
    verdicts = statistics["sensitivity_verdicts"]
    # (said only with two measures or more: with one there is nothing to compare)
    if len(verdicts) > 1 and len(set(verdicts.values())) == 1:
        sentences.append(f"The verdict is the same under every size measure "
                         f"({fmt.names(list(verdicts))}).")
    elif len(verdicts) > 1:
        sentences.append("The verdict depends on how size is measured: " + "; ".join(
            f"{name}: {v.replace('_', ' ')}" for name, v in verdicts.items()) + ".")
    if without := statistics["models_without_size"]:
        sentences.append("Left out for unknown size: "
                         f"{fmt.names(without, at_most=MAX_NAMED_MODELS)}.")
    # Models of unknown size are out of every correlation already (named above), but
    # Kendall's W ranks every model with a score on each level.
    with_w = robust.concordance.w is not None
    gaps = statistics["left_out_of_levels"]
    for models, lead in (
            ([g for g in gaps if g["model"] not in set(without)],
             "Without a score on a level, left out of that level's correlation"
             + (" and of Kendall's W" if with_w else "")),
            ([g for g in gaps if g["model"] in set(without)] if with_w else [],
             "Of unknown size and without a score on a level, left out of Kendall's W too")):
        if left_out := left_out_sentence(models, lead):
            sentences.append(left_out)
    return sentences


def _leave_one_out_record(row: dict[str, Any]) -> dict[str, Any]:
    """A leave-one-out correlation with the hardest level's half of the rule applied to it."""
    verdict = correlation_rule(row["r"], row["p_value"], "", "")[0]
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
            f"{fmt.corr(r.min())} to {fmt.corr(r.max())} (lowest without {lowest}).")
    if concordance.w is not None:
        agree = ("the models rank in the same order on every level"
                 if concordance.w >= 1 - 1e-12 else "the models' rankings across levels")
        sentences.append(
            f"Kendall's W = {fmt.corr(concordance.w)} ({agree}; {fmt.pval(concordance.p_value)}, "
            f"{concordance.method}).")
    for entry in floor_ceiling:
        sentences.append(
            f"Warning: at the {entry['level']} level {entry['n_floor'] + entry['n_ceiling']} of "
            f"{entry['n_models']} models score at a floor (<= 0.05) or ceiling (>= 0.95), which "
            "compresses the differences size could explain.")
    return sentences


def _tables(stats: dict[str, Any]) -> list[Table]:
    rows = [corr_row(level, c) for level, c in stats["by_difficulty"].items()]
    tables = [Table(f"Correlation of {stats['size_column']} with mean score, by difficulty",
                    CORR_HEADERS, tuple(rows))]
    diff = stats.get("hard_minus_easy")
    if diff:
        label = f"r({stats['hardest']}) - r({stats['easiest']})"
        tables.append(Table(
            "Difference of correlations (Zou 2007)",
            ("", "n", "difference", "95% CI"),
            ((label, fmt.count(diff["n"]), fmt.corr(diff["difference"]),
              fmt.span(diff["ci95"], fmt.corr)),),
            diff.get("reason"),
        ))
    leave_out = stats.get("leave_one_out") or []
    if leave_out:
        tables.append(Table(
            f"Leaving out one model: r at the {stats['hardest']} level without it",
            ("Left out", "n", "r", "p", "Hardest-level test then"),
            tuple((row["left_out"], fmt.count(row["n"]), fmt.corr(row["r"]),
                   fmt.p(row["p_value"]),
                   row["verdict_without"].replace("_", " "))
                  for row in leave_out[:MAX_TABLE_ROWS]),
            more_rows_note(len(leave_out), "leave_one_out")))
    concordance = stats.get("rank_concordance")
    if concordance:
        tables.append(Table(
            "Do the levels rank the models alike? (Kendall's W)",
            ("models", "levels", "W", "p", "method"),
            ((fmt.count(concordance["n_items"]), fmt.count(concordance["n_raters"]),
              fmt.corr(concordance["w"]), fmt.p(concordance["p_value"]),
              concordance["method"] or "n/a"),),
            concordance.get("reason")))
    sensitivity = stats.get("sensitivity") or {}
    if sensitivity:
        levels = list(next(iter(sensitivity.values())))
        tables.append(Table(
            "Sensitivity to the size measure: r (p used by the verdict) by difficulty",
            ("Size measure", *levels, "Verdict"),
            tuple(
                (name, *(_r_and_p(corrs[lvl]) for lvl in levels),
                 stats["sensitivity_verdicts"][name].replace("_", " "))
                for name, corrs in sensitivity.items()
            ),
        ))
    return tables


def _r_and_p(corr: dict[str, Any]) -> str:
    """``0.73 (0.333)``: r with the p the verdict rules use (permutation where computed)."""
    p = corr["p_permutation"] if corr["p_permutation"] is not None else corr["p_value"]
    return f"{fmt.corr(corr['r'])} ({fmt.p(p)})"


# ----------------------------------------------------------------------------------------------
# The figure
# ----------------------------------------------------------------------------------------------
def _figure(finding: Finding) -> Figure:
    from .. import plots

    dataset, stats = finding.dataset, finding.statistics
    assert dataset is not None
    means = difficulty_means(dataset, "score")
    levels = [lvl for lvl in dataset.levels if lvl in means.columns]
    means = means[levels]
    labelled = min(len(means), plots.MAX_LABELLED_MODELS)
    height = max(5.0, 0.24 * labelled + 1.8)
    figure = plots.PngFigure(figsize=(13.0, height), layout="constrained")
    slope_ax, r_ax, diff_ax = figure.subplots(1, 3, width_ratios=[1.6, 1.0, 0.5])
    sizes = model_sizes(dataset, stats["size_column"])
    _slope_graph(slope_ax, means, sizes, height)
    _r_by_level(r_ax, stats, levels)
    _difference_panel(diff_ax, stats)
    floor = (stats.get("min_attainable_p") or {}).get("min_attainable_p")
    # (said only where it bounds the verdict: no correlation could reach p < α)
    subtitle = (f"; with {stats['min_attainable_p']['n']} models the smallest attainable p is "
                f"{fmt.p(floor)}" if floor is not None and floor >= ALPHA else "")
    figure.suptitle(f"Scale vs difficulty ({plots.plain(stats['size_column'])}): "
                    f"{plots.verdict_label(finding)}{subtitle}", fontsize=plots.TITLE)
    return figure


def _slope_graph(ax: Any, means: pd.DataFrame, sizes: pd.Series, height: float) -> None:
    from .. import plots

    positions = np.arange(len(means.columns))
    hardest = means.iloc[:, -1]
    # Best at the hardest level first: those are named when there are too many to name all.
    order = list(hardest.sort_values(ascending=False, na_position="last", kind="stable").index)
    named = order[:plots.MAX_LABELLED_MODELS]
    styles = plots.model_styles(named)
    for model in reversed(order):  # the named, best models drawn last, on top
        y = means.loc[model].to_numpy(dtype=float)
        if model in styles:
            ax.plot(positions, y, color=styles[model]["color"], marker="o", markersize=5,
                    linewidth=1.6, gid=f"slope:{model}")
        else:
            ax.plot(positions, y, color="grey", alpha=0.35, linewidth=0.8)
    low = min(0.0, float(np.nanmin(means.to_numpy(dtype=float), initial=0.0)))
    high = max(1.0, float(np.nanmax(means.to_numpy(dtype=float), initial=1.0)))
    ax.set_ylim(low - 0.03, high + 0.04)
    ends, ys = [], []
    for model in named:
        y = means.loc[model].to_numpy(dtype=float)
        finite = np.flatnonzero(np.isfinite(y))
        if finite.size:
            ends.append((model, positions[finite[-1]]))
            ys.append(y[finite[-1]])
    gap = _text_height(height, high - low + 0.07)
    for (model, x), y in zip(ends, _spread(np.array(ys), gap, low, high), strict=True):
        size = sizes.get(model)
        size_text = fmt.given(size) if plots.is_finite(size) else "size unknown"
        ax.text(x + 0.07, y, f"{plots.name(model)} ({size_text})", color=styles[model]["color"],
                va="center", ha="left", fontsize=plots.SMALL)
    ax.set_xticks(positions, [plots.name(level) for level in means.columns], fontsize=plots.SMALL)
    # No right spine: the names start just past the hardest level, outside the axes.
    ax.set_xlim(-0.12, positions[-1] + 0.04)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_xlabel("difficulty level (easiest to hardest)", fontsize=plots.SMALL)
    ax.set_ylabel("level score (weighted mean over the level's tasks)", fontsize=plots.SMALL)
    title = f"Each model's level scores (name, {plots.plain(sizes.name or 'size')})"
    if len(order) > len(named):
        title += f"\n{len(order) - len(named)} more models drawn unlabelled in grey"
    ax.set_title(title, fontsize=plots.SMALL)
    ax.grid(axis="y", linewidth=0.5, alpha=0.4)


def _r_by_level(ax: Any, stats: Mapping[str, Any], levels: list[str]) -> None:
    from .. import plots

    by_level = stats["by_difficulty"]
    x = np.arange(len(levels))
    ticks = []
    for i, level in enumerate(levels):
        corr = by_level.get(level) or {}
        ticks.append(f"{plots.name(level)}\nn = {corr.get('n', 0)}")
        if corr.get("r") is None:
            ax.text(i, 0.05, "r undefined", ha="center", fontsize=plots.SMALL, rotation=90)
            continue
        r, interval = corr["r"], corr.get("ci95")
        yerr = None if not interval else [[r - interval[0]], [interval[1] - r]]
        bars = ax.errorbar([i], [r], yerr=yerr, fmt="o", capsize=4, markersize=6,
                           color=plots.LEVEL_COLOURS.get(level, "black"))
        bars.lines[0].set_gid(f"r:{level}")  # the point alone (for tests to find)
        ax.annotate(fmt.corr(r), (i, r), xytext=(7, 0), textcoords="offset points",
                    va="center", fontsize=plots.SMALL)
    out = [row["r"] for row in stats.get("leave_one_out") or [] if row.get("r") is not None]
    if out and stats.get("hardest") in levels:
        at = levels.index(stats["hardest"]) - 0.22
        ax.scatter(np.full(len(out), at), out, marker="x", color="grey", s=24,
                   label="hardest level, one model left out", gid="leave_one_out")
        ax.legend(fontsize=plots.SMALL, loc="lower center")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xticks(x, ticks, fontsize=plots.SMALL)
    ax.set_xlim(-0.5, len(levels) - 0.5)
    ax.set_ylim(-1.05, 1.05)
    ax.set_ylabel(f"Pearson r with {plots.plain(stats['size_column'])} (linear), 95% CI",
                  fontsize=plots.SMALL)
    ax.set_title("r of size and level score, by level", fontsize=plots.SMALL)


def _difference_panel(ax: Any, stats: Mapping[str, Any]) -> None:
    from .. import plots

    diff = stats.get("hard_minus_easy") or {}
    name = f"{plots.name(stats.get('hardest'))} −\n{plots.name(stats.get('easiest'))}"
    if diff.get("difference") is not None and diff.get("ci95"):
        d, (lo, hi) = diff["difference"], diff["ci95"]
        bars = ax.errorbar([0], [d], yerr=[[d - lo], [hi - d]], fmt="D", color="black",
                           capsize=4, markersize=6)
        bars.lines[0].set_gid("hard_minus_easy")
        ax.annotate(fmt.corr(d), (0, d), xytext=(7, 0), textcoords="offset points",
                    va="center", fontsize=plots.SMALL)
    else:
        reason = diff.get("reason") or "undefined"
        ax.text(0, 0.1, "\n".join(textwrap.wrap(plots.plain(reason), 14)), ha="center",
                fontsize=plots.SMALL)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xticks([0], [name], fontsize=plots.SMALL)
    ax.set_xlim(-0.6, 0.6)
    ax.set_ylim(-2.05, 2.05)
    ax.set_ylabel("difference in r, Zou's 95% CI", fontsize=plots.SMALL)
    ax.set_title("hardest − easiest", fontsize=plots.SMALL)


def _spread(values: np.ndarray, gap: float, low: float, high: float) -> np.ndarray:
    """``values`` moved apart to at least ``gap`` between neighbours, within [low, high] where
    they fit, each as little as this simple two-pass push allows (for names beside lines)."""
    order = np.argsort(values, kind="stable")
    placed = np.clip(values[order].astype(float), low, high)
    for i in range(1, len(placed)):  # push up
        placed[i] = max(placed[i], placed[i - 1] + gap)
    if len(placed) and placed[-1] > high:  # then push down from the top, if it overflows
        placed[-1] = max(high, low + gap * (len(placed) - 1))
        for i in range(len(placed) - 2, -1, -1):
            placed[i] = min(placed[i], placed[i + 1] - gap)
    out = np.empty_like(placed)
    out[order] = placed
    return out


def _text_height(figure_height: float, span: float) -> float:
    """The height of a 9-point line of text in data units of an axes spanning ``span`` (the
    axes' height estimated before layout: about all but 1.4 inches of the figure's)."""
    axes_inches = max(figure_height - 1.4, 1.0)
    return 9 * 1.35 / 72 / axes_inches * span
