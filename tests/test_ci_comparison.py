"""CI's check that the committed findings.json is current tolerates last-bit differences of
floats (another machine's CPU) and nothing more."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("same_numbers", ROOT / ".ci" / "same_numbers.py")
assert _spec is not None and _spec.loader is not None
same_numbers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(same_numbers)


def _committed() -> Any:
    return json.loads((ROOT / "results" / "findings.json").read_text(encoding="utf-8"))


def _map_floats(value: Any, change) -> Any:
    if isinstance(value, float):
        return change(value)
    if isinstance(value, dict):
        return {k: _map_floats(v, change) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_floats(v, change) for v in value]
    return value


def _nudge(x: float, ulps: int = 3) -> float:
    for _ in range(ulps):
        x = math.nextafter(x, math.inf)
    return x


def _first_float_path(value: Any) -> list[Any]:
    if isinstance(value, float) and value != 0:
        return []
    items = value.items() if isinstance(value, dict) else (
        enumerate(value) if isinstance(value, list) else ())
    for key, item in items:
        try:
            return [key, *_first_float_path(item)]
        except LookupError:
            continue
    raise LookupError("no non-zero float")


def test_floats_a_few_ulps_apart_compare_equal() -> None:
    committed = _committed()
    shifted = _map_floats(committed, _nudge)
    assert shifted != committed  # the document has floats to shift
    assert same_numbers.differences(committed, shifted) == []


def test_one_float_changed_by_a_relative_1e4_is_reported() -> None:
    committed = _committed()
    changed = json.loads(json.dumps(committed))
    *parents, last = _first_float_path(changed)
    holder = changed
    for key in parents:
        holder = holder[key]
    holder[last] *= 1 + 1e-4
    found = same_numbers.differences(committed, changed)
    assert len(found) == 1 and found[0].startswith("$.")


@pytest.mark.parametrize(("expected", "actual"), [
    ({"a": "text"}, {"a": "texts"}),
    ({"a": 1, "b": 2}, {"b": 2, "a": 1}),
    ([1.0, 2.0], [1.0]),
    ({"a": None}, {"a": 0.0}),
    ({"a": True}, {"a": 1}),
])
def test_text_structure_and_types_must_match_exactly(expected: Any, actual: Any) -> None:
    assert same_numbers.differences(expected, actual) != []


def test_command_line_exit_status(tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text('{"r": 0.6267781687046698}')
    second.write_text('{"r": 0.6267781687046697}')
    assert same_numbers.main([str(first), str(second)]) == 0
    second.write_text('{"r": 0.6268}')
    assert same_numbers.main([str(first), str(second)]) == 1
