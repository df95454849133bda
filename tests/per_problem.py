"""INVENTED test data shaped like a per-problem code benchmark (not real results).

Many models, hundreds of problems (one task each) labelled by difficulty with unequal counts,
and results.csv holding only ``model, task, score``: no step counts, no test pass rate, no
pass flag, no weights. Some models have no known size. Scores come from a seeded generator in
which larger models do better, more so on harder problems, so that some but not all models
pass the hardest level.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20261201

#: Problems per level, easiest first (unequal on purpose).
THREE_LEVELS: dict[str, int] = {"easy": 140, "medium": 110, "hard": 60}
#: A four-level variant whose levels are declared by difficulty_rank; "expert" is the hardest.
FOUR_LEVELS: dict[str, int] = {"warmup": 40, "core": 150, "stretch": 90, "expert": 30}


def write_per_problem(folder: Path, *, levels: dict[str, int] | None = None,
                      n_models: int = 32, n_unknown_size: int = 5,
                      declare_ranks: bool = False) -> Path:
    """Write an invented per-problem data folder and return it.

    ``declare_ranks`` adds tasks.csv's ``difficulty_rank`` (required for level names other
    than easy/medium/hard). Every problem has pass_threshold 0.5, and no weight column.
    """
    levels = THREE_LEVELS if levels is None else levels
    rng = np.random.default_rng(SEED)
    folder.mkdir(parents=True)
    rows = []
    number = 0
    for rank, (level, count) in enumerate(levels.items(), start=1):
        for _ in range(count):
            rows.append({"task": f"p{number:04d}", "difficulty": level, "difficulty_rank": rank,
                         "pass_threshold": 0.5})
            number += 1
    tasks = pd.DataFrame(rows)
    if not declare_ranks:
        tasks = tasks.drop(columns="difficulty_rank")
    tasks.to_csv(folder / "tasks.csv", index=False, lineterminator="\n")

    sizes = np.round(np.exp(rng.uniform(np.log(1), np.log(400), n_models)), 1)
    names = [f"model-{i:02d}" for i in range(n_models)]
    models = pd.DataFrame({"model": names, "params_b": sizes})
    models.loc[models.index[-n_unknown_size:], "params_b"] = None  # closed models
    models.to_csv(folder / "models.csv", index=False, lineterminator="\n")

    ability = (np.log(sizes) - np.log(sizes).mean()) / np.log(sizes).std()
    n_levels = len(levels)
    rank_of = dict(zip(tasks["task"], pd.factorize(tasks["difficulty"])[0], strict=True))
    results = []
    for model, skill in zip(names, ability, strict=True):
        for task in tasks["task"]:
            hardness = rank_of[task] / max(n_levels - 1, 1)  # 0 easiest .. 1 hardest
            logit = 1.5 - 3.0 * hardness + (0.5 + 1.5 * hardness) * skill
            solved = rng.random() < 1 / (1 + np.exp(-logit))
            results.append((model, task, 1.0 if solved else 0.0))
    frame = pd.DataFrame(results, columns=["model", "task", "score"])
    frame.sample(frac=1, random_state=SEED).to_csv(folder / "results.csv", index=False,
                                                   lineterminator="\n")
    return folder


def remove_results(folder: Path, cells: list[tuple[str, str]]) -> Path:
    """Delete the rows of these (model, task) cells from the folder's results.csv (a model
    then lacks a task of a level); returns the folder."""
    results = pd.read_csv(folder / "results.csv")
    keys = pd.MultiIndex.from_frame(results[["model", "task"]])
    results[~keys.isin(cells)].to_csv(folder / "results.csv", index=False, lineterminator="\n")
    return folder
