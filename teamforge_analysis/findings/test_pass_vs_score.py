"""Finding 3: is test_pass a near-perfect predictor of the score beyond the grader's formula?"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import _fmt as fmt
from ..dataset import Dataset
from ..inference import (
    NEAR_PERFECT_R,
    BeyondConstructionResult,
    beyond_construction,
    fixed_effects_residuals,
    near_perfect_verdict,
    settle_fixed_effects_correlation,
)
from ..scoring import tasks_by_level
from ..stats import (
    CorrelationResult,
    correlation,
    finite_or_none,
    repeated_measures_correlation,
)
from ..tables import (
    CORR_HEADERS,
    MAX_TABLE_ROWS,
    Table,
    corr_row,
)
from ._common import (
    Definition,
    Finding,
    corr_phrase,
    grader_weights,
    missing_measure,
    ordered_inputs,
    settle_sentence,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class TestPassVsScore(Definition):
    """Is the test pass rate a near-perfect predictor of the score, beyond what the grader's
    formula builds in?"""

    __test__ = False  # (not a test class, whatever its name)
    id = "test_pass_vs_score"
    title = "Test pass rate vs final score"
    generic_claim = "The test pass rate is a near-perfect predictor of the score."
    computes = (
        "`beyond_construction`: the partial correlation of the rest of the score "
        "(score − w × test_pass, w test_pass's weight in the grader formula of the data's "
        "profile; the score itself without a declared formula, `outcome` says which) with "
        "test_pass, controlling for model and task fixed effects (least-squares residuals on "
        "dummy columns, one level dropped per factor), over the (model, task) cells; "
        "dof = n − k − 2 with k the number of dummy columns that are not redundant "
        "((models − 1) + (tasks − 1) when the cells connect every model and task), a t test, "
        "and the Fisher-z "
        "interval with standard error 1/√(n − k − 3) (pingouin.partial_corr's convention). "
        "`construction_r` is the pooled r the formula alone would give if the rest of the "
        "score were unrelated to test_pass. No correlation can validate a weight: the weight "
        "is the grader's design choice. "
        "`pooled`: Pearson r of test_pass with score over all (model, task) cells; the cells "
        "are not independent (they share models and tasks), so its p-value is optimistic. "
        "`within_task`: the same across models for each task. `repeated_measures`: the "
        "repeated-measures correlation (Bakdash & Marusich 2017) with subject = task: the "
        "common within-task slope of the ANCOVA score ~ C(task) + test_pass, dof = N − k − 1, "
        "a t test on dof and the interval tanh(atanh r ± z₀.₉₇₅ / √(dof − 1)); it ignores the "
        "crossed model factor, which `beyond_construction` removes."
    )
    rule = (
        "Decided beyond construction (\"near-perfect\" is r ≥ 0.9): *supported* iff the whole "
        "95% interval of `beyond_construction` is ≥ 0.9; *contradicted* iff the whole interval "
        "is < 0.9; otherwise *inconclusive*; *not computable* without test_pass, when "
        "n − k − 3 < 1 or when a residual is constant."
    )
    inputs_caption = "Test pass rate and score per model and task"
    figure_shows = ("the test pass rate against the rest of the score, each after model and "
                    "task effects, one marker per model, with a least-squares line")

    def compute(self, dataset: Dataset) -> Finding:
        if (missing := missing_measure(dataset, "test_pass")) is not None:
            return self.not_computable(dataset, missing)
        results = dataset.results[dataset.results["test_pass"].notna()]
        share = (grader_weights(dataset) or {}).get("test_pass")
        pooled = correlation(results["test_pass"], results["score"])
        cells = dict(list(results.groupby("task")))
        within = {task: correlation(cells[task]["test_pass"], cells[task]["score"])
                  for task in tasks_by_level(dataset) if task in cells}
        beyond = beyond_construction(results, weight=share)
        construction = _construction_r(results, share)
        verdict, reason = near_perfect_verdict(beyond)
        reason = f"for the {beyond.outcome} beyond model and task effects, {reason}"
        settle = settle_fixed_effects_correlation(
            beyond.r, n_models=results["model"].nunique(), n_tasks=results["task"].nunique(),
            null_r=NEAR_PERFECT_R)
        sentences = _sentences(results, share, pooled, within, beyond, construction)
        if len(results) < len(dataset.results):
            sentences.append(f"{len(dataset.results) - len(results)} cells without test_pass "
                             "are left out.")
        sentences.append(settle_sentence(settle))
        statistics = {
            "beyond_construction": beyond.to_dict(),
            "near_perfect_r": NEAR_PERFECT_R,
            "construction_r": construction,
            "pooled": pooled.to_dict(),
            "within_task": {t: c.to_dict() for t, c in within.items()},
            "repeated_measures": repeated_measures_correlation(
                results, x="test_pass", y="score", subject="task").to_dict(),
            "settle": settle.to_dict(),
        }
        return self.result(dataset, statistics, verdict, reason, sentences)

    def input_frame(self, dataset: Dataset) -> pd.DataFrame:
        return ordered_inputs(dataset, dataset.results[["model", "task", "test_pass", "score"]])

    def evidence(self, statistics: dict[str, Any]) -> list[Table]:
        return _tables(statistics)

    def figure(self, finding: Finding) -> Figure | None:
        return _figure(finding)


test_pass_vs_score = TestPassVsScore()


def _sentences(results: pd.DataFrame, share: float | None, pooled: CorrelationResult,
               within: dict[str, CorrelationResult], beyond: BeyondConstructionResult,
               construction: float | None) -> list[str]:
    n_models, n_tasks = results["model"].nunique(), results["task"].nunique()
    sentences = [
        f"Pooled over {pooled.n} (model, task) cells, test_pass correlates with score at "
        f"{corr_phrase(pooled)}, but the cells are not independent (they share {n_models} "
        f"models and {n_tasks} tasks)."
    ]
    if construction is not None:
        sentences.append(
            f"The grader formula puts {fmt.given(share)} x test_pass into the score, so even "
            f"if the rest of the score were unrelated to test_pass, the pooled r would be "
            f"about {fmt.corr(construction)} by construction alone.")
    defined = {t: c for t, c in within.items() if c.r is not None}
    if defined and len(within) <= 5:
        sentences.append("Across models within each task: " + "; ".join(
            f"{t}: {corr_phrase(c)}" for t, c in within.items()) + ".")
    elif defined:
        rs = [c.r for c in defined.values() if c.r is not None]
        sentences.append(
            f"Across models within single tasks, r ranges from {fmt.corr(min(rs))} to "
            f"{fmt.corr(max(rs))} ({len(defined)} of {len(within)} tasks defined).")
    if beyond.r is not None:
        sentences.append(
            f"{'Beyond the formula and beyond' if share is not None else 'Beyond'} model and "
            f"task effects, the {beyond.outcome} correlates with test_pass at "
            f"r = {fmt.corr(beyond.r)} ({fmt.ci(beyond.ci95, fmt.corr)}, "
            f"{fmt.pval(beyond.p_value)}, "
            f"n = {beyond.n} cells, {beyond.dof} residual degrees of freedom).")
    else:
        sentences.append(f"The partial correlation beyond model and task effects is undefined "
                         f"({beyond.reason}).")
    if share is not None:
        sentences.append(
            "No correlation can validate the formula's weight on test_pass: the weight is a "
            "design choice of the grader, not something the scores can confirm.")
    return sentences


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


def _tables(stats: dict[str, Any]) -> list[Table]:
    beyond = stats["beyond_construction"]
    tables_first = [Table(
        "Beyond construction: partial correlation with test_pass, model and task fixed effects",
        ("outcome", "n", "k", "dof", "r", "95% CI", "p", "near-perfect: r at least"),
        ((beyond["outcome"], fmt.count(beyond["n"]), fmt.count(beyond["k"]),
          fmt.count(beyond["dof"]), fmt.corr(beyond["r"]), fmt.span(beyond["ci95"], fmt.corr),
          fmt.p(beyond["p_value"]), fmt.given(stats["near_perfect_r"])),),
        beyond.get("reason"))]
    rows = [corr_row("pooled over cells", stats["pooled"])]
    within = list((stats.get("within_task") or {}).items())
    rows += [corr_row(f"within {task}", c) for task, c in within[:MAX_TABLE_ROWS]]
    note = (f"{len(within) - MAX_TABLE_ROWS} more tasks are in findings.json "
            "(statistics.within_task)." if len(within) > MAX_TABLE_ROWS else None)
    if stats.get("construction_r") is not None:
        extra = (f"The formula alone would give a pooled r of about "
                 f"{fmt.corr(stats['construction_r'])}.")
        note = f"{note} {extra}" if note else extra
    tables = [*tables_first,
              Table("Correlation of test_pass with score", CORR_HEADERS, tuple(rows), note)]
    rm = stats.get("repeated_measures")
    if rm:
        tables.append(Table(
            "Repeated-measures correlation, subject = task (Bakdash & Marusich 2017; ignores "
            "the crossed model factor)",
            ("n", "tasks", "r", "dof", "95% CI", "p"),
            ((fmt.count(rm["n"]), fmt.count(rm["subjects"]), fmt.corr(rm["r"]),
              fmt.count(rm["dof"]), fmt.span(rm["ci95"], fmt.corr), fmt.p(rm["p_value"])),),
            rm.get("reason"),
        ))
    return tables


# ----------------------------------------------------------------------------------------------
# The figure
# ----------------------------------------------------------------------------------------------
def beyond_construction_residuals(dataset: Dataset, finding: Finding) -> pd.DataFrame:
    """The (model, task) cells' test_pass and outcome (score − w × test_pass, w the grader's
    weight; the score itself when the finding's outcome is the score), each residualised on
    model and task dummies by least squares: the two variables whose correlation is
    ``statistics["beyond_construction"]["r"]``. Columns ``model, task, test_pass, outcome``."""
    beyond = finding.statistics["beyond_construction"]
    weight = None if beyond["outcome"] == "score" else (
        (grader_weights(dataset) or {}).get("test_pass"))
    cells = dataset.results[["model", "task", "score", "test_pass"]].dropna()
    cells = cells.assign(
        outcome=cells["score"] - (0.0 if weight is None else weight) * cells["test_pass"])
    residual = fixed_effects_residuals(cells, ["test_pass", "outcome"])
    return pd.DataFrame({"model": cells["model"].to_numpy(), "task": cells["task"].to_numpy(),
                         "test_pass": residual["test_pass"].to_numpy(),
                         "outcome": residual["outcome"].to_numpy()})


def _figure(finding: Finding) -> Figure | None:
    from .. import plots

    dataset = finding.dataset
    assert dataset is not None
    beyond = finding.statistics["beyond_construction"]
    cells = beyond_construction_residuals(dataset, finding)
    models = sorted(cells["model"].unique())
    styles = plots.model_styles(models)
    figure, ax = plots.new_figure(8.5, 5.0)
    for model in models:
        rows = cells[cells["model"] == model]
        shown = plots.name(model) if len(models) <= plots.MAX_LEGEND_MODELS else None
        ax.scatter(rows["test_pass"], rows["outcome"], s=36, label=shown,
                   edgecolors="white", linewidths=0.5, gid=f"cells:{model}", **styles[model])
    for value in (ax.axhline, ax.axvline):
        value(0, color="grey", linewidth=0.8)
    if len(cells) > 1 and np.ptp(cells["test_pass"]) > 0:
        slope, intercept = np.polyfit(cells["test_pass"], cells["outcome"], 1)
        x = np.array([cells["test_pass"].min(), cells["test_pass"].max()])
        ax.plot(x, intercept + slope * x, color="black", linewidth=1, alpha=0.6,
                label="least-squares line")
    outcome = plots.plain(beyond["outcome"])
    ax.set_xlabel("test_pass, after model and task effects (residual)", fontsize=plots.SMALL)
    ax.set_ylabel(f"{outcome},\nafter model and task effects (residual)", fontsize=plots.SMALL)
    ax.tick_params(labelsize=plots.SMALL)
    figure.suptitle(
        f"Test pass vs score beyond construction: partial r = {fmt.corr(beyond['r'])} "
        f"({fmt.ci(beyond.get('ci95'), fmt.corr)}), {beyond['n']} cells, {beyond['dof']} "
        "residual dof\n"
        f"near-perfect means r ≥ {fmt.given(finding.statistics['near_perfect_r'])}: "
        f"{plots.verdict_label(finding)}", fontsize=plots.TITLE)
    legend_title = ("model" if len(models) <= plots.MAX_LEGEND_MODELS
                    else f"{len(models)} models (not listed)")
    # Below the axes: beside them, the legend's top would meet the title.
    figure.legend(loc="outside lower center", fontsize=plots.SMALL, title=legend_title,
                  title_fontsize=plots.SMALL, ncol=4)
    return figure
