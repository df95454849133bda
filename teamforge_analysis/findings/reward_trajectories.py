"""Finding 7 (descriptive): how the dense per-step reward evolves over an episode, per level."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from .. import _fmt as fmt
from ..dataset import Dataset
from ..stats import finite_or_none
from ..tables import Table
from ._common import DESCRIPTIVE_REASON, Definition, Finding, episode_inputs

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class RewardTrajectories(Definition):
    """How the dense per-step reward evolves over an episode, per difficulty level."""

    id = "reward_trajectories"
    title = "Reward trajectories"
    generic_claim = ("How the per-step reward evolves over an episode at each difficulty "
                     "level.")
    descriptive = True
    computes = (
        "Per difficulty level, over episodes: `mean_total_reward` (and its SD) of the summed "
        "per-step reward; `mean_reward_slope` (and SD), the mean least-squares slope of reward "
        "against the position (step − first) / (last − first), over episodes of at least two "
        "steps (`episodes_with_slope`); `declining_fraction`, the share of those with a "
        "negative slope; `steps_to_first_full_pass`, the median over episodes that reach "
        "tests_passed = tests_total > 0 of the first step where they do "
        "(`episodes_with_full_pass`; null if none). The figure shows mean cumulative reward "
        "against that position in ten bins, each episode weighted equally."
    )
    rule = "*Descriptive*: it tests no claim. *Not computable* without a step log."
    inputs_caption = "Reward per episode"
    figure_shows = ("each level's mean cumulative reward against the position in the episode, "
                    "with its 95% band, ending at the mean total reward")

    def compute(self, dataset: Dataset) -> Finding:
        from ..steps import dataset_episodes

        statistics: dict[str, Any] = {"episodes": 0, "has_test_counts": False,
                                      "by_difficulty": {}}
        if dataset.steps is None:
            return self.without_step_log(dataset, statistics)
        steps = dataset.steps
        table = dataset_episodes(dataset, with_tasks=True, summaries=(
            "total_reward", "reward_slope", "first_full_pass_step"))
        has_tests = bool(steps["tests_total"].notna().any()
                         and steps["tests_passed"].notna().any())
        by_difficulty = _by_difficulty(table, dataset.levels)
        statistics.update({"episodes": len(table), "has_test_counts": has_tests,
                           "by_difficulty": by_difficulty})
        sentences = [
            f"Across {len(table)} episodes of the step log (slope: the least-squares change in "
            "per-step reward from an episode's first step to its last), by difficulty: "
            + "; ".join(_level_sentence(lvl, s, has_tests) for lvl, s in by_difficulty.items())
            + ".",
        ]
        if not has_tests:
            sentences.append("The step log has no tests_passed/tests_total, so the step of the "
                             "first full test pass is unknown.")
        return self.result(dataset, statistics, "descriptive", DESCRIPTIVE_REASON, sentences)

    def input_frame(self, dataset: Dataset) -> pd.DataFrame:
        return episode_inputs(dataset, ("n_steps", "total_reward", "reward_slope",
                                        "first_full_pass_step"))

    def evidence(self, statistics: dict[str, Any]) -> list[Table]:
        return _tables(statistics)

    def figure(self, finding: Finding) -> Figure | None:
        return _figure(finding)


reward_trajectories = RewardTrajectories()


def _by_difficulty(table: pd.DataFrame, levels: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    summary = table.groupby("difficulty", sort=False).agg(
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
    columns = ["episodes", "mean_total_reward", "sd_total_reward", "mean_reward_slope",
               "sd_reward_slope", "episodes_with_slope", "declining_fraction",
               "steps_to_first_full_pass", "episodes_with_full_pass"]
    counts = ("episodes", "episodes_with_slope", "episodes_with_full_pass")
    return {level: {column: int(value) if column in counts else finite_or_none(value)
                    for column, value in summary.loc[level, columns].items()}
            for level in levels if level in summary.index}


def _level_sentence(level: str, s: dict[str, Any], has_tests: bool) -> str:
    parts = [f"mean total reward {fmt.score(s['mean_total_reward'])} "
             f"(SD {fmt.score(s['sd_total_reward'])}, n = {s['episodes']})"]
    if s["episodes_with_slope"]:
        parts.append(
            f"mean slope {fmt.score(s['mean_reward_slope'])}, declining in "
            f"{fmt.pct(s['declining_fraction'])} of "
            f"{s['episodes_with_slope']} episodes")
    if has_tests:
        parts.append(
            f"first full test pass at step {fmt.steps(s['steps_to_first_full_pass'])} "
            f"(median of {s['episodes_with_full_pass']} episodes that reach one)"
            if s["episodes_with_full_pass"] else "no episode passes every test")
    return f"{level}: " + ", ".join(parts)


def _tables(stats: dict[str, Any]) -> list[Table]:
    levels = stats.get("by_difficulty") or {}
    if not levels:
        return []
    rows = tuple(
        (level, fmt.count(s["episodes"]), fmt.score(s["mean_total_reward"]),
         fmt.score(s["sd_total_reward"]), fmt.score(s["mean_reward_slope"]),
         "n/a" if s["declining_fraction"] is None
         else f"{fmt.pct(s['declining_fraction'])} of {s['episodes_with_slope']}",
         fmt.steps(s["steps_to_first_full_pass"]), fmt.count(s["episodes_with_full_pass"]))
        for level, s in levels.items()
    )
    note = None if stats.get("has_test_counts") else \
        "The step log has no test counts: first full pass unknown."
    return [Table("Reward per episode by difficulty",
                  ("Difficulty", "Episodes", "Mean total reward", "SD", "Mean slope",
                   "Declining", "First full pass (median step)", "Episodes reaching it"),
                  rows, note)]


def _figure(finding: Finding) -> Figure | None:
    from .. import plots
    from ..steps import reward_bands

    dataset = finding.dataset
    assert dataset is not None
    if dataset.steps is None:
        return None
    bands = reward_bands(dataset.steps, dataset.tasks)
    figure, ax = plots.new_figure(8.5, 5.0)
    for level in [lvl for lvl in dataset.levels if lvl in set(bands["difficulty"])]:
        rows = bands[bands["difficulty"] == level]
        colour = plots.LEVEL_COLOURS.get(level, "grey")
        n = int(rows["episodes"].iloc[0])
        ax.plot(rows["position"], rows["mean_cumulative_reward"], color=colour, linewidth=2,
                label=f"{plots.name(level)} (n = {n} episode{'s' if n != 1 else ''})",
                gid=f"reward:{level}")
        ax.fill_between(rows["position"], rows["ci_low"], rows["ci_high"], color=colour,
                        alpha=0.18, linewidth=0)
        last = rows["mean_cumulative_reward"].iloc[-1]
        ax.plot([1.0], [last], marker="o", color=colour, markersize=6, clip_on=False)
        ax.annotate(fmt.score(last), (1.0, last), xytext=(6, 0), textcoords="offset points",
                    va="center", fontsize=plots.SMALL, color=colour)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("position in episode, (step − first) / (last − first)", fontsize=plots.SMALL)
    ax.set_ylabel("mean cumulative reward (95% t-band)", fontsize=plots.SMALL)
    ax.tick_params(labelsize=plots.SMALL)
    ax.set_title("Reward trajectories: each episode interpolated onto one grid, then averaged;"
                 "\nthe last point is the mean total reward", fontsize=plots.TITLE)
    ax.legend(fontsize=plots.SMALL, loc="upper left")
    return figure
