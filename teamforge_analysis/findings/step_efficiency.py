"""Finding 2: do steps rise more between the two easiest levels than between the two hardest?"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import _fmt as fmt
from ..dataset import Dataset
from ..inference import MeanDifferenceResult, mean_difference_interval, settle_paired
from ..scoring import level_scores_with_gaps
from ..stats import finite_or_none, paired_wilcoxon
from ..tables import MAX_TABLE_MODELS, Table, more_models_note
from ._common import (
    ALPHA,
    Definition,
    Finding,
    Verdict,
    gap_records,
    left_out_sentence,
    missing_measure,
    ordered_inputs,
    settle_sentence,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class StepEfficiency(Definition):
    """Do steps rise more between the two easiest levels than between the two hardest?"""

    id = "step_efficiency"
    title = "Step efficiency by difficulty"
    generic_claim = ("Step counts rise more between the two easiest levels than between the two "
                     "hardest.")
    computes = (
        "Per model, mean steps per difficulty level, weighted like scores over the level's "
        "tasks that have a step count: a blank `steps` cell is left out (its level's other "
        "weights scaled up; this assumes blanks are unrelated to how many steps a task took) "
        "and `cells_without_steps` counts them; a model without a result on a task of a level, "
        "or with no steps on any, has no mean there (`left_out_of_levels` says why) and no d "
        "(below) when d uses that level; `degradation_pct` = "
        "(hardest − easiest) / easiest × 100. With d = (level 2 − level 1) − (last level − the "
        "one before it) per model (with three levels (medium − easy) − (hard − medium)), "
        "`effect` is the mean d with its 95% t-interval (null when every d is equal), the "
        "median d and n; `paired_test` is "
        "`scipy.stats.wilcoxon(d)` with its defaults (two-sided; exact without ties or zeros, "
        "an exact sign-flip permutation with them for n ≤ 13, the normal approximation "
        "otherwise). `min_attainable_p` = 2 / 2ⁿ for n non-zero differences: when it is not "
        f"below {ALPHA:g}, no data of that size can support or contradict the claim."
    )
    rule = (
        f"*Supported* iff the two-sided Wilcoxon p < {ALPHA:g} and median d > 0; *contradicted* "
        f"iff p < {ALPHA:g} and median d < 0; otherwise *inconclusive*; *not computable* with "
        "fewer than three levels, without step counts, or when every difference is zero."
    )
    inputs_caption = "Steps per model and task"
    figure_shows = ("each model's difference d between the increase in steps across the two "
                    "easiest levels and across the two hardest, with the mean d, its 95% "
                    "t-interval and a zero line")

    def compute(self, dataset: Dataset) -> Finding:
        if (missing := missing_measure(dataset, "steps")) is not None:
            return self.not_computable(dataset, missing)
        means, gap_frame = level_scores_with_gaps(dataset, "steps", skip_blank=True)
        levels = list(means.columns)
        gaps = gap_records(dataset, gap_frame, "steps")
        blank = int(dataset.results["steps"].isna().sum())
        statistics: dict[str, Any] = {
            "mean_steps": {lvl: finite_or_none(means[lvl].mean()) for lvl in levels},
            "by_model": _by_model(means, levels, gaps),
            "cells_without_steps": blank,
            "left_out_of_levels": gaps,
            "paired_test": None,
        }
        if len(levels) < 3:
            reason = (f"the rule compares the increases between three levels and the data have "
                      f"{len(levels)} ({fmt.names(levels)})")
            return Finding(self.id, self.title, self.claim(dataset), statistics,
                           "not_computable", reason, f"Not computable: {reason}.")
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
        verdict, reason = _verdict(test.p_value, test.median, test.reason)

        mean_steps = statistics["mean_steps"]
        first, last = f"{levels[0]}-to-{levels[1]}", f"{levels[-2]}-to-{levels[-1]}"
        sentences = [
            _effect_sentence(effect, first, last, means, levels),
            _level_means_sentence(mean_steps, means, levels),
            f"The {first} increase exceeds the {last} increase for {len(holds_for)} of "
            f"{test.n} models (Wilcoxon signed-rank test of d, two-sided, n = {test.n}, "
            f"{fmt.pval(test.p_value)}).",
        ]
        if min_p is not None and min_p >= ALPHA:
            sentences.append(
                f"With {n_nonzero} non-zero difference{'s' if n_nonzero != 1 else ''}, the "
                f"smallest attainable two-sided p is {fmt.p(min_p)}, so this test cannot "
                f"reach p < {ALPHA:g} on these data.")
        if blank:
            sentences.append(f"{blank} cell{'s' if blank != 1 else ''} without steps "
                             f"{'are' if blank != 1 else 'is'} left out of the level means.")
        in_d = [g for g in gaps if g["level"] in (*levels[:2], *levels[-2:])]
        if left_out := left_out_sentence(in_d, "Without mean steps on a level d uses, left out"):
            sentences.append(left_out)
        # (the rule counts the models with a d; the data may have more)
        of = "" if len(d) == len(means) else " with steps on every level it compares"
        sentences.append(settle_sentence(settle, of=of))
        return self.result(dataset, statistics, verdict, reason, sentences)

    def input_frame(self, dataset: Dataset) -> pd.DataFrame:
        return ordered_inputs(dataset, dataset.results[["model", "task", "steps"]])

    def evidence(self, statistics: dict[str, Any]) -> list[Table]:
        return _tables(statistics)

    def figure(self, finding: Finding) -> Figure | None:
        return _figure(finding)


step_efficiency = StepEfficiency()


def _by_model(means: pd.DataFrame, levels: list[str], gaps: list[dict[str, Any]]
              ) -> dict[str, dict[str, Any]]:
    """Per model: mean steps on each level, degradation_pct, and why any of them is null."""
    why: dict[str, list[str]] = {}
    for gap in gaps:
        why.setdefault(gap["model"], []).append(gap["reason"])
    by_model: dict[str, dict[str, Any]] = {}
    degradation = ((means[levels[-1]] - means[levels[0]]) / means[levels[0]] * 100).to_numpy()
    values = means.to_numpy(dtype=float)  # (iterrows would build a Series per model)
    for i, model in enumerate(means.index):
        entry: dict[str, Any] = {lvl: finite_or_none(values[i, j]) for j, lvl in enumerate(levels)}
        entry["degradation_pct"] = finite_or_none(degradation[i]) if len(levels) > 1 else None
        reason = _missing_steps_reason(entry, levels, why.get(str(model), []))
        if reason:
            entry["reason"] = reason  # only where something is null
        by_model[str(model)] = entry
    return by_model


def _verdict(p: float | None, median: float | None, undefined: str | None
             ) -> tuple[Verdict, str]:
    if p is None or median is None:
        return "not_computable", f"the paired test is undefined ({undefined})"
    if p < ALPHA and median > 0:
        return "supported", f"{fmt.pval(p)} (below {ALPHA:g}) and median d > 0"
    if p < ALPHA and median < 0:
        return "contradicted", f"{fmt.pval(p)} (below {ALPHA:g}) and median d < 0"
    if p < ALPHA:
        return "inconclusive", (f"{fmt.pval(p)} is below {ALPHA:g} but the median d is 0, so "
                                "the differences favour neither direction")
    return "inconclusive", f"{fmt.pval(p)} is not below {ALPHA:g}"


def _missing_steps_reason(entry: dict[str, Any], levels: list[str], gaps: list[str]
                          ) -> str | None:
    """Why a model's step means or degradation are null (None when nothing is); ``gaps``
    says why its missing level means are missing."""
    missing = [lvl for lvl in levels if entry[lvl] is None]
    if missing:
        return f"no mean steps for {fmt.names(missing)} ({'; '.join(gaps)})"
    if len(levels) < 2:
        return "degradation_pct needs two difficulty levels"
    if entry["degradation_pct"] is None:
        return f"degradation_pct is undefined: mean steps at {levels[0]} level is 0"
    return None


def _effect_sentence(effect: MeanDifferenceResult, first: str, last: str,
                     means: pd.DataFrame, levels: list[str]) -> str:
    """The effect first: mean d with its t-interval, and the last jump as a share of the
    first."""
    if effect.mean_d is None:
        return f"The difference d is undefined ({effect.reason})."
    interval = (f"95% t-interval {fmt.span(effect.ci95, fmt.steps)}"
                if effect.ci95 is not None else f"no interval: {effect.reason}")
    d = fmt.steps(effect.mean_d)  # (the relation follows the number shown: 0.00 is equal)
    relation = ("equals" if float(d) == 0 else "exceeds" if effect.mean_d > 0
                else "falls short of")
    text = (f"On average the {first} increase in steps {relation} the {last} increase: "
            f"d = {d} steps ({interval}; median {fmt.steps(effect.median_d)}, n = {effect.n} "
            f"model{'' if effect.n == 1 else 's'}).")
    jumps = pd.DataFrame({"first": means[levels[1]] - means[levels[0]],
                          "last": means[levels[-1]] - means[levels[-2]]}).dropna()
    first_jump, last_jump = float(jumps["first"].mean()), float(jumps["last"].mean())
    # A share of the first jump reads only when both are increases: "-191% of" would not.
    if first_jump > 0 and last_jump >= 0:
        text += (f" The mean {last} increase is {fmt.pct(last_jump / first_jump)} "
                 f"of the mean {first} increase.")
    elif first_jump > 0:
        text += f" On average steps fall from the {levels[-2]} level to the {levels[-1]} level."
    return text


def _level_means_sentence(mean_steps: dict[str, float | None], means: pd.DataFrame,
                          levels: list[str]) -> str:
    """The level means in order; each with its n where the levels average different models."""
    known = means[levels].notna()
    counts = known.sum()
    same = bool(known.eq(known[levels[0]], axis=0).all(axis=None))  # (the same models)
    return "Mean steps per model go from " + " to ".join(
        f"{fmt.steps(mean_steps[lvl])} ({lvl}{'' if same else f', n = {counts[lvl]}'})"
        for lvl in levels) + "."


def _tables(stats: dict[str, Any]) -> list[Table]:
    by_model = stats["by_model"]
    levels = list(stats["mean_steps"])
    items = list(by_model.items())
    shown = items[:MAX_TABLE_MODELS]
    rows = tuple(
        (m, *(fmt.steps(v[lvl]) for lvl in levels),
         fmt.pct(None if v["degradation_pct"] is None else v["degradation_pct"] / 100))
        for m, v in shown
    )
    rows += (("mean", *(fmt.steps(stats["mean_steps"][lvl]) for lvl in levels), ""),)
    note = (f"Hardest vs easiest: (mean steps at {levels[-1]} - at {levels[0]}) / at "
            f"{levels[0]}." if levels else None)
    more = more_models_note(len(items), len(shown))
    tables = [Table("Mean steps per difficulty", ("Model", *levels, "Hardest vs easiest"),
                    rows, f"{note} {more}" if more else note)]
    effect = stats.get("effect")
    if effect:
        tables.append(Table(
            "Effect: d = (increase between the two easiest levels) - (between the two hardest)",
            ("n", "mean d", "95% t-interval", "median d"),
            ((fmt.count(effect["n"]), fmt.steps(effect["mean_d"]),
              fmt.span(effect["ci95"], fmt.steps), fmt.steps(effect["median_d"])),),
            effect.get("reason")))
    test = stats.get("paired_test")
    if test:
        tables.append(Table(
            "Wilcoxon signed-rank test of d (two-sided)",
            ("n", "models with d > 0", "median d", "statistic", "p", "min. attainable p",
             "method"),
            ((fmt.count(test["n"]), fmt.count(len(test["holds_for"])),
              fmt.steps(test["median_difference"]), fmt.stat(test["statistic"]),
              fmt.p(test["p_value"]), fmt.p(test["min_attainable_p"]),
              test["method"] or "n/a"),),
            test.get("reason"),
        ))
    return tables


# ----------------------------------------------------------------------------------------------
# The figure
# ----------------------------------------------------------------------------------------------
def step_differences(finding: Finding, levels: list[str]) -> pd.Series:
    """Each model's d = (level 2 − level 1) − (last − one before) in steps, from the finding's
    ``by_model`` level means (models missing a level are left out), levels in rank order."""
    rows = {}
    for model, by_level in finding.statistics.get("by_model", {}).items():
        v = [by_level.get(level) for level in levels]
        if len(v) >= 3 and all(x is not None for x in v):
            rows[model] = (v[1] - v[0]) - (v[-1] - v[-2])
    return pd.Series(rows, dtype=float)


def _figure(finding: Finding) -> Figure | None:
    from .. import plots

    dataset = finding.dataset
    assert dataset is not None
    stats = finding.statistics
    levels = [lvl for lvl in dataset.levels if lvl in stats.get("mean_steps", {})]
    d = step_differences(finding, levels).sort_values(kind="stable")
    named = len(d) <= plots.MAX_LABELLED_MODELS
    figure, ax = plots.new_figure(8.0, min(9.0, max(3.6, 0.32 * len(d) + 2.2)))
    y = np.arange(len(d))
    ax.scatter(d.to_numpy(), y, color="black", s=30, zorder=3, label="one model's d",
               gid="d_per_model")
    effect = stats.get("effect") or {}
    if effect.get("mean_d") is not None:
        mean = effect["mean_d"]
        interval = effect.get("ci95")
        ax.axvline(mean, color="#3b6ea5", linewidth=2, gid="mean_d", label=f"mean d = "
                   f"{fmt.steps(mean)} ({fmt.ci(interval, fmt.steps)}, n = {effect['n']})")
        if interval:
            ax.axvspan(*interval, color="#3b6ea5", alpha=0.18, linewidth=0, gid="mean_d_ci")
    else:
        ax.plot([], [], " ", label=plots.plain(f"mean d undefined: {effect.get('reason')}"))
    ax.axvline(0, color="grey", linestyle="--", linewidth=1, label="no difference (d = 0)")
    if named:
        ax.set_yticks(y, [plots.name(m) for m in d.index], fontsize=plots.SMALL)
    else:
        ax.set_yticks([])
    ax.set_ylim(-0.7, len(d) - 0.3)
    names = [plots.name(level) for level in levels]
    formula = (f"({names[1]} − {names[0]}) − ({names[-1]} − {names[-2]})" if len(names) >= 3
               else "undefined")
    ax.set_xlabel(f"d = {formula}, in steps", fontsize=plots.SMALL)
    ax.tick_params(labelsize=plots.SMALL)
    test = stats.get("paired_test") or {}
    p = test.get("p_value")
    floor = test.get("min_attainable_p")
    test_text = f"Wilcoxon signed-rank {fmt.pval(p)}" if p is not None else "no test"
    if floor is not None:
        test_text += f" (smallest attainable {fmt.p(floor)})"
    unnamed = "" if named else f"; {len(d)} models, unlabelled"
    # Over the figure, not the axes: long model names shift the axes right.
    figure.suptitle(f"Step efficiency: d per model{unnamed}\n{test_text}: "
                    f"{plots.verdict_label(finding)}",
                 fontsize=plots.TITLE)
    # Below the axes: inside, the legend would cover points or the interval.
    figure.legend(loc="outside lower center", fontsize=plots.SMALL, ncol=3)
    ax.grid(axis="x", linewidth=0.5, alpha=0.4)
    return figure
