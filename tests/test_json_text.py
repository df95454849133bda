"""report.to_json writes exactly what json.dumps(indent=2, allow_nan=False,
ensure_ascii=False) writes (plus a newline), with its own faster encoder: checked here against
json.dumps on hypothesis-made values and on the documents of three data sets."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from teamforge_analysis.analysis import analyze
from teamforge_analysis.report import to_json

HERE = Path(__file__).parent

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.text(), st.sampled_from(["é", "\u2028", "\x00", '"', "\\", "ü\n\t", "𝄞"]),
)
KEYS = st.one_of(st.text(max_size=8), st.integers(), st.booleans(), st.none(),
                 st.floats(allow_nan=False, allow_infinity=False))
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.tuples(children, children),
                               st.dictionaries(KEYS, children, max_size=4)),
    max_leaves=30,
)


def reference(value: object) -> str:
    return json.dumps(value, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


@settings(max_examples=500, deadline=None)
@given(value=VALUES)
def test_same_text_as_json_dumps(value: object) -> None:
    assert to_json(value) == reference(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, {math.nan: 1}, {"a": {1, 2}},
                                 [object()], {(1, 2): 3}])
def test_refuses_what_json_dumps_refuses(bad: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        reference(bad)
    with pytest.raises((ValueError, TypeError)):
        to_json(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("folder", [None, HERE / "data" / "runs_benchmark",
                                    HERE / "data" / "other_benchmark"],
                         ids=["bundled", "runs_benchmark", "other_benchmark"])
def test_documents(folder: Path | None) -> None:
    document = analyze(folder).document
    assert to_json(document) == reference(document)
