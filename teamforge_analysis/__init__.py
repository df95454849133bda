"""teamforge_analysis: statistically honest analysis of TeamForge benchmark results.

Data flows one way: files (:mod:`.io`) -> validated frames (:mod:`.validate`,
:mod:`.dataset`) -> statistics (:mod:`.stats`,
:mod:`.scoring`) -> findings (:mod:`.findings`) -> renderers (:mod:`.report`, :mod:`.plots`).
"""

from __future__ import annotations

from .analysis import Analysis, analyze
from .dataset import Dataset, bundled_data_dir, load_dataset
from .findings import Finding, all_findings
from .scoring import leaderboard
from .validate import DataValidationError

__all__ = [
    "Analysis",
    "DataValidationError",
    "Dataset",
    "Finding",
    "all_findings",
    "analyze",
    "bundled_data_dir",
    "leaderboard",
    "load_dataset",
]
__version__ = "0.1.0"
