"""Compare two JSON documents: text and structure exactly, numbers within a tolerance.

Different CPUs take different BLAS and SIMD code paths, so unrounded floats agree only to the
last bits across machines even with pinned versions. CI uses this to check that the committed
results/findings.json is current; every other output shows rounded numbers and is compared as
bytes.

Usage: python .ci/same_numbers.py COMMITTED.json PRODUCED.json   (exit 1 and one line per
difference when they differ)
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

RELATIVE = 1e-9
ABSOLUTE = 1e-12


def differences(expected: Any, actual: Any, where: str = "$") -> list[str]:
    """Every place where ``actual`` differs from ``expected``, as ``path: expected != actual``.

    Numbers (ints and floats, never booleans) match when ``math.isclose`` with the module's
    tolerances says so; everything else must be equal, including the keys' order.
    """
    if _is_number(expected) and _is_number(actual):
        if math.isclose(expected, actual, rel_tol=RELATIVE, abs_tol=ABSOLUTE):
            return []
        return [f"{where}: {expected!r} != {actual!r}"]
    if type(expected) is not type(actual):
        return [f"{where}: {expected!r} != {actual!r}"]
    if isinstance(expected, dict):
        if list(expected) != list(actual):
            return [f"{where}: keys {list(expected)} != {list(actual)}"]
        return [d for key in expected
                for d in differences(expected[key], actual[key], f"{where}.{key}")]
    if isinstance(expected, list):
        if len(expected) != len(actual):
            return [f"{where}: {len(expected)} items != {len(actual)} items"]
        return [d for i, (e, a) in enumerate(zip(expected, actual, strict=True))
                for d in differences(e, a, f"{where}[{i}]")]
    return [] if expected == actual else [f"{where}: {expected!r} != {actual!r}"]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def main(argv: list[str]) -> int:
    committed, produced = (json.loads(Path(p).read_text(encoding="utf-8")) for p in argv)
    found = differences(committed, produced)
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
