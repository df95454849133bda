"""The methods: the conventions every finding shares, each finding's statistics and rule (from
its definition in :mod:`.findings`), assumptions and references.

``docs/methods.md`` is generated from here (see :data:`REGENERATE`; a test checks it is
current) and ``results/findings.md`` ends with the short form (``short=True``).
"""

from __future__ import annotations

from . import uncertainty as unc
from ._fmt import RULE
from .findings import ALPHA, FINDINGS
from .scoring import RANK_DECIMALS
from .stats import (
    PERMUTATION_EXACT_MAX_N,
    PERMUTATION_MAX_N,
    PERMUTATION_RESAMPLES,
    PERMUTATION_SEED,
)

__all__ = ["REFERENCES", "REGENERATE", "methods_markdown"]

#: The command that rewrites docs/methods.md from this module.
REGENERATE = (
    'python -c "from teamforge_analysis.methods import methods_markdown as m; '
    "print(m(), end='')\" > docs/methods.md"
)

_RUNS = (
    "When results.csv has a `run` column, each (model, task) cell has several runs. The "
    "findings work on one row per cell: under `--aggregate mean` (the default) numeric columns "
    "are averaged over the runs and a cell passes when more than half of its runs with a "
    "`passed` flag passed (no flag in any run: when its mean score reaches the task's "
    "`pass_threshold`); under "
    "`--aggregate best` (the published best-of-N protocol) the cell is the run with the "
    "highest score, ties going to the lowest run number. The leaderboard reports both "
    "(`teamforge_score_mean`, `teamforge_score_best`; their difference is how much best-of-N "
    "inflates a score) and the standard error of the mean-based score, "
    "√(Σ_t w_t² s_t² / n_t) with s_t the sample standard deviation (ddof = 1) of the model's "
    "n_t runs on task t, treating runs as independent draws (Miller 2024); it is null when "
    "any n_t is 1. Its 95% interval uses a t quantile with Welch–Satterthwaite degrees of "
    "freedom (Welch 1947; Satterthwaite 1946), df = (Σ v_t)² / Σ [v_t² / (n_t − 1)], "
    "v_t = w_t² s_t² / n_t (`run_se_ci95` in `leaderboard_uncertainty`)."
)

def _quantiles() -> str:
    """A two-sided interval's quantiles at the leaderboard's coverage: ``2.5% and 97.5%``."""
    tail = (1 - unc.CONFIDENCE) / 2
    return f"{100 * tail:g}% and {100 * (1 - tail):g}% quantiles"


def _intervals() -> str:
    return (
        f"**Score intervals.** Each model's {unc.CONFIDENCE:.0%} interval is a seeded "
        f"{unc.METHOD} (Efron & Tibshirani 1993) over the (model, task) cell scores, "
        f"B = {unc.DEFAULT_RESAMPLES:,} resamples, seed {unc.DEFAULT_SEED}: within every level "
        "with two or more tasks of positive weight, as many tasks as it has are drawn with "
        "replacement, and the drawn tasks' weights are scaled back to the level's share of the "
        "total weight, so every level keeps its share; a level with one task is held fixed. "
        "Under mean aggregation a cell's score already carries its runs' noise, so runs are "
        "resampled (within each cell; cells with one run held fixed) only when no level has two "
        "tasks. `ci_method` says which was resampled (`tasks` or `runs`). Under best-of-N "
        "aggregation the bootstrap is not defined, and with nothing to resample (one task per "
        "level and one run per cell) there is no interval: both are null with a `reason`. The "
        f"interval is the {_quantiles()} of the resampled weighted scores (numpy's default, "
        "linear, quantile). A model missing a task has no score and no interval.\n\n"
        "**Rank intervals.** In each resample the models with every task are ranked on their "
        f"scores rounded to {RANK_DECIMALS} significant digits (so that floating-point noise "
        "ties; tied models share the smaller rank number), and a model's rank interval is the "
        f"{_quantiles()} of its ranks by numpy's `inverted_cdf` method (ranks that occurred, "
        "never a fraction)."
    )


def _pairs() -> str:
    floor = unc.smallest_p(unc.PERMUTATION_EXACT_MAX_TASKS + 1)  # (the Monte Carlo p's)
    return (
        "**Paired comparisons.** Models are ordered by score, ties by name (`pair_order`: "
        "`score`); when some model misses a task, by score on the tasks every model has "
        "(`score_on_common_tasks`), or by name when no task is common to all (`name`). "
        "`pair_selection` says which pairs are compared: those adjacent in that order "
        "(`--pairs adjacent`, the default) or all pairs (`--pairs all`). A pair is compared on "
        "the tasks both models have (`n_tasks`), weights renormalised within levels over those "
        "tasks (a level with no shared task gives its share to the others in proportion). "
        "`difference` is the leading model's weighted score minus the other's, with a paired "
        "percentile bootstrap interval (the same resampled tasks or runs for both models; not "
        "adjusted for the number of pairs). `p_value` is the two-sided sign-flip permutation p "
        "of the per-task weighted differences d_t = w_t (a_t − b_t): exact over all 2ⁿ sign "
        f"vectors for n ≤ {unc.PERMUTATION_EXACT_MAX_TASKS} tasks, else estimated from "
        f"{unc.PERMUTATION_RESAMPLES:,} random sign vectors drawn from the same seed, with "
        f"scipy's +1 adjustment (so never below {floor:g}); one shared task gives p = 1. The "
        "random draws depend only on the seed (the sign vectors on n too, the resampled tasks "
        "of a pair with a model missing tasks on the pair), so a pair's numbers do not depend "
        "on which other pairs are compared. `p_holm` is Holm's (1979) step-down adjustment "
        "across the pairs compared (those with a shared task), and the verdict is `ahead` when "
        f"p_holm < α = {ALPHA:g}, else `indistinguishable`. With n tasks the smallest p the "
        "exact test can give is 2 / 2ⁿ, so a pair needs at least "
        f"{unc.MIN_TASKS_FOR_SIGNIFICANCE} shared tasks to be `ahead` at all, and Holm "
        "multiplies the smallest p by the number of pairs: the outputs say where this puts "
        "`ahead` out of reach."
    )


def _power() -> str:
    return (
        f"**Power.** `tasks_for_80_power` is n = ((z(1 − α/2) + z({unc.POWER:g})) · sd / "
        "mean)², with z the standard normal quantile and mean and sd those of the pair's d_t: "
        f"the tasks with which a two-sided paired test at α would have {unc.POWER:.0%} power "
        "at the observed difference, by the normal approximation and before any adjustment for "
        f"the number of pairs; at least {unc.MIN_TASKS_FOR_SIGNIFICANCE}, the fewest with which "
        "the sign-flip test can reach α. It is null, with a `reason`, when the pair's shared "
        "tasks include no level with two or more tasks (the bootstrap's rule: the d_t then "
        "spread across levels, not across tasks drawn from a level, and say nothing of how more "
        "tasks would vary), with fewer than two shared tasks, when the d_t average 0 (within "
        f"rounding), or when more than {unc.MAX_TASKS_REPORTED:,} tasks would be needed; the "
        "same d_t on every task needs the fewest.\n\n"
        "**Run noise.** `run_se` and `run_se_ci95` (see Repeated runs) give the run-to-run part "
        "alone, the tasks held fixed, so that the two sources of uncertainty can be compared."
    )


def _uncertainty() -> str:
    """The leaderboard uncertainty's method, every number read when called from the
    constants :mod:`.uncertainty` computes with (none typed here)."""
    return "\n\n".join((
        "`leaderboard_uncertainty` in findings.json, and the tables under the leaderboard, say "
        "how sure the ranking is. Following Miller (2024), the variation that matters most "
        "comes from which tasks are in the benchmark, and models are compared in pairs over "
        "the same tasks.", _intervals(), _pairs(), _power()))


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
    f"fixed rules at α = {ALPHA:g}. Every rule is two-sided, with the direction taken from the "
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
    f"{ALPHA:g} at all. Findings that describe the data and test no claim have the verdict "
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
    "Efron & Tibshirani 1993": "Efron, B., & Tibshirani, R. J. (1993). *An Introduction to "
    "the Bootstrap*. Chapman & Hall.",
    "Fisher 1921": "Fisher, R. A. (1921). On the 'probable error' of a coefficient of "
    "correlation deduced from a small sample. *Metron*, 1, 3–32.",
    "Holm 1979": "Holm, S. (1979). A simple sequentially rejective multiple test procedure. "
    "*Scandinavian Journal of Statistics*, 6(2), 65–70.",
    "Miller 2024": "Miller, E. (2024). Adding error bars to evals: A statistical approach to "
    "language model evaluations. arXiv:2411.00640.",
    "Satterthwaite 1946": "Satterthwaite, F. E. (1946). An approximate distribution of "
    "estimates of variance components. *Biometrics Bulletin*, 2(6), 110–114.",
    "Welch 1947": "Welch, B. L. (1947). The generalization of 'Student's' problem when several "
    "different population variances are involved. *Biometrika*, 34(1–2), 28–35.",
    "Zou 2007": "Zou, G. Y. (2007). Toward using confidence intervals to compare correlations. "
    "*Psychological Methods*, 12(4), 399–413.",
    "SciPy": "Virtanen, P., et al. (2020). SciPy 1.0. *Nature Methods*, 17, 261–272: "
    "`scipy.stats.pearsonr`, `spearmanr`, `kendalltau`, `permutation_test`, `wilcoxon`.",
}

def methods_markdown(*, short: bool = False, heading_level: int = 1) -> str:
    """The methods as markdown: the full document, or (``short``) the rules and references."""
    h = "#" * heading_level
    lines: list[str] = []
    if short:
        lines += [f"{h} Methods", "", _VERDICTS, ""]
        lines += [f"- **{f.id}**: {f.rule}" for f in FINDINGS]
        lines.append(f"- **leaderboard pairs**: `ahead` when the sign-flip p, Holm-adjusted "
                     f"across the pairs compared, is below {ALPHA:g}; else `indistinguishable`.")
        lines += ["", f"Full methods: docs/methods.md. References: {'; '.join(REFERENCES)}.", ""]
        return "\n".join(lines)
    lines += [
        f"{h} Methods",
        "",
        f"Generated from `teamforge_analysis/methods.py` and the findings' definitions in "
        f"`teamforge_analysis/findings/` by `{REGENERATE}`.",
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
        f"{h}# Leaderboard uncertainty",
        "",
        _uncertainty(),
        "",
    ]
    for f in FINDINGS:
        lines += [f"{h}# {f.title} (`{f.id}`)", "", f.computes, "", f"Rule: {f.rule}", ""]
    lines += [f"{h}# Assumptions and limits", "", _ASSUMPTIONS, "", f"{h}# Numbers", "", RULE, ""]
    lines += [f"{h}# References", ""]
    lines += [f"- {r}" for r in REFERENCES.values()]
    return "\n".join(lines) + "\n"
