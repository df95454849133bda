"""report.to_json: the document as indented JSON, key order kept, undefined values null and
NaN never written (the document is cleaned first; json.dumps' allow_nan=False guards)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from teamforge_analysis.analysis import analyze
from teamforge_analysis.report import to_json

HERE = Path(__file__).parent


def test_text_keeps_key_order_and_ends_with_a_newline() -> None:
    text = to_json({"b": 1, "a": [True, None, 0.5], "é": {}})
    assert text == '{\n  "b": 1,\n  "a": [\n    true,\n    null,\n    0.5\n  ],\n  "é": {}\n}\n'


@pytest.mark.parametrize("bad", [math.nan, math.inf, {"a": [1.0, -math.inf]}])
def test_nan_is_refused_not_written(bad: object) -> None:
    with pytest.raises(ValueError, match="JSON compliant"):
        to_json(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("folder", [None, HERE / "data" / "runs_benchmark",
                                    HERE / "data" / "other_benchmark"],
                         ids=["bundled", "runs_benchmark", "other_benchmark"])
def test_documents_round_trip(folder: Path | None) -> None:
    document = analyze(folder).document
    text = to_json(document)
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == document
    assert "null" in text  # (undefined statistics, e.g. an SE without repeated runs)
