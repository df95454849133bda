"""Caveats computed from the data: what every reader of the findings should know about how the
scores were produced and what the design can tell apart. Each sentence is printed only when it
is true of the data set it is printed for.
"""

from __future__ import annotations

from . import _fmt as fmt
from .dataset import Dataset
from .scoring import level_task_weights

__all__ = ["caveats"]


def caveats(dataset: Dataset) -> list[str]:
    """Sentences about the data's protocol, design and ranking, in reading order.

    Examples
    --------
    >>> from teamforge_analysis import load_dataset
    >>> for sentence in caveats(load_dataset()):
    ...     print(sentence[:60])
    Every score is the best of 3 runs (the protocol in benchmark
    Each level has a single task, so a level and its task cannot
    llama3-70b-8192 and llama3-8b-8192 share a family (Llama 3):
    Every task ranks the models in the same order, so any non-ne
    """
    return [sentence for sentence in (
        _protocol(dataset), _tasks_per_level(dataset), *_families(dataset),
        _rankings_agree(dataset), _weights(dataset), _zero_weight_levels(dataset)) if sentence]


def _protocol(dataset: Dataset) -> str | None:
    protocol = getattr(dataset.profile, "protocol", None)
    if dataset.has_runs:
        return (f"Each cell combines its runs by their {dataset.aggregate}; the leaderboard's "
                "run-noise intervals come from the spread of the runs.")
    if protocol is None or protocol.aggregate is None:
        return ("Each model has one value per task: no run-to-run uncertainty can be "
                "estimated, so differences smaller than that unknown spread may not be real.")
    runs = protocol.runs_per_cell
    of = f" of {runs} runs" if runs else " of several runs"
    if protocol.aggregate == "best":
        return (f"Every score is the best{of} (the protocol in benchmark.json): best-of-N "
                "scores are optimistic, and the run-to-run spread is unknown, so no run-to-run "
                "uncertainty can be estimated.")
    return (f"Every score is the mean{of} (the protocol in benchmark.json); the runs "
            "themselves are not in the data, so their spread is unknown.")


def _tasks_per_level(dataset: Dataset) -> str:
    counts = dataset.tasks.groupby("difficulty")["task"].size()
    if (counts == 1).all():
        return ("Each level has a single task, so a level and its task cannot be told apart: "
                "what the findings say of a level may be true only of that task.")
    return "Tasks per level: " + ", ".join(
        f"{level} {int(counts[level])}" for level in dataset.levels) + "."


def _families(dataset: Dataset) -> list[str]:
    models = dataset.models.dropna(subset=["family"])
    out = []
    for family, members in models.groupby("family", sort=True)["model"]:
        if len(members) > 1:
            out.append(f"{fmt.names(sorted(members))} share a family ({family}): they are not "
                       "independent samples of models.")
    return out


def _rankings_agree(dataset: Dataset) -> str | None:
    """When every task orders the models identically (no ties, every model on every task),
    no choice of non-negative weights can change the leaderboard's order."""
    wide = dataset.results.pivot(index="model", columns="task", values="score")
    if wide.shape[0] < 2 or wide.shape[1] < 2 or wide.isna().to_numpy().any():
        return None
    orders = {tuple(column.sort_values(kind="stable").index)
              for _, column in wide.items() if column.is_unique}
    if len(orders) != 1 or not all(wide[c].is_unique for c in wide):
        return None
    return ("Every task ranks the models in the same order, so any non-negative task weights "
            "give the same leaderboard order: the weights change the scores, not the ranking.")


def _weights(dataset: Dataset) -> str | None:
    if dataset.equal_weights:
        return (f"The data declare no task weights: each of the {len(dataset.tasks)} tasks "
                "weighs the same.")
    return None


def _zero_weight_levels(dataset: Dataset) -> str | None:
    """A level whose task weights are all zero has no weighted mean: its level score weighs
    its tasks equally instead (:func:`.scoring.level_task_weights`), which the reader must
    know, since the weighted score over all tasks gives those tasks no weight at all."""
    within = level_task_weights(dataset)
    fallback = within[within["equal_fallback"]]
    levels = [lvl for lvl in dataset.levels if lvl in set(fallback["level"])]
    if not levels:
        return None
    if len(levels) > 1:
        how = (f"every task of the {fmt.names(levels)} levels has weight 0, so each of these "
               "levels' scores weighs its tasks equally")
    else:
        n = int((fallback["level"] == levels[0]).sum())
        how = (f"every task of the {levels[0]} level has weight 0, so its level score "
               + (f"weighs its {n} tasks equally" if n > 1 else "is its one task's score"))
    return f"Warning: {how} (the weighted score over all tasks gives them no weight)."
