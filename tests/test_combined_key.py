"""The loader's combined key (io._CombinedKey): key columns as non-negative codes in sorted
order, combined into one integer per row (int32, int64, or kept apart when even int64 would
overflow). Its repeats and its order are compared with pandas' duplicated and numpy's
stable lexsort on random codes (invented values)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from teamforge_analysis.io import _CombinedKey


@st.composite
def key_codes(draw) -> list[np.ndarray]:
    n_rows = draw(st.integers(1, 40))
    n_keys = draw(st.integers(1, 3))
    # Widths up to 2**40: products below 2**31 (int32), up to 2**63 (int64) and beyond.
    widths = draw(st.lists(st.sampled_from([1, 2, 3, 7, 2**16, 2**20, 2**40]),
                           min_size=n_keys, max_size=n_keys))
    columns = []
    for width in widths:
        # The smallest and largest codes and a few in between, so that combined values
        # reach the top of the key space.
        values = draw(st.lists(st.sampled_from(sorted({0, width // 3, width - 2, width - 1}
                                                      - {-1})),
                               min_size=n_rows, max_size=n_rows))
        dtype = np.int32 if width <= 2**31 else np.int64
        columns.append(np.array(values, dtype=dtype))
    return columns


@settings(max_examples=300, deadline=None)
@given(codes=key_codes())
def test_combined_key_repeats_and_order_are_pandas_and_lexsort(codes: list[np.ndarray]) -> None:
    key = _CombinedKey.of([c.copy() for c in codes])
    expected_repeats = pd.DataFrame(dict(enumerate(codes))).duplicated(keep="first")
    np.testing.assert_array_equal(key.duplicated(), expected_repeats.to_numpy())
    if expected_repeats.any():
        return  # (order is only asked for distinct keys)
    expected_order = np.lexsort(codes[::-1])
    order = key.order()
    if order is None:
        np.testing.assert_array_equal(expected_order, np.arange(len(expected_order)))
    else:
        np.testing.assert_array_equal(order, expected_order)


def test_a_key_space_just_above_int32_uses_int64() -> None:
    """2**16 x 2**16 keys: the largest combined value, 2**32 - 1, does not fit int32."""
    top = 2**16 - 1
    codes = [np.array([top, 0, top], dtype=np.int32), np.array([top, 0, 0], dtype=np.int32)]
    key = _CombinedKey.of(codes)
    assert not key.duplicated().any()
    np.testing.assert_array_equal(key.order(), [1, 2, 0])
