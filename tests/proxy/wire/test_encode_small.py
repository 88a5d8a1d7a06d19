"""The small-result path (``proxy.wire.encode_small``) sends exactly the bytes of the vectorised encoders,
for every type it takes, in text and in binary, nulls and edge values included."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.wire.encode import encode_batch_text
from proxy.wire.encode_binary import encode_batch
from proxy.wire.encode_small import encode_small, formatters
from proxy.wire.types import DECLARED_TYPE

COLUMNS = {
    pa.bool_(): st.booleans(),
    pa.int8(): st.integers(-128, 127),
    pa.int16(): st.integers(-(2**15), 2**15 - 1),
    pa.int32(): st.integers(-(2**31), 2**31 - 1),
    pa.int64(): st.integers(-(2**63), 2**63 - 1),
    pa.uint8(): st.integers(0, 255),
    pa.uint16(): st.integers(0, 2**16 - 1),
    pa.uint32(): st.integers(0, 2**32 - 1),
    pa.float64(): st.floats(allow_nan=True, allow_infinity=True),
    pa.float32(): st.floats(width=32, allow_nan=True, allow_infinity=True),
    pa.string(): st.text(),
    pa.large_string(): st.text(),
    pa.date32(): st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
}


def _batch(draw_columns: list[tuple[pa.DataType, list]]) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array(values, t) for t, values in draw_columns],
                                      names=[f"c{i}" for i in range(len(draw_columns))])


@st.composite
def batches(draw: st.DrawFn) -> pa.RecordBatch:
    rows = draw(st.integers(0, 5))
    types = draw(st.lists(st.sampled_from(list(COLUMNS)), min_size=1, max_size=4))
    return _batch([(t, draw(st.lists(st.none() | COLUMNS[t], min_size=rows, max_size=rows))) for t in types])


@settings(max_examples=300, deadline=None)
@given(batches(), st.sampled_from([0, 1]))
def test_same_bytes_as_the_vectorised_encoders(batch: pa.RecordBatch, fmt: int) -> None:
    codes = (fmt,) * batch.num_columns
    fmts = formatters(batch.schema, codes)
    assert fmts is not None
    expected = encode_batch(batch, codes) if fmt else encode_batch_text(batch)
    assert encode_small(batch, fmts) == expected


def test_each_column_its_own_format() -> None:
    batch = _batch([(pa.int32(), [1, None]), (pa.string(), ["a", "b"]), (pa.float64(), [0.1, -0.0])])
    codes = (1, 0, 1)
    assert encode_small(batch, formatters(batch.schema, codes)) == encode_batch(batch, codes)


@pytest.mark.parametrize("field", [
    pa.field("t", pa.timestamp("us")),
    pa.field("d", pa.decimal128(10, 2)),
    pa.field("l", pa.list_(pa.int32())),
    pa.field("j", pa.string(), metadata={DECLARED_TYPE: b"json"}),
])
def test_other_types_take_the_vectorised_path(field: pa.Field) -> None:
    assert formatters(pa.schema([field]), (1,)) is None or field.type == pa.string()
    if not pa.types.is_string(field.type):
        assert formatters(pa.schema([field]), (0,)) is None
