"""The methods: the conventions every finding shares, each finding's statistics and rule (from
its definition in :mod:`.findings`), assumptions and references.

``docs/methods.md`` is generated from here (see :data:`REGENERATE`; a test checks it is
current) and ``results/findings.md`` ends with the short form (``short=True``).
"""

from __future__ import annotations

from ._fmt import RULE
from .findings import ALPHA, FINDINGS
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
    "Fisher 1921": "Fisher, R. A. (1921). On the 'probable error' of a coefficient of "
    "correlation deduced from a small sample. *Metron*, 1, 3–32.",
    "Miller 2024": "Miller, E. (2024). Adding error bars to evals: A statistical approach to "
    "language model evaluations. arXiv:2411.00640.",
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
    ]
    for f in FINDINGS:
        lines += [f"{h}# {f.title} (`{f.id}`)", "", f.computes, "", f"Rule: {f.rule}", ""]
    lines += [f"{h}# Assumptions and limits", "", _ASSUMPTIONS, "", f"{h}# Numbers", "", RULE, ""]
    lines += [f"{h}# References", ""]
    lines += [f"- {r}" for r in REFERENCES.values()]
    return "\n".join(lines) + "\n"
