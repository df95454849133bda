"""What every finding shares: the :class:`Finding` result, the :class:`Definition` each finding
module fills in, the verdict vocabulary, the correlation rule and the phrases texts are made of.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
import pandas as pd

from .. import _fmt as fmt
from .._checks import require_choice, require_dataset
from ..dataset import Dataset
from ..inference import ALPHA, SettleResult
from ..scoring import level_scores
from ..stats import CorrelationResult, RepeatedMeasuresResult
from ..tables import Markdown, Note, Parts, Table, frame_table, md_paragraph, md_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Finding texts name at most this many models in one list (the JSON lists them all).
MAX_NAMED_MODELS = 8
DESCRIPTIVE_REASON = "the finding describes the data and tests no claim"
STEP_LOG_FILES = "steps.jsonl, steps.csv or steps.parquet"

Verdict = Literal["supported", "contradicted", "inconclusive", "not_computable", "descriptive"]


@dataclass(frozen=True)
class Finding:
    """One finding computed on one data set: the claim, the evidence and the verdict it earns.

    Attributes
    ----------
    id, title
        Stable identifier and a short title.
    claim
        The claim tested (or, for a descriptive finding, what is described).
    statistics
        JSON-ready evidence (numbers unrounded; undefined values are ``None``).
    verdict
        ``supported``, ``contradicted``, ``inconclusive``, ``not_computable`` or
        ``descriptive`` (the finding describes the data and tests no claim).
    verdict_reason
        Which branch of the rule decided the verdict.
    text
        A paragraph generated from ``statistics`` and the verdict.
    dataset
        The data set it was computed on (for :meth:`inputs` and :meth:`figure`).
    """

    id: str
    title: str
    claim: str
    statistics: dict[str, Any]
    verdict: Verdict
    verdict_reason: str
    text: str
    dataset: Dataset | None = field(default=None, repr=False, compare=False)

    @property
    def definition(self) -> Definition:
        """The finding's :class:`Definition`, from the registry."""
        from . import definition

        return definition(self.id)

    def to_dict(self) -> dict[str, Any]:
        """The finding as it is in the JSON document."""
        return {"id": self.id, "title": self.title, "claim": self.claim,
                "verdict": self.verdict, "verdict_reason": self.verdict_reason,
                "text": self.text, "statistics": self.statistics}

    def to_frame(self) -> pd.DataFrame:
        """The statistics as a tidy frame: one row per number or text, ``statistic`` the
        dotted path to it (``by_difficulty.hard.r``), ``value`` the value itself."""
        rows = list(_flatten(self.statistics))
        return pd.DataFrame({"finding": [self.id] * len(rows),
                             "statistic": [k for k, _ in rows],
                             "value": pd.Series([v for _, v in rows], dtype=object)})

    def input_frame(self) -> pd.DataFrame:
        """The rows the finding reads (:func:`.finding_inputs`)."""
        return self.definition.input_frame(self._dataset(), **self._options())

    def inputs(self) -> Parts:
        """The rows the finding reads, as tables."""
        return Parts(self.definition.input_tables(self._dataset(), **self._options()))

    def method(self) -> Markdown:
        """What the finding computes and its verdict rule (as in ``docs/methods.md``)."""
        return Markdown(f"{self.definition.computes}\n\n**Rule.** {self.definition.rule}")

    def claim_note(self) -> Markdown:
        """The title and the claim tested (or what a descriptive finding describes)."""
        label = ("What the finding describes (it tests no claim)" if self.definition.descriptive
                 else "The claim tested")
        return Markdown(f"**{md_text(self.title)}.** {label}:\n\n> {md_text(self.claim)}")

    def evidence(self) -> Parts:
        """The evidence tables, or a note saying why there are none."""
        return evidence(self.to_dict())

    def figure(self) -> Figure | None:
        """The finding's figure (drawn from its statistics); None when not computable."""
        self._dataset()
        if self.verdict == "not_computable":
            return None  # an image of the sentence its text already says would only repeat it
        drawn = self.definition.figure(self)
        if drawn is not None:
            drawn.alt_text = f"{self.title}: {self.definition.figure_shows}. " \
                             f"Verdict: {self.verdict.replace('_', ' ')}."
        return drawn

    def verdict_note(self) -> Markdown:
        """The verdict in bold, then the generated text."""
        return Markdown(f"**Verdict: {self.verdict.replace('_', ' ')}**\n\n"
                        f"{md_paragraph(self.text)}")

    def __repr__(self) -> str:
        from ..display import one_line_repr

        return one_line_repr("Finding", [("id", self.id), ("verdict", self.verdict),
                                         ("reason", self.verdict_reason)])

    def _repr_html_(self) -> str:
        from ..display import finding_html

        return finding_html(self.to_dict())

    def _dataset(self) -> Dataset:
        if self.dataset is None:
            raise ValueError(f"finding {self.id!r} was built without its data set: compute it "
                             "with analyze(...) or findings.all_findings(dataset)")
        return self.dataset

    def _options(self) -> dict[str, Any]:
        size = self.statistics.get("size_column")
        return {"size_column": size} if size else {}


def _flatten(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _flatten(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        for i, item in enumerate(value):
            yield from _flatten(item, f"{path}[{i}]")
    else:
        yield path, value


def evidence(finding: dict[str, Any]) -> Parts:
    """A finding's evidence tables (from its dict in the JSON document), or a note saying why
    it has none."""
    from . import REGISTRY

    known = REGISTRY.get(finding["id"])
    # (a finding not computable for want of a measure has no statistics at all)
    tables = known.evidence(finding["statistics"]) if known and finding["statistics"] else []
    if tables:
        return Parts(tables)
    verdict = finding["verdict"].replace("_", " ")
    return Parts((Note(f"No statistics: {verdict}, because {finding['verdict_reason']}."),))


class Definition:
    """A finding, defined in one place: the claim it tests, what it computes, its rule, its
    inputs, its evidence tables and its figure. Calling it computes the finding.

    A subclass's docstring is the question; the docstring gains ``computes`` and ``rule``, the
    wording ``docs/methods.md`` and the notebooks' Method sections show.
    """

    id: ClassVar[str]
    title: ClassVar[str]
    #: The claim tested when the data's profile states none.
    generic_claim: ClassVar[str] = ""
    #: What the finding computes, and its verdict rule (markdown).
    computes: ClassVar[str]
    rule: ClassVar[str]
    #: Caption of the input table, and what the figure shows (its alternative text).
    inputs_caption: ClassVar[str]
    figure_shows: ClassVar[str]
    descriptive: ClassVar[bool] = False
    #: Whether it takes a ``size_column`` option.
    reads_size: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.__doc__ = f"{inspect.cleandoc(cls.__doc__ or '')}\n\n{cls.computes}\n\n" \
                      f"Rule: {cls.rule}"

    def __call__(self, dataset: Dataset, **options: Any) -> Finding:
        require_dataset(dataset)
        return replace(self.compute(dataset, **options), dataset=dataset)

    def __repr__(self) -> str:
        return f"<finding {self.id}>"

    def compute(self, dataset: Dataset, **options: Any) -> Finding:
        raise NotImplementedError

    def input_frame(self, dataset: Dataset, **options: Any) -> pd.DataFrame:
        raise NotImplementedError

    def input_tables(self, dataset: Dataset, **options: Any) -> list[Table]:
        return [frame_table(self.input_frame(dataset, **options), self.inputs_caption,
                            source="finding.input_frame()")]

    def evidence(self, statistics: dict[str, Any]) -> list[Table]:
        return []

    def figure(self, finding: Finding) -> Figure | None:
        return None

    def claim(self, dataset: Dataset) -> str:
        """The claim tested: the data's profile's wording, else :attr:`generic_claim`."""
        claims = getattr(dataset.profile, "claims", None) or {}
        return claims.get(self.id, self.generic_claim)

    def result(self, dataset: Dataset, statistics: dict[str, Any], verdict: Verdict,
               reason: str, sentences: list[str], claim: str | None = None) -> Finding:
        """The Finding, its text the sentences followed by the verdict sentence."""
        text = " ".join([*sentences, verdict_sentence(verdict, reason)])
        return Finding(self.id, self.title, self.claim(dataset) if claim is None else claim,
                       statistics, verdict, reason, text)

    def not_computable(self, dataset: Dataset, reason: str,
                       statistics: dict[str, Any] | None = None, *, ask: str = "",
                       claim: str | None = None) -> Finding:
        """A not computable Finding; ``ask`` names the data that would enable it."""
        return self.result(dataset, statistics or {}, "not_computable", reason,
                           [ask] if ask else [], claim)

    def without_step_log(self, dataset: Dataset, statistics: dict[str, Any]) -> Finding:
        return self.not_computable(
            dataset, "the data folder has no step log", statistics,
            ask=f"Add {STEP_LOG_FILES} (one row per agent step: model, task, run, step, action, "
                "reward) to the data folder to compute this finding.")


# ----------------------------------------------------------------------------------------------
# The data
# ----------------------------------------------------------------------------------------------
#: What a measure is called when a text says which column would enable a finding.
_MEASURE_FILES = {"steps": "results.csv", "test_pass": "results.csv", "passed": "results.csv",
                  "pass_threshold": "tasks.csv"}


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


def difficulty_means(dataset: Dataset, value: str = "score") -> pd.DataFrame:
    """Per model, ``value`` on each level: :func:`.scoring.level_scores`.

    Examples
    --------
    >>> from teamforge_analysis import load_dataset
    >>> difficulty_means(load_dataset(), "steps").loc["gemma2-9b-it"].tolist()
    [18.0, 30.0, 40.0]
    """
    return level_scores(dataset, value)


def gap_records(dataset: Dataset, gaps: pd.DataFrame, value: str) -> list[dict[str, Any]]:
    """The rows of :func:`.scoring.level_gaps` for the JSON document, each ``reason`` said in
    words (``no result on hard task p0300``, ``steps blank on all 140 easy tasks``)."""
    sizes = dataset.tasks.groupby("difficulty")["task"].size()
    records = []
    for gap in gaps.to_dict("records"):
        level, tasks, n_level = gap["level"], gap["tasks"], int(sizes[gap["level"]])
        some = (f"{level} task {tasks[0]}" if len(tasks) == 1 else
                f"both {level} tasks" if len(tasks) == n_level == 2 else
                f"all {n_level} {level} tasks" if len(tasks) == n_level else
                f"{len(tasks)} {level} tasks")
        reason = {"no result": f"no result on {some}",
                  "blank": f"{value} blank on {some}",
                  "zero weight": f"{value} only on {level} tasks of weight 0"}[gap["reason"]]
        records.append({"model": str(gap["model"]), "level": level, "reason": reason,
                        "tasks": [str(t) for t in tasks]})
    return records


def left_out_sentence(records: list[dict[str, Any]], intro: str) -> str | None:
    """``{intro}: m1 (no result on hard task p3), m2 (...) and 4 others.``, one entry per
    model (its levels' reasons joined by semicolons); None when nothing is left out."""
    why: dict[str, list[str]] = {}
    for record in records:
        why.setdefault(record["model"], []).append(record["reason"])
    if not why:
        return None
    items = [f"{model} ({'; '.join(reasons)})" for model, reasons in sorted(why.items())]
    return f"{intro}: {fmt.names(items, at_most=MAX_NAMED_MODELS)}."


def _column_sizes(dataset: Dataset, column: str) -> pd.Series:
    return dataset.models.set_index("model")[column].astype(float)


def size_measures(dataset: Dataset) -> dict[str, pd.Series]:
    """Model size by each measure: ``params_b`` (total), ``active_params_b`` (active where
    given, else the total) and ``log10_params_b``."""
    total = _column_sizes(dataset, "params_b")
    active = _column_sizes(dataset, "active_params_b").fillna(total)
    return {"params_b": total, "active_params_b": active, "log10_params_b": np.log10(total)}


def model_sizes(dataset: Dataset, measure: str = "params_b") -> pd.Series:
    """Model size by ``measure``, indexed by model: one of :func:`size_measures`, or any
    other numeric column of models.csv."""
    require_dataset(dataset)
    measures = size_measures(dataset)
    numeric = [c for c in dataset.models.columns if c != "model"
               and pd.api.types.is_numeric_dtype(dataset.models[c])]
    require_choice("size_column", measure, list(dict.fromkeys([*measures, *numeric])))
    return measures[measure] if measure in measures else _column_sizes(dataset, measure)


def ordered_inputs(dataset: Dataset, rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with columns ``model, task, difficulty`` first, ordered by model, then level
    (easiest first), then task, then run."""
    difficulty = rows["task"].map(dataset.tasks.set_index("task")["difficulty"])
    level_order = difficulty.map({lvl: i for i, lvl in enumerate(dataset.levels)})
    order = ["model", "_level", "task", *(["run"] if "run" in rows else [])]
    rows = rows.assign(difficulty=difficulty, _level=level_order).sort_values(
        order, kind="stable")
    first = ("model", "task", "difficulty")
    return rows[[*first, *[c for c in rows if c not in (*first, "_level")]]].reset_index(
        drop=True)


def episode_inputs(dataset: Dataset, columns: tuple[str, ...]) -> pd.DataFrame:
    """One row per episode of the step log (none without one): its key and ``columns``."""
    from ..steps import EPISODE_KEY, dataset_episodes

    keys = list(EPISODE_KEY)
    if dataset.steps is None:
        rows = pd.DataFrame({c: pd.Series(dtype=object) for c in (*keys, *columns)})
    else:
        rows = dataset_episodes(dataset, with_runs=True)[[*keys, *columns]]
    return ordered_inputs(dataset, rows)


# ----------------------------------------------------------------------------------------------
# The correlation rule and the phrases of the texts
# ----------------------------------------------------------------------------------------------
def significant(r: float, p: float, sign: int) -> bool:
    return p < ALPHA and (r > 0 if sign > 0 else r < 0)


def correlation_verdict(result: CorrelationResult | RepeatedMeasuresResult
                        ) -> tuple[Verdict, str]:
    """The correlation rule, on the permutation p where defined, else the parametric p."""
    p = result.p_for_verdict if isinstance(result, CorrelationResult) else result.p_value
    label = ("permutation " if isinstance(result, CorrelationResult)
             and result.p_permutation is not None else "")
    return correlation_rule(result.r, p, label, f"the correlation is undefined ({result.reason})")


def correlation_rule(r: float | None, p: float | None, label: str, undefined: str
                     ) -> tuple[Verdict, str]:
    """*supported* iff r > 0 with p < α; *contradicted* iff r < 0 with p < α; *inconclusive*
    otherwise; *not_computable* when r or p is undefined (``label`` names the kind of p)."""
    if r is None or p is None:
        return "not_computable", undefined
    if significant(r, p, +1):
        return "supported", f"r > 0 and {label}{fmt.pval(p)} (below {ALPHA:g})"
    if significant(r, p, -1):
        return "contradicted", f"r < 0 and {label}{fmt.pval(p)} (below {ALPHA:g})"
    return "inconclusive", f"{label}{fmt.pval(p)} is not below {ALPHA:g}"


def corr_phrase(result: CorrelationResult) -> str:
    """``r = 0.73 (95% CI -0.77 to 0.99, p = 0.27, permutation p = 0.33, n = 4)``."""
    if result.r is None:
        return f"undefined (n = {result.n}: {result.reason})"
    p = fmt.pval(result.p_value)
    if result.p_permutation is not None:
        p += f", permutation {fmt.pval(result.p_permutation)}"
    return f"r = {fmt.corr(result.r)} ({fmt.ci(result.ci95, fmt.corr)}, {p}, n = {result.n})"


def power_sentence(result: CorrelationResult) -> str:
    """Why a small sample can only detect large correlations (empty when not relevant)."""
    if result.min_detectable_r is None:
        if result.n < 3:
            return ""  # (the correlation itself is undefined, and the text says why)
        return (f"With n = {result.n}, no interval can be computed and only a perfect "
                "correlation could be told from chance.")
    if result.r is not None and abs(result.r) >= result.min_detectable_r:
        return ""
    return (f"With n = {result.n}, only |r| >= {fmt.corr(result.min_detectable_r)} would be "
            "detected with 80% power at the 0.05 level.")


def verdict_sentence(verdict: Verdict, reason: str) -> str:
    return f"Verdict: {verdict.replace('_', ' ')}, because {reason}."


def settle_sentence(settle: SettleResult, about: str = "", of: str = "") -> str:
    """What data would settle the claim, in one sentence; ``about`` names the part of the rule
    it is computed for, where that is not all of it; ``of`` qualifies the units these data
    have where the rule counts only some ("with steps on every level it compares")."""
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
            f"{settle.n_observed} {unit}{of}).")

