"""Finding 4: do models that pass the hardest level differ in size from those that fail?"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import _fmt as fmt
from ..dataset import Dataset
from ..inference import SizeTestResult, settle_size_test, size_test, size_verdict
from ..scoring import level_scores_with_gaps, level_task_weights
from ..stats import finite_or_none
from ..tables import (
    MAX_TABLE_MODELS,
    MAX_TABLE_ROWS,
    Table,
    more_models_note,
    more_rows_note,
)
from ._common import (
    ALPHA,
    MAX_NAMED_MODELS,
    Definition,
    Finding,
    Verdict,
    difficulty_means,
    gap_records,
    left_out_sentence,
    missing_measure,
    model_sizes,
    ordered_inputs,
    settle_sentence,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class HardTaskBoundary(Definition):
    """Does passing the hardest level separate larger models from smaller ones?"""

    id = "hard_task_boundary"
    title = "Hardest level as a capability boundary"
    reads_size = True
    generic_claim = ("The hardest level is a capability boundary that separates larger models "
                     "from smaller ones.")
    computes = (
        "A model passes the hardest level when its score on that level (the weight-weighted "
        "mean of its task scores there) is at least the weighted mean of the level's "
        "`pass_threshold`s; with one task per level, when its score is at least that task's "
        "threshold (null when it lacks a task of the level: `left_out_of_levels` names it "
        "and why). `size_test`: the two-sided "
        "Mann–Whitney test of the sizes of passing against failing models of known size "
        "(`scipy.stats.mannwhitneyu`: exact without ties, else its permutation method over all "
        "splits), with U, p, the n of each group, `min_attainable_p` (the same test on the most "
        "extreme split of the observed sizes, 2 / C(n, k) without ties; null when no model or "
        "every model passes) and `separated` (every passing model larger than every failing "
        "one). `inconsistent_flags` lists rows "
        "whose `passed` disagrees with score ≥ pass_threshold (a warning, not an error), "
        "checked on every run row and naming its `run`."
    )
    rule = (
        f"*Supported* iff the two-sided Mann–Whitney p < {ALPHA:g} with the passing models "
        f"larger; *contradicted* iff p < {ALPHA:g} with them smaller; otherwise *inconclusive* "
        "(also when no model or every model passes); *not computable* without pass thresholds "
        "or when no model has both a known size and a known pass status."
    )
    inputs_caption = "Hardest-level results"
    figure_shows = ("every level's score against model size on a log scale, the hardest "
                    "level's points filled when the model passes it, and the level's weighted "
                    "pass threshold as a dashed line")

    def compute(self, dataset: Dataset, *, size_column: str = "params_b") -> Finding:
        if (missing := missing_measure(dataset, "pass_threshold")) is not None:
            return self.not_computable(dataset, missing)
        tasks, hardest = dataset.tasks, dataset.levels[-1]
        hard_tasks = tasks.loc[tasks["difficulty"] == hardest, "task"]
        thresholds = dict(zip(hard_tasks, tasks.loc[hard_tasks.index, "pass_threshold"]
                              .astype(float), strict=True))
        within = level_task_weights(dataset)
        level_threshold = float((within.loc[list(hard_tasks), "weight"]
                                 * pd.Series(thresholds)).sum())
        models = sorted(dataset.results["model"].unique())
        scores, gaps = level_scores_with_gaps(dataset, "score")
        on_level = scores[hardest].reindex(models)
        passed_all = (on_level >= level_threshold).where(on_level.notna())
        passed = {m: (None if pd.isna(v) else bool(v)) for m, v in passed_all.items()}
        sizes = model_sizes(dataset, size_column).reindex(models)
        size_of = dict(zip(sizes.index, sizes.to_numpy(), strict=True))  # (one lookup a model)
        judged = [m for m in models if passed[m] is not None and not math.isnan(size_of[m])]
        passing = [size_of[m] for m in judged if passed[m]]
        failing = [size_of[m] for m in judged if not passed[m]]
        test = size_test(passing, failing)
        settle = settle_size_test(passing, failing)
        statistics: dict[str, Any] = {
            "hardest_level": hardest,
            "size_column": size_column,
            "thresholds": thresholds,
            "level_threshold": level_threshold,
            "level_scores": {m: finite_or_none(v) for m, v in on_level.items()},
            "passed": passed,
            "n_passed": sum(bool(v) for v in passed.values()),
            "n_models": sum(v is not None for v in passed.values()),
            "left_out_of_levels": gap_records(dataset, gaps[gaps["level"] == hardest],
                                              "score"),
            "models_without_size": sorted(sizes.index[sizes.isna()]),
            "n_known_size": len(judged),
            "size_test": test.to_dict(),
            "settle": settle.to_dict(),
            "inconsistent_flags": _inconsistent_flags(dataset),
            "aggregated_flag_disagreements": _aggregated_disagreements(dataset),
        }
        verdict, reason = _verdict(judged, passing, failing, test)
        sentences = _sentences(statistics, len(hard_tasks), judged, test)
        sentences.append(settle_sentence(settle))
        return self.result(dataset, statistics, verdict, reason, sentences)

    def input_frame(self, dataset: Dataset, *, size_column: str = "params_b") -> pd.DataFrame:
        tasks = dataset.tasks.set_index("task")
        rows = dataset.results[["model", "task", "score", "passed"]]
        rows = rows[rows["task"].map(tasks["difficulty"]) == dataset.levels[-1]]
        rows = rows.assign(pass_threshold=rows["task"].map(tasks["pass_threshold"]))
        rows = rows.assign(**{size_column: rows["model"].map(model_sizes(dataset, size_column))})
        return ordered_inputs(dataset, rows)

    def evidence(self, statistics: dict[str, Any]) -> list[Table]:
        return _tables(statistics)

    def figure(self, finding: Finding) -> Figure | None:
        return _figure(finding)


hard_task_boundary = HardTaskBoundary()


def _verdict(judged: list[str], passing: list[float], failing: list[float],
             test: SizeTestResult) -> tuple[Verdict, str]:
    if not judged:
        return "not_computable", "no model has both a known size and a known pass status"
    if not passing:
        return "inconclusive", "no model passes, so the level separates no group of models"
    if not failing:
        return "inconclusive", "every model passes, so the level separates no group of models"
    return size_verdict(test)


def _sentences(stats: dict[str, Any], n_hard: int, judged: list[str],
               test: SizeTestResult) -> list[str]:
    passed = stats["passed"]
    passing = [m for m in judged if passed[m]]
    failing = [m for m in judged if not passed[m]]
    on_it = ("a score on it" if n_hard == 1 else
             f"a score on it (the weighted mean over its {n_hard} tasks)")
    bar = ("the pass threshold" if n_hard == 1 else "the weighted mean of their pass thresholds")
    sentences = [
        f"{stats['n_passed']} of {stats['n_models']} models pass the {stats['hardest_level']} "
        f"level ({on_it} of at least {fmt.score(stats['level_threshold'])}, {bar}).",
    ]
    if left_out := left_out_sentence(stats["left_out_of_levels"],
                                     f"Without a score on the {stats['hardest_level']} level, "
                                     "no pass status"):
        sentences.append(left_out)
    if passing and failing:
        separated = ("every passing model is larger than every failing one" if test.separated
                     else "passing and failing models overlap in size")
        sentences.append(
            f"Passing: {fmt.names(passing, at_most=MAX_NAMED_MODELS)}; failing: "
            f"{fmt.names(failing, at_most=MAX_NAMED_MODELS)}; {separated}. Their sizes "
            f"({stats['size_column']}) differ with U = {fmt.stat(test.statistic)} "
            f"({test.method}, {fmt.pval(test.p_value)}; {test.direction}).")
        if test.min_attainable_p is not None and test.min_attainable_p >= ALPHA:
            sentences.append(
                f"With {len(passing)} passing and {len(failing)} failing models of known size, "
                f"even the most extreme split by size gives p = "
                f"{fmt.p(test.min_attainable_p)}, so no outcome could reach "
                f"p < {ALPHA:g}.")
    no_status = {g["model"] for g in stats["left_out_of_levels"]}  # (named above already)
    if without := [m for m in stats["models_without_size"] if m not in no_status]:
        sentences.append("Left out for unknown size: "
                         f"{fmt.names(without, at_most=MAX_NAMED_MODELS)}.")
    if flags := stats["inconsistent_flags"]:
        sentences.append(
            f"Warning: {len(flags)} row{'s' if len(flags) != 1 else ''} of results.csv "
            f"disagree{'s' if len(flags) == 1 else ''} with score >= pass_threshold in the "
            "passed column.")
    if disagreements := stats["aggregated_flag_disagreements"]:
        sentences.append(
            f"Warning: for {len(disagreements)} cell{'s' if len(disagreements) != 1 else ''}, "
            "the majority of the runs with a passed flag disagrees with the mean score against "
            "the threshold "
            "(listed in aggregated_flag_disagreements).")
    return sentences


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


def _tables(stats: dict[str, Any]) -> list[Table]:
    items = list(stats["passed"].items())
    shown = items[:MAX_TABLE_MODELS]
    rows = tuple((m, fmt.yes_no(p)) for m, p in shown)
    tables = [Table(f"Passed the {stats['hardest_level']} level", ("Model", "Passed"),
                    rows, more_models_note(len(items), len(shown)))]
    test = stats["size_test"]
    tables.append(Table(
        "Do passing models differ in size from failing ones? (Mann-Whitney U, two-sided)",
        ("passing", "failing", "U", "p", "min. attainable p", "separated", "direction",
         "method"),
        ((fmt.count(test["n_passing"]), fmt.count(test["n_failing"]),
          fmt.stat(test["statistic"]), fmt.p(test["p_value"]), fmt.p(test["min_attainable_p"]),
          fmt.yes_no(test["separated"]),
          test["direction"] or "n/a", test["method"] or "n/a"),),
        test.get("reason"),
    ))
    flags = stats["inconsistent_flags"]
    if flags:
        tables.append(Table(
            "Rows whose passed flag disagrees with score >= threshold",
            ("Model", "Task", "Run", "Score", "Threshold", "Passed"),
            tuple((f["model"], f["task"], fmt.count(f.get("run")), fmt.score(f["score"]),
                   fmt.score(f["pass_threshold"]), fmt.yes_no(f["passed"]))
                  for f in flags[:MAX_TABLE_ROWS]),
            more_rows_note(len(flags), "inconsistent_flags"),
        ))
    return tables


# ----------------------------------------------------------------------------------------------
# The figure
# ----------------------------------------------------------------------------------------------
def _figure(finding: Finding) -> Figure | None:
    from .. import plots

    dataset = finding.dataset
    assert dataset is not None
    stats = finding.statistics
    hardest, size_column = stats["hardest_level"], stats["size_column"]
    sizes = model_sizes(dataset, size_column)
    scores = pd.Series(stats["level_scores"], dtype=float)
    models = [m for m in scores.index if plots.is_finite(sizes.get(m))]
    x = sizes.reindex(models).to_numpy(dtype=float)
    figure, ax = plots.new_figure(8.5, 5.4)
    means = difficulty_means(dataset, "score")
    for level in [lvl for lvl in dataset.levels if lvl != hardest and lvl in means.columns]:
        ax.scatter(x, means[level].reindex(models).to_numpy(dtype=float), s=16, alpha=0.8,
                   color=plots.LEVEL_COLOURS.get(level, "grey"), label=f"{plots.name(level)} level")
    y = scores.reindex(models).to_numpy(dtype=float)
    passed = pd.Series(stats["passed"]).reindex(models)
    yes, no = (passed == True).to_numpy(), (passed == False).to_numpy()  # noqa: E712
    colour = plots.LEVEL_COLOURS.get(hardest, plots.LEVEL_COLOURS["hard"])
    ax.scatter(x[yes], y[yes], s=70, color=colour, edgecolors="black", zorder=3,
               label=f"{plots.name(hardest)} level, passes", gid="hardest:passed")
    ax.scatter(x[no], y[no], s=70, facecolors="white", edgecolors=colour, linewidths=1.8,
               zorder=3, label=f"{plots.name(hardest)} level, does not pass", gid="hardest:failed")
    threshold = stats["level_threshold"]
    ax.axhline(threshold, color="black", linestyle="--", linewidth=1, gid="level_threshold")
    _log_size_axis(ax, x, size_column)
    ax.set_ylim(-0.02, 1.08)
    # Just above the line, on a white ground that keeps it readable over the dots.
    ax.annotate(f"{plots.name(hardest)}-level pass threshold {fmt.score(threshold)} (weighted "
                "over its tasks)", (0.01, threshold), xycoords=("axes fraction", "data"),
                xytext=(0, 3), textcoords="offset points", va="bottom", fontsize=plots.SMALL,
                bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1})
    _names_inside(ax, x, y, models)
    without = len(scores) - len(models)
    if without:
        ax.set_xlabel(f"{ax.get_xlabel()}; {without} model{'s' if without > 1 else ''} "
                      "without a size not shown", fontsize=plots.SMALL)
    ax.xaxis.label.set_fontsize(plots.SMALL)
    ax.tick_params(labelsize=plots.SMALL)
    ax.set_ylabel("level score (weighted mean over the level's tasks)", fontsize=plots.SMALL)
    figure.suptitle(f"{stats['n_passed']} of {stats['n_models']} models pass the "
                 f"{plots.name(hardest)} level\n{_size_test_text(stats['size_test'])}: "
                 f"{plots.verdict_label(finding)}", fontsize=plots.TITLE)
    figure.legend(loc="outside lower center", fontsize=plots.SMALL, ncol=4)
    return figure


def _size_test_text(test: Mapping[str, Any]) -> str:
    """``Mann-Whitney U = 8, p = 0.133 (smallest attainable 0.133)``, or why there is none."""
    from .. import plots

    if test.get("p_value") is None:
        return plots.plain(f"no size test: {test.get('reason')}")
    text = f"Mann-Whitney U = {fmt.stat(test['statistic'])}, two-sided {fmt.pval(test['p_value'])}"
    if test.get("min_attainable_p") is not None:
        text += f" (smallest attainable {fmt.p(test['min_attainable_p'])})"
    return text


def _log_size_axis(ax: Any, sizes: np.ndarray, label: str) -> None:
    """Log-scaled size axis with plain tick labels (8, 10, 20, 50, ...)."""
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator, ScalarFormatter

    from .. import plots

    finite = sizes[np.isfinite(sizes) & (sizes > 0)]
    if finite.size:
        ax.set_xscale("log")
        lo, hi = finite.min() / 1.3, finite.max() * 1.3
        ax.set_xlim(lo, hi)
        decades = 10.0 ** np.arange(np.floor(np.log10(lo)), np.ceil(np.log10(hi)) + 1)
        ticks = [t for d in decades for t in (d, 2 * d, 5 * d) if lo <= t <= hi]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(f"{plots.plain(label)} (billions of parameters, log scale)")


def _names_inside(ax: Any, x: np.ndarray, y: np.ndarray, models: list[str]) -> None:
    """Name each point beside it, on the side facing the axes' centre so no name runs out of
    the axes (up to :data:`.plots.MAX_LABELLED_MODELS` points)."""
    from .. import plots

    if len(models) > plots.MAX_LABELLED_MODELS or not len(x):
        return
    lo, hi = (np.log10(v) for v in ax.get_xlim())
    for xi, yi, model in zip(x, y, models, strict=True):
        if not (np.isfinite(xi) and np.isfinite(yi)):
            continue
        right = (np.log10(xi) - lo) / (hi - lo) > 0.6
        above = yi < 0.9
        ax.annotate(plots.name(model), (xi, yi), xytext=(-7 if right else 7, 7 if above else -9),
                    textcoords="offset points", ha="right" if right else "left",
                    va="bottom" if above else "top", fontsize=plots.SMALL)
