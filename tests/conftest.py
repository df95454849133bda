"""Shared fixtures: the bundled data, a second (invented) data set, and tiny data folders."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import settings

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent

try:  # the package is used from the source tree when it is not installed
    import teamforge_analysis  # noqa: F401
except ImportError:  # pragma: no cover - depends on how the tests are run
    sys.path.insert(0, str(REPO_ROOT))

from teamforge_analysis import Dataset, bundled_data_dir, load_dataset  # noqa: E402

OTHER_DATA_DIR = TESTS_DIR / "data" / "other_benchmark"
CSV_FILES = ("results.csv", "models.csv", "tasks.csv")

#: One seed for every random generator in the suite.
SEED = 20240611

MakeData = Callable[..., Path]

# Property tests draw the same examples on every run and keep no example database on disk.
settings.register_profile("teamforge", derandomize=True, database=None, deadline=None)
settings.load_profile("teamforge")


@pytest.fixture(scope="session")
def bundled() -> Dataset:
    """The bundled TeamForge data (4 models x 3 tasks)."""
    return load_dataset()


@pytest.fixture(scope="session")
def bundled_dir() -> Path:
    return bundled_data_dir()


@pytest.fixture(scope="session")
def other_data_dir() -> Path:
    """Folder of the invented second data set (see its README.md)."""
    return OTHER_DATA_DIR


@pytest.fixture(scope="session")
def other(other_data_dir: Path) -> Dataset:
    return load_dataset(other_data_dir)


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded random generator (fresh per test, so tests do not depend on their order)."""
    return np.random.default_rng(SEED)


def _write(target: Path, content: str | pd.DataFrame | None, default: Path) -> None:
    if content is None:
        target.write_bytes(default.read_bytes())
    elif isinstance(content, pd.DataFrame):
        content.to_csv(target, index=False, lineterminator="\n")
    else:
        target.write_text(content, encoding="utf-8", newline="")


@pytest.fixture
def make_data(tmp_path: Path) -> MakeData:
    """``make_data(results=..., models=..., tasks=..., name="data")`` writes a data folder.

    Each of ``results``, ``models`` and ``tasks`` is CSV text, a DataFrame, or ``None`` for a
    copy of the bundled file. Returns the folder's path.
    """
    counter = iter(range(1_000_000))

    def make(
        results: str | pd.DataFrame | None = None,
        models: str | pd.DataFrame | None = None,
        tasks: str | pd.DataFrame | None = None,
        *,
        name: str | None = None,
    ) -> Path:
        folder = tmp_path / (name or f"data{next(counter)}")
        folder.mkdir()
        source = bundled_data_dir()
        for file, content in zip(CSV_FILES, (results, models, tasks), strict=True):
            _write(folder / file, content, source / file)
        return folder

    return make
