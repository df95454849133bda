"""Checks of the options of public functions: a wrong value raises ValueError naming the valid
ones, before any work, whatever the type of the value (never a KeyError or AttributeError from
deep inside)."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

__all__ = ["require_choice", "require_count", "require_dataset"]


def require_dataset(value: Any, argument: str = "dataset") -> None:
    from .dataset import Dataset

    if not isinstance(value, Dataset):
        raise ValueError(f"{argument} must be a Dataset (from load_dataset or "
                         f"Dataset.from_frames), not {type(value).__name__}")


def require_choice(argument: str, value: Any, choices: Sequence[str]) -> None:
    # isinstance first: `in` would compare an array or pd.NA elementwise, or raise.
    if not (isinstance(value, str) and value in choices):
        raise ValueError(f"{argument} must be one of {', '.join(choices)}, not {value!r}")


def require_count(argument: str, value: Any, minimum: int = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{argument} must be an integer of at least {minimum}, not {value!r}")
