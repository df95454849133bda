"""One call from a data folder to everything the renderers need."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ._checks import require_choice
from .caveats import caveats
from .dataset import Dataset, load_dataset
from .findings import Finding, all_findings
from .report import build_document
from .runs import AGGREGATES
from .scoring import leaderboard
from .uncertainty import LeaderboardUncertainty, leaderboard_uncertainty

__all__ = ["Analysis", "analyze"]


@dataclass(frozen=True)
class Analysis:
    """A data set with its leaderboard, its uncertainty, the findings and the JSON document."""

    dataset: Dataset
    leaderboard: pd.DataFrame
    findings: list[Finding]
    document: dict[str, Any]
    uncertainty: LeaderboardUncertainty

    def finding(self, finding_id: str) -> Finding:
        """The finding with id ``finding_id``.

        Raises
        ------
        KeyError
            For an unknown id, listing the valid ones.
        """
        for finding in self.findings:
            if finding.id == finding_id:
                return finding
        raise KeyError(f"no finding {finding_id!r}; the findings are "
                       f"{', '.join(f.id for f in self.findings)}")

    def __repr__(self) -> str:
        from .display import one_line_repr

        top = self.leaderboard["model"].iloc[0] if len(self.leaderboard) else None
        verdicts = ", ".join(f"{f.id}: {f.verdict}" for f in self.findings)
        return one_line_repr("Analysis", [("data", self.dataset.name),
                                          ("models", len(self.leaderboard)), ("top", top),
                                          ("verdicts", verdicts)])

    def _repr_html_(self) -> str:
        from .display import analysis_html

        return analysis_html(self.document)


def analyze(data: Dataset | str | Path | None = None, *, aggregate: str | None = None,
            pairs: str = "adjacent") -> Analysis:
    """Load (unless given a Dataset) and analyse a data folder; ``None`` is the bundled data.

    ``aggregate`` (``"mean"`` or ``"best"``) says how a cell's runs are combined; ``None``
    keeps a given Dataset's own protocol, and means ``"mean"`` when loading. ``pairs``
    (``"adjacent"`` or ``"all"``) says which pairs of models the leaderboard's uncertainty
    compares (:func:`.uncertainty.leaderboard_uncertainty`).

    Examples
    --------
    >>> result = analyze()
    >>> result.finding("test_pass_vs_score").verdict
    'contradicted'
    """
    # Checked here, before anything is read, the same way for a Dataset and for a folder.
    if aggregate is not None:
        require_choice("aggregate", aggregate, AGGREGATES)
    if isinstance(data, Dataset):
        dataset = data if aggregate is None else data.with_aggregate(aggregate)
    elif data is None or isinstance(data, str | os.PathLike):
        dataset = load_dataset(data, aggregate="mean" if aggregate is None else aggregate)
    else:
        raise ValueError(f"data must be a data folder (a path), a Dataset or None (the "
                         f"bundled data), not {type(data).__name__}")
    board = leaderboard(dataset)
    uncertainty = leaderboard_uncertainty(dataset, pairs=pairs, board=board)
    findings = all_findings(dataset)
    document = build_document(dataset, board, findings, uncertainty, caveats(dataset))
    return Analysis(dataset, board, findings, document, uncertainty)
