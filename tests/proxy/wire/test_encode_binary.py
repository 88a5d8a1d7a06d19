"""Binary send/recv formats: golden bytes for each type, and encode -> decode round trips."""

from __future__ import annotations

import datetime as dt
import struct
import uuid
from decimal import Decimal

import pyarrow as pa
import pytest

from proxy.wire.encode_binary import binary_column, encode_batch, numeric_send
from proxy.wire.params import decode_param, numeric_recv, parse_text_array


@pytest.mark.parametrize("value", ["0", "1.25", "-1.25", "12345678.000100", "0.0001", "1e20", "-0.5", "NaN", "10000"])
def test_numeric_round_trip(value):
    d = Decimal(value)
    back = numeric_recv(numeric_send(d))
    assert (back.is_nan() and d.is_nan()) or back == d


def test_numeric_golden():
    # PostgreSQL: SELECT numeric_send(1.25) = \x0002 0000 0000 0002 0001 09c4
    assert numeric_send(Decimal("1.25")) == bytes.fromhex("0002000000000002000109c4")


@pytest.mark.parametrize(("arr", "expected"), [
    (pa.array([True, None], pa.bool_()), [b"\x01", None]),
    (pa.array([1, -2], pa.int16()), [b"\x00\x01", b"\xff\xfe"]),
    (pa.array([7], pa.int32()), [struct.pack("!i", 7)]),
    (pa.array([2**40], pa.int64()), [struct.pack("!q", 2**40)]),
    (pa.array([1.5], pa.float32()), [struct.pack("!f", 1.5)]),
    (pa.array([2.5], pa.float64()), [struct.pack("!d", 2.5)]),
    (pa.array(["é"], pa.string()), ["é".encode()]),
    (pa.array([dt.date(2000, 1, 2)], pa.date32()), [struct.pack("!i", 1)]),
    (pa.array([dt.time(0, 0, 1)], pa.time64("us")), [struct.pack("!q", 1_000_000)]),
    (pa.array([dt.datetime(2000, 1, 1, 0, 0, 2)], pa.timestamp("us")), [struct.pack("!q", 2_000_000)]),
    (pa.array([dt.datetime(2000, 1, 1, 0, 0, 2)], pa.timestamp("ns", tz="UTC")), [struct.pack("!q", 2_000_000)]),
    (pa.array([pa.MonthDayNano([1, 2, 3000])], pa.month_day_nano_interval()), [struct.pack("!qii", 3, 2, 1)]),
    (pa.array([b"\x01\x02"], pa.binary()), [b"\x01\x02"]),
    (pa.array([uuid.UUID(int=5).bytes], pa.binary(16)), [uuid.UUID(int=5).bytes]),
    (pa.array([[1, None]], pa.list_(pa.int32())),
     [struct.pack("!iiiii", 1, 1, 23, 2, 1) + struct.pack("!ii", 4, 1) + struct.pack("!i", -1)]),
])
def test_binary_column_golden(arr, expected):
    assert binary_column(arr).to_pylist() == expected


def test_mixed_formats_in_one_row():
    batch = pa.record_batch([pa.array([1], pa.int32()), pa.array(["a"])], names=["n", "s"])
    row = encode_batch(batch, (1, 0))
    assert row == b"D" + struct.pack("!ih", 4 + 2 + 8 + 5, 2) + struct.pack("!ii", 4, 1) + struct.pack("!i", 1) + b"a"


@pytest.mark.parametrize(("raw", "oid", "value"), [
    (struct.pack("!q", 5), 20, 5),
    (struct.pack("!i", 1), 1082, dt.date(2000, 1, 2)),
    (struct.pack("!q", 2_000_000), 1114, dt.datetime(2000, 1, 1, 0, 0, 2)),
    (uuid.UUID(int=9).bytes, 2950, uuid.UUID(int=9)),
    (b"\x01{}", 3802, "{}"),
    (struct.pack("!iiiii", 1, 0, 23, 2, 1) + struct.pack("!ii", 4, 1) + struct.pack("!ii", 4, 2), 1007, [1, 2]),
])
def test_binary_params(raw, oid, value):
    assert decode_param(raw, oid, 1) == value


def test_text_params():
    assert decode_param(b"{1,NULL,3}", 1007, 0) == [1, None, 3]
    assert parse_text_array('{"a b",NULL,"c\\"d"}') == ["a b", None, 'c"d']
    with pytest.raises(Exception) as e:
        decode_param(b"x", 23, 0)
    assert getattr(e.value, "sqlstate", None) == "22P02"
