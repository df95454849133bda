"""The methods: every statistic, the verdict rules, assumptions and references.

This module is the single source of the methods text. ``docs/methods.md`` is generated from it
(see :data:`REGENERATE`; a test checks it is current) and
``results/findings.md`` ends with the short form (:func:`methods_markdown` with ``short=True``).
"""

from __future__ import annotations

from .findings import ALPHA, COMPONENT_TOLERANCE
from .stats import (
    PERMUTATION_EXACT_MAX_N,
    PERMUTATION_MAX_N,
    PERMUTATION_RESAMPLES,
    PERMUTATION_SEED,
)

__all__ = ["REFERENCES", "REGENERATE", "RULES", "methods_markdown"]

#: The command that rewrites docs/methods.md from this module.
REGENERATE = (
    'python -c "from teamforge_analysis.methods import methods_markdown as m; '
    "print(m(), end='')\" > docs/methods.md"
)

_A = f"{ALPHA:g}"

#: The verdict rule of each finding, by finding id.
RULES: dict[str, str] = {
    "scale_vs_difficulty": (
        f"*Supported* iff the hardest level's r > 0 with p < {_A} and the whole Zou interval "
        "for r(hardest) − r(easiest) is above 0; *contradicted* iff that interval is below 0, "
        f"or the hardest level's r < 0 with p < {_A}; otherwise *inconclusive*; "
        "*not computable* with fewer than two difficulty levels or when a statistic the rule "
        "needs is null."
    ),
    "step_efficiency": (
        f"*Supported* iff the two-sided Wilcoxon p < {_A} and median d > 0; *contradicted* iff "
        f"p < {_A} and median d < 0; otherwise *inconclusive*; *not computable* with fewer "
        "than three levels, without step counts, or when every difference is zero."
    ),
    "test_pass_vs_score": (
        "Decided beyond construction (\"near-perfect\" is r ≥ 0.9): *supported* iff the whole "
        "95% interval of `beyond_construction` is ≥ 0.9; *contradicted* iff the whole interval "
        "is < 0.9; otherwise *inconclusive*; *not computable* without test_pass, when "
        "n − k − 3 < 1 or when a residual is constant."
    ),
    "hard_task_boundary": (
        f"*Supported* iff the two-sided Mann–Whitney p < {_A} with the passing models larger; "
        f"*contradicted* iff p < {_A} with them smaller; otherwise *inconclusive* (also when no "
        "model or every model passes); *not computable* without pass thresholds or when no "
        "model has both a known size and a known pass status."
    ),
    "score_components": (
        "*Descriptive*: it tests no claim. *Not computable* without a grader formula (in "
        "benchmark.json, or TeamForge's for data with its four component columns besides "
        "test_pass) or without the formula's columns in results.csv."
    ),
    "planning_depth_vs_success": (
        "The correlation rule on `stratified` (depth vs passed, the permutation p shuffling "
        f"depth only within model × task strata): *supported* iff r > 0 with p < {_A}; "
        f"*contradicted* iff r < 0 with p < {_A}; otherwise *inconclusive*; *not computable* "
        "without a step log or when the correlation or its p is undefined (for example when "
        "every episode passed, or depth is constant within every stratum)."
    ),
    "reward_trajectories": "*Descriptive*: it tests no claim. *Not computable* without a step log.",
}

#: What each finding computes, by finding id.
STATISTICS: dict[str, str] = {
    "scale_vs_difficulty": (
        "Per model, the mean score over the tasks of each difficulty level (a model's level "
        "mean needs every task of that level), correlated across models with `params_b` "
        "(`by_difficulty`). `hard_minus_easy` is r(hardest) − r(easiest) with Zou's (2007) 95% "
        "interval for two overlapping dependent correlations (both share size; the third "
        "correlation is between the hardest- and easiest-level means), on the models that "
        "have both; null when n ≤ 3 or any |r| = 1. `sensitivity` repeats the correlations "
        "with total parameters, active parameters (where given, else the total) and "
        "log10(total), and `sensitivity_verdicts` applies the rule under each."
    ),
    "step_efficiency": (
        "Per model, mean steps per difficulty level (weighted like scores); `degradation_pct` = "
        "(hardest − easiest) / easiest × 100. With d = (level 2 − level 1) − (last level − the "
        "one before it) per model (with three levels (medium − easy) − (hard − medium)), "
        "`effect` is the mean d with its 95% t-interval (null when every d is equal), the "
        "median d and n; `paired_test` is "
        "`scipy.stats.wilcoxon(d)` with its defaults (two-sided; exact without ties or zeros, "
        "an exact sign-flip permutation with them for n ≤ 13, the normal approximation "
        "otherwise). `min_attainable_p` = 2 / 2ⁿ for n non-zero differences: when it is not "
        f"below {_A}, no data of that size can support or contradict the claim."
    ),
    "test_pass_vs_score": (
        "`beyond_construction`: the partial correlation of the rest of the score "
        "(score − w × test_pass, w test_pass's weight in the grader formula of the data's "
        "profile; the score itself without a declared formula, `outcome` says which) with "
        "test_pass, controlling for model and task fixed effects (least-squares residuals on "
        "dummy columns, one level dropped per factor), over the (model, task) cells; "
        "dof = n − k − 2 with k = (models − 1) + (tasks − 1), a t test, and the Fisher-z "
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
    ),
    "hard_task_boundary": (
        "A model passes the hardest level when its score on that level (the weight-weighted "
        "mean of its task scores there) is at least the weighted mean of the level's "
        "`pass_threshold`s; with one task per level, when its score is at least that task's "
        "threshold (null when it lacks a task of the level). `size_test`: the two-sided "
        "Mann–Whitney test of the sizes of passing against failing models of known size "
        "(`scipy.stats.mannwhitneyu`: exact without ties, else its permutation method over all "
        "splits), with U, p, the n of each group, `min_attainable_p` (the same test on the most "
        "extreme split of the observed sizes, 2 / C(n, k) without ties; null when no model or "
        "every model passes) and `separated` (every passing model larger than every failing "
        "one). `inconsistent_flags` lists rows "
        "whose `passed` disagrees with score ≥ pass_threshold (a warning, not an error), "
        "checked on every run row and naming its `run`."
    ),
    "score_components": (
        "With a grader formula in the data's profile (`grader` in benchmark.json: component "
        "columns, weights and a clamp; data with TeamForge's four component columns get "
        "TeamForge's formula) and its columns in results.csv, `by_model` gives each "
        "component's contribution to the model's weighted score, grader weight × Σ_t task "
        "weight × component (cells combined by the run protocol), and a `residual` (the score "
        "minus the contributions: clamping, and scores that do not follow the formula). "
        f"`mismatches` lists every row of results.csv whose score is more than "
        f"{COMPONENT_TOLERANCE:g} from the clamped formula."
    ),
    "planning_depth_vs_success": (
        "An episode is a row of results.csv (one run) with steps in the step log; its planning "
        "depth is its number of `plan_step` actions (0 when none). `depth_vs_score` and "
        "`depth_vs_passed` (point-biserial: Pearson r with passed as 0/1) correlate depth with "
        "the run's score and pass flag over all episodes; `within_task` correlates depth with "
        "score within each task. Episodes share models and tasks, so they are not independent "
        "and the p-values are optimistic; the correlations say nothing about causation."
    ),
    "reward_trajectories": (
        "Per difficulty level, over episodes: `mean_total_reward` (and its SD) of the summed "
        "per-step reward; `mean_reward_slope` (and SD), the mean least-squares slope of reward "
        "against the position (step − first) / (last − first), over episodes of at least two "
        "steps (`episodes_with_slope`); `declining_fraction`, the share of those with a "
        "negative slope; `steps_to_first_full_pass`, the median over episodes that reach "
        "tests_passed = tests_total > 0 of the first step where they do "
        "(`episodes_with_full_pass`; null if none). The figure shows mean cumulative reward "
        "against that position in ten bins, each episode weighted equally."
    ),
}

_RUNS = (
    "When results.csv has a `run` column, each (model, task) cell has several runs. The "
    "findings work on one row per cell: under `--aggregate mean` (the default) numeric columns "
    "are averaged over the runs and a cell passes when more than half its runs passed; under "
    "`--aggregate best` (the published best-of-N protocol) the cell is the run with the "
    "highest score, ties going to the lowest run number. The leaderboard reports both "
    "(`teamforge_score_mean`, `teamforge_score_best`; their difference is how much best-of-N "
    "inflates a score) and the standard error of the mean-based score, "
    "√(Σ_t w_t² s_t² / n_t) with s_t the sample standard deviation (ddof = 1) of the model's "
    "n_t runs on task t, treating runs as independent draws (Miller 2024); it is null when "
    "any n_t is 1. Its 95% interval uses a t quantile with Welch–Satterthwaite degrees of "
    "freedom, df = (Σ v_t)² / Σ [v_t² / (n_t − 1)], v_t = w_t² s_t² / n_t (`run_se_ci95` in "
    "`leaderboard_uncertainty`)."
)

_CORRELATION = (
    "Every correlation (CORR) reports `n` (complete pairs), Pearson's `r` and two-sided "
    "`p_value` (`scipy.stats.pearsonr`), `ci95` by Fisher's (1921) z transform as "
    "`pearsonr(...).confidence_interval()` computes it (null when n ≤ 3 or |r| = 1), "
    "`spearman_rho`/`spearman_p` (`scipy.stats.spearmanr`; its p uses a t approximation that "
    "is rough for small n), `kendall_tau`/`kendall_p` (`scipy.stats.kendalltau`), "
    "`p_permutation`: the two-sided permutation p of r with x permuted against fixed y "
    "(`scipy.stats.permutation_test`, `permutation_type=\"pairings\"`), exact over all n! "
    f"pairings for n ≤ {PERMUTATION_EXACT_MAX_N}, Monte Carlo with {PERMUTATION_RESAMPLES} "
    f"resamples and seed {PERMUTATION_SEED} for n ≤ {PERMUTATION_MAX_N}, null above (where "
    "it agrees with `p_value`), and `min_detectable_r` = tanh((z₀.₉₇₅ + z₀.₈₀) / √(n − 3)), "
    "the smallest |r| a parametric test would detect with 80% power at α = 0.05 (null for "
    "n ≤ 3; the texts omit it where the permutation floor makes it meaningless). With n < 3 or a "
    "constant sample every field but `n` is null and `reason` says why."
)

_VERDICTS = (
    "Verdicts are `supported`, `contradicted`, `inconclusive` or `not_computable`, decided by "
    f"fixed rules at α = {_A}. Every rule is two-sided, with the direction taken from the "
    "estimate; a two-sided permutation p is scipy's convention, twice the smaller one-sided p "
    "(at most 1). The rules were fixed after the bundled data had been seen, so on the "
    "bundled data they are descriptions that a new data set would have to confirm. Every "
    "inferential finding states `settle`: the fewest units with which its rule could decide "
    "at all, and (approximately) how many would give 80% power at the observed effect. "
    "Where a rule uses a correlation's p-value it uses `p_permutation` where that is not "
    "null, else `p_value`: the permutation p assumes only exchangeability, "
    "while the parametric p assumes bivariate normality that a handful of points cannot show. "
    "`inconclusive` means the data can neither support nor contradict the claim; the texts say "
    "when no outcome of that sample size could have reached p < "
    f"{_A} at all. Findings that describe the data and test no claim have the verdict "
    "`descriptive` (or `not_computable` when their inputs are absent)."
)

_ASSUMPTIONS = (
    "Models are treated as independent units (models of one family are not: the caveats name "
    "them); with few models every interval is wide. The caveats computed from each data set "
    "say how its scores were produced (the bundled scores are best-of-3 runs, which inflates "
    "them), how many tasks each level has, and whether the weights can change the ranking. "
    "Size measures are nominal parameter counts. Nothing here corrects for multiple "
    "comparisons: each finding tests one pre-stated claim, and the extra correlations (other "
    "levels, other size measures, single tasks) are reported as context, not as further "
    "tests. Following Miller (2024), every inferential number is reported with its n and its "
    "uncertainty."
)

#: References cited by the methods: short citation -> full reference.
REFERENCES: dict[str, str] = {
    "Bakdash & Marusich 2017": "Bakdash, J. Z., & Marusich, L. R. (2017). Repeated measures "
    "correlation. *Frontiers in Psychology*, 8, 456.",
    "Fisher 1921": "Fisher, R. A. (1921). On the 'probable error' of a coefficient of "
    "correlation deduced from a small sample. *Metron*, 1, 3–32.",
    "Miller 2024": "Miller, E. (2024). Adding error bars to evals: A statistical approach to "
    "language model evaluations. arXiv:2411.00640.",
    "Zou 2007": "Zou, G. Y. (2007). Toward using confidence intervals to compare correlations. "
    "*Psychological Methods*, 12(4), 399–413.",
    "SciPy": "Virtanen, P., et al. (2020). SciPy 1.0. *Nature Methods*, 17, 261–272: "
    "`scipy.stats.pearsonr`, `spearmanr`, `kendalltau`, `permutation_test`, `wilcoxon`.",
}

_TITLES = {
    "scale_vs_difficulty": "Model scale vs task difficulty",
    "step_efficiency": "Step efficiency by difficulty",
    "test_pass_vs_score": "Test pass rate vs final score",
    "hard_task_boundary": "Hardest level as a capability boundary",
    "score_components": "Score components",
    "planning_depth_vs_success": "Planning depth vs success",
    "reward_trajectories": "Reward trajectories",
}


def methods_markdown(*, short: bool = False, heading_level: int = 1) -> str:
    """The methods as markdown: the full document, or (``short``) the rules and references."""
    h = "#" * heading_level
    lines: list[str] = []
    if short:
        lines += [f"{h} Methods", "", _VERDICTS, ""]
        lines += [f"- **{fid}**: {rule}" for fid, rule in RULES.items()]
        lines += ["", f"Full methods: docs/methods.md. References: {'; '.join(REFERENCES)}.", ""]
        return "\n".join(lines)
    lines += [
        f"{h} Methods",
        "",
        f"Generated from `teamforge_analysis/methods.py` by `{REGENERATE}`.",
        "",
        f"{h}# Correlations",
        "",
        _CORRELATION,
        "",
        f"{h}# Verdicts",
        "",
        _VERDICTS,
        "",
        f"{h}# Repeated runs",
        "",
        _RUNS,
        "",
    ]
    for fid, rule in RULES.items():
        lines += [
            f"{h}# {_TITLES[fid]} (`{fid}`)",
            "",
            STATISTICS[fid],
            "",
            f"Rule: {rule}",
            "",
        ]
    lines += [f"{h}# Assumptions and limits", "", _ASSUMPTIONS, "", f"{h}# References", ""]
    lines += [f"- {r}" for r in REFERENCES.values()]
    return "\n".join(lines) + "\n"
