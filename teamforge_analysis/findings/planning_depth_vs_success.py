"""Finding 6: do episodes with more planning succeed more often?"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import _fmt as fmt
from ..dataset import Dataset
from ..inference import settle_correlation
from ..scoring import tasks_by_level
from ..stats import (
    CorrelationResult,
    StratifiedPermutationResult,
    correlation,
    finite_or_none,
    stratified_permutation_correlation,
)
from ..tables import CORR_HEADERS, Table, corr_row
from ._common import (
    ALPHA,
    Definition,
    Finding,
    corr_phrase,
    correlation_rule,
    episode_inputs,
    settle_sentence,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class PlanningDepthVsSuccess(Definition):
    """Do episodes with more planning succeed more often?"""

    id = "planning_depth_vs_success"
    title = "Planning depth vs success"
    generic_claim = "Episodes with more planning (plan_step actions) succeed more often."
    computes = (
        "An episode is a row of results.csv (one run) with steps in the step log; its planning "
        "depth is its number of `plan_step` actions (0 when none). `depth_vs_score` and "
        "`depth_vs_passed` (point-biserial: Pearson r with passed as 0/1) correlate depth with "
        "the run's score and pass flag over all episodes; `within_task` correlates depth with "
        "score within each task. Episodes share models and tasks, so they are not independent "
        "and the p-values are optimistic; the correlations say nothing about causation."
    )
    rule = (
        "The correlation rule on `stratified` (depth vs passed, the permutation p shuffling "
        f"depth only within model × task strata): *supported* iff r > 0 with p < {ALPHA:g}; "
        f"*contradicted* iff r < 0 with p < {ALPHA:g}; otherwise *inconclusive*; *not "
        "computable* without a step log or when the correlation or its p is undefined (for "
        "example when every episode passed, or depth is constant within every stratum)."
    )
    inputs_caption = "Planning depth and success per episode"
    figure_shows = ("each episode's run score against its planning depth, coloured by "
                    "difficulty level and filled when the run passed")

    def compute(self, dataset: Dataset) -> Finding:
        from ..steps import dataset_episodes

        statistics: dict[str, Any] = {"episodes": 0, "runs_without_steps": None,
                                      "planning_depth": None, "depth_vs_score": None,
                                      "depth_vs_passed": None, "within_task": {}}
        if dataset.steps is None:
            return self.without_step_log(dataset, statistics)
        runs = dataset.runs
        assert runs is not None
        table = dataset_episodes(dataset, with_runs=True, summaries=("planning_depth",))
        depth = table["planning_depth"].astype(float)
        passed = table["passed"].astype("Float64").to_numpy(dtype=float, na_value=math.nan)
        by_score, by_passed = correlation(depth, table["score"]), correlation(depth, passed)
        stratified = stratified_permutation_correlation(
            depth, passed, list(zip(table["model"], table["task"], strict=True)))
        settle = replace(settle_correlation(stratified.r, stratified.n), unit="episodes")
        episodes = dict(list(table.groupby("task")))
        within = {task: correlation(episodes[task]["planning_depth"].astype(float),
                                    episodes[task]["score"])
                  for task in tasks_by_level(dataset) if task in episodes}
        statistics.update({
            "episodes": len(table),
            "runs_without_steps": len(runs) - len(table),
            "planning_depth": {"mean": finite_or_none(depth.mean()),
                               "median": finite_or_none(depth.median()),
                               "min": int(depth.min()), "max": int(depth.max())},
            "depth_vs_score": by_score.to_dict(),
            "depth_vs_passed": by_passed.to_dict(),
            "stratified": stratified.to_dict(),
            "within_task": {task: res.to_dict() for task, res in within.items()},
            "settle": settle.to_dict(),
        })
        verdict, reason = correlation_rule(
            stratified.r, stratified.p_value, "stratified permutation ",
            f"the stratified permutation test is undefined ({stratified.reason})")
        sentences = _sentences(table, depth, by_score, by_passed, within, stratified)
        if left_out := statistics["runs_without_steps"]:
            sentences.append(f"{left_out} run{'s' if left_out != 1 else ''} without steps in "
                             "the log are left out.")
        sentences.append(settle_sentence(settle))
        return self.result(dataset, statistics, verdict, reason, sentences)

    def input_frame(self, dataset: Dataset) -> pd.DataFrame:
        return episode_inputs(dataset, ("planning_depth", "n_steps", "score", "passed"))

    def evidence(self, statistics: dict[str, Any]) -> list[Table]:
        return _tables(statistics)

    def figure(self, finding: Finding) -> Figure | None:
        return _figure(finding)


planning_depth_vs_success = PlanningDepthVsSuccess()


def _sentences(table: pd.DataFrame, depth: pd.Series, by_score: Any, by_passed: Any,
               within: dict[str, Any], stratified: StratifiedPermutationResult
               ) -> list[str]:
    n_models, n_tasks = table["model"].nunique(), table["task"].nunique()
    return [
        f"Across {len(table)} episodes (runs with a step log, of {n_models} models on {n_tasks} "
        f"tasks), planning depth (plan_step actions per episode) ranges from "
        f"{fmt.count(depth.min())} to {fmt.count(depth.max())} (median "
        f"{fmt.steps(depth.median())}).",
        f"Depth vs the run's score: {corr_phrase(by_score)}; depth vs passing "
        f"(point-biserial, passed = 1): {corr_phrase(by_passed)}.",
        "Within tasks, depth vs score: "
        + "; ".join(f"{task} {corr_phrase(res)}" for task, res in within.items()) + ".",
        (f"Shuffling depth only among episodes of the same model and task "
         f"({stratified.strata} strata), the permutation {fmt.pval(stratified.p_value)}."
         if stratified.p_value is not None else
         f"No within-stratum permutation p: {stratified.reason}."),
        "Episodes of the same model or task are not independent, so the unstratified p-values "
        "are optimistic; a correlation does not show that planning causes success.",
    ]


def _tables(stats: dict[str, Any]) -> list[Table]:
    if stats.get("depth_vs_score") is None:
        return []
    rows = [
        corr_row("depth vs score", stats["depth_vs_score"]),
        corr_row("depth vs passed (point-biserial)", stats["depth_vs_passed"]),
        *([corr_row("depth vs passed, within model x task (the rule)",
                     {"n": s["n"], "r": s["r"], "p_permutation": s["p_value"]})]
          if (s := stats.get("stratified")) else []),
        *(corr_row(f"depth vs score, {task}", c) for task, c in stats["within_task"].items()),
    ]
    return [Table(f"Correlation of planning depth with success ({stats['episodes']} episodes)",
                  CORR_HEADERS, tuple(rows))]


# ----------------------------------------------------------------------------------------------
# The figure
# ----------------------------------------------------------------------------------------------
def _swarm_offsets(scores: np.ndarray, width: float, near: float) -> np.ndarray:
    """Sideways offsets (within ±``width``) for points of one column so that no two points
    closer than ``near`` in score share an offset: each takes the free slot nearest the
    centre. Deterministic (sorted by score), so the figure is the same on every draw."""
    order = np.argsort(scores, kind="stable")
    slots = np.zeros(len(scores), dtype=int)
    placed: list[tuple[float, int]] = []
    for i in order:
        taken = {slot for score, slot in placed if abs(score - scores[i]) < near}
        slot = next(s for k in range(len(scores) + 1) for s in (k, -k) if s not in taken)
        slots[i] = slot
        placed.append((scores[i], slot))
    widest = max(1, int(np.abs(slots).max()))
    return slots * min(width / widest, width / 2)


def _figure(finding: Finding) -> Figure | None:
    from .. import plots
    from ..steps import dataset_episodes

    dataset = finding.dataset
    assert dataset is not None
    if dataset.steps is None or finding.statistics.get("depth_vs_score") is None:
        return None
    table = dataset_episodes(dataset, with_runs=True, with_tasks=True)
    figure, ax = plots.new_figure(8.5, 5.0)
    levels = [lvl for lvl in dataset.levels if lvl in set(table["difficulty"])]
    # Each level its own column beside each depth; within a column, a swarm.
    centres = dict(zip(levels, np.linspace(-0.25, 0.25, len(levels)) if len(levels) > 1
                       else [0.0], strict=True))
    band = 0.25 / max(1, len(levels) - 1) * 0.45 if len(levels) > 1 else 0.2
    for level in levels:
        rows = table[table["difficulty"] == level]
        score = rows["score"].to_numpy(dtype=float)
        depth = rows["planning_depth"].to_numpy(dtype=float)
        x = depth + centres[level]
        for value in np.unique(depth):
            column = depth == value
            x[column] += _swarm_offsets(score[column], band, near=0.035)
        passed = rows["passed"].to_numpy(dtype=bool)
        colour = plots.LEVEL_COLOURS.get(level, "grey")
        ax.scatter(x[passed], score[passed], color=colour, s=24,
                   label=f"{plots.name(level)}, passed", gid=f"episodes:{level}:passed")
        ax.scatter(x[~passed], score[~passed], facecolors="white", edgecolors=colour, s=24,
                   linewidths=1.3, label=f"{plots.name(level)}, not passed",
                   gid=f"episodes:{level}:failed")
    depths = np.unique(table["planning_depth"].dropna().to_numpy(dtype=int))
    ax.set_xticks(depths, [str(d) for d in depths], fontsize=plots.SMALL)
    ax.tick_params(labelsize=plots.SMALL)
    corr = finding.statistics["depth_vs_passed"]
    ax.set_xlabel("planning depth (plan_step actions in the episode); levels side by side",
                  fontsize=plots.SMALL)
    ax.set_ylabel("run score", fontsize=plots.SMALL)
    ax.set_ylim(-0.03, 1.05)
    figure.suptitle(f"Planning depth vs success, {len(table)} episodes: "
                    f"{plots.verdict_label(finding)}\n"
                    f"depth vs passed: {corr_phrase(CorrelationResult(**corr))}",
                    fontsize=plots.TITLE)
    figure.legend(loc="outside lower center", fontsize=plots.SMALL, ncol=3)
    return figure
