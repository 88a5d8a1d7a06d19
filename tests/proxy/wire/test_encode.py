"""Arrow -> DataRow text encoding: PostgreSQL's text output per type, framing, slicing, DuckDB batches.

Expected texts are written by hand from PostgreSQL's output functions (boolout, int8out, float8out with
extra_float_digits=1, numeric_out, date_out/timestamp_out with DateStyle ISO, interval_out with
IntervalStyle postgres, byteaout hex, uuid_out, array_out).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import struct
import uuid

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.wire.encode import (
    encode_batch_text,
    encode_rows_text,
    format_float4,
    format_float8,
    format_text,
    text_column,
)
from proxy.wire.messages import data_row
from proxy.wire.types import field_description, pg_type_for_arrow


def decode_data_rows(stream: bytes) -> list[list[str | None]]:
    """A tiny independent DataRow stream parser: every row's values as text (None for NULL)."""
    rows = []
    pos = 0
    while pos < len(stream):
        assert stream[pos : pos + 1] == b"D"
        (length,) = struct.unpack_from("!i", stream, pos + 1)
        end = pos + 1 + length
        (ncols,) = struct.unpack_from("!h", stream, pos + 5)
        p = pos + 7
        row: list[str | None] = []
        for _ in range(ncols):
            (n,) = struct.unpack_from("!i", stream, p)
            p += 4
            if n == -1:
                row.append(None)
            else:
                row.append(stream[p : p + n].decode("utf-8"))
                p += n
        assert p == end, "DataRow length does not match its contents"
        rows.append(row)
        pos = end
    return rows


def encode_column(arr: pa.Array, **kw) -> list[str | None]:
    batch = pa.RecordBatch.from_arrays([arr], names=["c"])
    rows = decode_data_rows(encode_batch_text(batch, **kw))
    assert all(len(r) == 1 for r in rows)
    return [r[0] for r in rows]


# --------------------------------------------------------------------------------------------------------
# One type at a time
# --------------------------------------------------------------------------------------------------------

D = decimal.Decimal

CASES = [
    pytest.param(pa.array([True, False, None]), ["t", "f", None], id="bool"),
    pytest.param(pa.array([0, -128, 127, None], pa.int8()), ["0", "-128", "127", None], id="int8"),
    pytest.param(pa.array([-32768, None], pa.int16()), ["-32768", None], id="int16"),
    pytest.param(pa.array([2147483647, None], pa.int32()), ["2147483647", None], id="int32"),
    pytest.param(
        pa.array([-9223372036854775808, 9223372036854775807, None], pa.int64()),
        ["-9223372036854775808", "9223372036854775807", None],
        id="int64",
    ),
    pytest.param(
        pa.array([18446744073709551615, 0, None], pa.uint64()),
        ["18446744073709551615", "0", None],
        id="uint64",
    ),
    pytest.param(
        pa.array(
            [
                0.1,
                1e20,
                1.2345678901234567e-07,
                100.0,
                -0.0,
                0.0,
                None,
                1.5,
                -2.5e-5,
                1e15,
                1e14,
                123456789012345.6,
                0.0001,
                123456789012345680.0,
                5e-324,
                1.7976931348623157e308,
                float("inf"),
                float("-inf"),
                float("nan"),
                12345678901.25,
                3e-10,
                1e100,
            ]
        ),
        [
            "0.1",
            "1e+20",
            "1.2345678901234566e-07",
            "100",
            "-0",
            "0",
            None,
            "1.5",
            "-2.5e-05",
            "1e+15",
            "100000000000000",
            "123456789012345.6",
            "0.0001",
            "1.2345678901234568e+17",
            "5e-324",
            "1.7976931348623157e+308",
            "Infinity",
            "-Infinity",
            "NaN",
            "12345678901.25",
            "3e-10",
            "1e+100",
        ],
        id="float8",
    ),
    pytest.param(
        pa.array(
            [
                0.1,
                1.5,
                100000.0,
                1000000.0,
                1234567.0,
                123456.7,
                1e-5,
                3.4028235e38,
                -0.0,
                None,
                float("nan"),
                1e10,
                0.0001,
            ],
            pa.float32(),
        ),
        [
            "0.1",
            "1.5",
            "100000",
            "1e+06",
            "1.234567e+06",
            "123456.7",
            "1e-05",
            "3.4028235e+38",
            "-0",
            None,
            "NaN",
            "1e+10",
            "0.0001",
        ],
        id="float4",
    ),
    pytest.param(pa.array([1.5, None], pa.float16()), ["1.5", None], id="float16"),
    pytest.param(
        pa.array([D("1.50"), D("-0.01"), D("0.00"), D("1234567890123456.78"), None], pa.decimal128(18, 2)),
        ["1.50", "-0.01", "0.00", "1234567890123456.78", None],
        id="decimal(18,2)",
    ),
    pytest.param(
        pa.array([D("0.0000000001"), D("-0.0000000123"), D("0E-10"), D("5.5"), None], pa.decimal128(38, 10)),
        ["0.0000000001", "-0.0000000123", "0.0000000000", "5.5000000000", None],
        id="decimal(38,10)",
    ),
    pytest.param(
        pa.array([D("123456789012345678901234567890"), None], pa.decimal128(38, 0)),
        ["123456789012345678901234567890", None],
        id="decimal(38,0)",
    ),
    pytest.param(pa.array([D("1.5")], pa.decimal256(40, 1)), ["1.5"], id="decimal256"),
    pytest.param(
        pa.array(["a", "", None, "é ü", "tab\there"]), ["a", "", None, "é ü", "tab\there"], id="text"
    ),
    pytest.param(pa.array(["x", None], pa.large_string()), ["x", None], id="large_string"),
    pytest.param(
        pa.array(["short", "a longer string view value", None], pa.string_view()),
        ["short", "a longer string view value", None],
        id="string_view",
    ),
    pytest.param(
        pa.array([b"\x0a\x1b", b"", None, b"\xff\x00"]), ["\\x0a1b", "\\x", None, "\\xff00"], id="bytea"
    ),
    pytest.param(pa.array([b"ab", None], pa.large_binary()), ["\\x6162", None], id="large_binary"),
    pytest.param(pa.array([b"abc", None], pa.binary(3)), ["\\x616263", None], id="fixed_size_binary(3)"),
    pytest.param(
        pa.array([dt.date(2020, 1, 2), None, dt.date(1, 1, 1), dt.date(9999, 12, 31)]),
        ["2020-01-02", None, "0001-01-01", "9999-12-31"],
        id="date",
    ),
    pytest.param(
        pa.array([-719163, -719162 - 367, 2**31 - 1, -(2**31 - 1), 2932897, -719162 - 366], pa.date32()),
        ["0001-12-31 BC", "0002-12-31 BC", "infinity", "-infinity", "10000-01-01", "0001-01-01 BC"],
        id="date-bc-infinity",
    ),
    pytest.param(pa.array([dt.date(2024, 2, 29), None], pa.date64()), ["2024-02-29", None], id="date64"),
    pytest.param(
        pa.array(
            [
                dt.time(3, 4, 5, 600),
                dt.time(0, 0),
                dt.time(23, 59, 59, 999999),
                dt.time(12, 0, 0, 500000),
                None,
            ]
        ),
        ["03:04:05.0006", "00:00:00", "23:59:59.999999", "12:00:00.5", None],
        id="time64[us]",
    ),
    pytest.param(pa.array([3723, None], pa.time32("s")), ["01:02:03", None], id="time32[s]"),
    pytest.param(pa.array([3723004, None], pa.time32("ms")), ["01:02:03.004", None], id="time32[ms]"),
    pytest.param(pa.array([3723000001001], pa.time64("ns")), ["01:02:03.000001"], id="time64[ns]"),
    pytest.param(
        pa.array(
            [
                dt.datetime(2020, 1, 2, 3, 4, 5, 600000),
                dt.datetime(2020, 1, 2, 3, 4, 5),
                None,
                dt.datetime(1969, 12, 31, 23, 59, 59, 999999),
                dt.datetime(1, 1, 1),
            ]
        ),
        [
            "2020-01-02 03:04:05.6",
            "2020-01-02 03:04:05",
            None,
            "1969-12-31 23:59:59.999999",
            "0001-01-01 00:00:00",
        ],
        id="timestamp[us]",
    ),
    pytest.param(
        pa.array([1577836800, None], pa.timestamp("s")), ["2020-01-01 00:00:00", None], id="timestamp[s]"
    ),
    pytest.param(
        pa.array([1577836800123], pa.timestamp("ms")), ["2020-01-01 00:00:00.123"], id="timestamp[ms]"
    ),
    pytest.param(
        pa.array([1577836800123456789], pa.timestamp("ns")),
        ["2020-01-01 00:00:00.123456"],
        id="timestamp[ns]",
    ),
    pytest.param(
        pa.array([2**63 - 1, -(2**63 - 1), -(2**63)], pa.timestamp("us")),
        ["infinity", "-infinity", "-infinity"],
        id="timestamp-infinity",
    ),
    pytest.param(
        pa.array([(-62135596800 - 86400) * 10**6], pa.timestamp("us")),
        ["0001-12-31 00:00:00 BC"],
        id="timestamp-bc",
    ),
    pytest.param(
        pa.array([dt.datetime(2020, 1, 2, 3, 4, 5, 600000), None], pa.timestamp("us", "UTC")),
        ["2020-01-02 03:04:05.6+00", None],
        id="timestamptz-utc",
    ),
    pytest.param(
        pa.array([dt.datetime(2020, 1, 2, 3, 4, 5)], pa.timestamp("us", "Asia/Kolkata")),
        ["2020-01-02 03:04:05+00"],  # shown in the session zone (UTC), not the column's zone
        id="timestamptz-column-zone-ignored",
    ),
    pytest.param(
        pa.array(
            [
                pa.MonthDayNano([14, 3, 14_706_500_000_000]),
                pa.MonthDayNano([0, 0, 0]),
                pa.MonthDayNano([0, -1, 0]),
                pa.MonthDayNano([0, 1, 0]),
                None,
                pa.MonthDayNano([-14, 3, -3_600_000_000_000]),
                pa.MonthDayNano([1, 0, 0]),
                pa.MonthDayNano([12, 0, 0]),
                pa.MonthDayNano([0, 0, 360_000_000_000_000]),
                pa.MonthDayNano([0, 0, -1_500_000]),
                pa.MonthDayNano([0, -1, 3_600_000_000_000]),
            ],
            pa.month_day_nano_interval(),
        ),
        [
            "1 year 2 mons 3 days 04:05:06.5",
            "00:00:00",
            "-1 days",
            "1 day",
            None,
            "-1 years -2 mons +3 days -01:00:00",
            "1 mon",
            "1 year",
            "100:00:00",
            "-00:00:00.0015",
            "-1 days +01:00:00",
        ],
        id="interval",
    ),
    pytest.param(
        pa.array([93_600_000_000, -1_000_000, 0, None], pa.duration("us")),
        ["1 day 02:00:00", "-00:00:01", "00:00:00", None],
        id="duration",
    ),
    pytest.param(
        pa.array([uuid.UUID("12345678-9abc-def0-1234-567812345678").bytes, None], pa.binary(16)),
        ["12345678-9abc-def0-1234-567812345678", None],
        id="uuid-fixed16",
    ),
    pytest.param(
        pa.ExtensionArray.from_storage(
            pa.uuid(),
            pa.array([uuid.UUID(int=0xA0EEBC999C0B4EF8BB6D6BB9BD380A11).bytes, None], pa.binary(16)),
        ),
        ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", None],
        id="uuid-extension",
    ),
    pytest.param(
        pa.array([[1, 2, None], [], None, [7]], pa.list_(pa.int64())),
        ["{1,2,NULL}", "{}", None, "{7}"],
        id="list<int64>",
    ),
    pytest.param(
        pa.array(
            [["a b", None, "", "null", "NULL", 'x"y', "p\\q", "ok", "{x}", "a,b"], None],
            pa.list_(pa.string()),
        ),
        ['{"a b",NULL,"","null","NULL","x\\"y","p\\\\q",ok,"{x}","a,b"}', None],
        id="list<text>-quoting",
    ),
    pytest.param(
        pa.array([[1.5, None, float("nan")]], pa.large_list(pa.float64())),
        ["{1.5,NULL,NaN}"],
        id="large_list",
    ),
    pytest.param(
        pa.array([None, [1, 2], [3, 4], None], pa.list_(pa.int32(), 2)),
        [None, "{1,2}", "{3,4}", None],
        id="fixed_size_list",
    ),
    pytest.param(
        pa.array([[5], None, [1, 2]], pa.list_view(pa.int64())), ["{5}", None, "{1,2}"], id="list_view"
    ),
    pytest.param(
        pa.array([[[1, 2], [3, 4]], None], pa.list_(pa.list_(pa.int64()))),
        ["{{1,2},{3,4}}", None],
        id="nested",
    ),
    pytest.param(
        pa.array([[dt.datetime(2020, 1, 1, 0, 0, 1)]], pa.list_(pa.timestamp("us"))),
        ['{"2020-01-01 00:00:01"}'],
        id="list<timestamp>",
    ),
    pytest.param(pa.array([[b"\x01"]], pa.list_(pa.binary())), ['{"\\\\x01"}'], id="list<bytea>"),
    pytest.param(pa.array([[True, None]], pa.list_(pa.bool_())), ["{t,NULL}"], id="list<bool>"),
    pytest.param(
        pa.array(
            [{"x": 1, "y": 'a"b'}, None, {"x": None, "y": None}],
            pa.struct([("x", pa.int32()), ("y", pa.string())]),
        ),
        ['{"x":1,"y":"a\\"b"}', None, '{"x":null,"y":null}'],
        id="struct-json",
    ),
    pytest.param(
        pa.array([[("a", 1), ("b", None)], None, []], pa.map_(pa.string(), pa.int32())),
        ['{"a":1,"b":null}', None, "{}"],
        id="map-json",
    ),
    pytest.param(
        pa.array(
            [{"t": dt.datetime(2020, 1, 1, 12), "f": 1.5, "d": D("1.10"), "b": True, "l": [1, 2]}],
            pa.struct(
                [
                    ("t", pa.timestamp("us")),
                    ("f", pa.float64()),
                    ("d", pa.decimal128(5, 2)),
                    ("b", pa.bool_()),
                    ("l", pa.list_(pa.int8())),
                ]
            ),
        ),
        ['{"t":"2020-01-01T12:00:00","f":1.5,"d":1.10,"b":true,"l":[1,2]}'],
        id="struct-nested-json",
    ),
    pytest.param(pa.nulls(3), [None, None, None], id="null"),
    pytest.param(
        pa.DictionaryArray.from_arrays(pa.array([0, 1, None, 0], pa.int8()), pa.array(["x", "y z"])),
        ["x", "y z", None, "x"],
        id="dictionary",
    ),
    pytest.param(
        pa.RunEndEncodedArray.from_arrays(pa.array([2, 3], pa.int32()), pa.array([1.5, None])),
        ["1.5", "1.5", None],
        id="run_end_encoded",
    ),
]


@pytest.mark.parametrize(("arr", "expected"), CASES)
def test_type_text(arr, expected):
    assert encode_column(arr) == expected
    assert text_column(arr).to_pylist() == expected


@pytest.mark.parametrize(("arr", "expected"), [c for c in CASES if len(c.values[1]) >= 2])
def test_type_text_sliced(arr, expected):
    assert encode_column(arr.slice(1)) == expected[1:]
    assert encode_column(arr.slice(0, len(arr) - 1)) == expected[:-1]


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("UTC", ["2020-07-01 12:00:00+00", "2020-01-01 12:00:00+00"]),
        ("Europe/Amsterdam", ["2020-07-01 14:00:00+02", "2020-01-01 13:00:00+01"]),
        ("Asia/Kolkata", ["2020-07-01 17:30:00+05:30", "2020-01-01 17:30:00+05:30"]),
        ("America/Los_Angeles", ["2020-07-01 05:00:00-07", "2020-01-01 04:00:00-08"]),
    ],
)
def test_timestamptz_in_session_zone(zone, expected):
    arr = pa.array([dt.datetime(2020, 7, 1, 12), dt.datetime(2020, 1, 1, 12)], pa.timestamp("us", "UTC"))
    assert encode_column(arr, timezone=zone) == expected


def test_timestamptz_local_mean_time_offset_has_seconds():
    # Before 1937 Amsterdam used +00:19:32; PostgreSQL prints seconds in the offset then.
    arr = pa.array([dt.datetime(1900, 1, 1)], pa.timestamp("us", "UTC"))
    assert encode_column(arr, timezone="Europe/Amsterdam") == ["1900-01-01 00:19:32+00:19:32"]


# --------------------------------------------------------------------------------------------------------
# Framing, batches and slicing
# --------------------------------------------------------------------------------------------------------


def test_encoding_matches_data_row_framing():
    batch = pa.RecordBatch.from_pydict({"a": [1, None], "b": ["x", "yz"]})
    expected = data_row([b"1", b"x"]) + data_row([None, b"yz"])
    assert encode_batch_text(batch) == expected


def test_returns_bytes():
    batch = pa.RecordBatch.from_pydict({"a": [1]})
    assert type(encode_batch_text(batch)) is bytes


def test_zero_rows():
    batch = pa.RecordBatch.from_pydict({"a": pa.array([], pa.int64()), "b": pa.array([], pa.string())})
    assert encode_batch_text(batch) == b""


def test_zero_columns():
    batch = pa.RecordBatch.from_pydict({"a": [1, 2, 3]}).select([])
    assert batch.num_rows == 3
    assert encode_batch_text(batch) == b"D\x00\x00\x00\x06\x00\x00" * 3


MULTI = pa.RecordBatch.from_pydict(
    {
        "id": pa.array([1, None, 3, 4, 5], pa.int64()),
        "amount": pa.array([1.5, 2.25, None, -0.0, 1e20]),
        "name": pa.array(["alice", "bob", "", None, "d é"]),
        "ts": pa.array(
            [
                dt.datetime(2020, 1, 1),
                None,
                dt.datetime(2020, 1, 1, 0, 0, 0, 5),
                dt.datetime(1999, 12, 31),
                None,
            ],
            pa.timestamp("us"),
        ),
        "ok": pa.array([True, False, None, True, False]),
        "price": pa.array([D("1.00"), D("2.50"), D("-3.75"), None, D("0.01")], pa.decimal128(18, 2)),
        "tags": pa.array([["a"], [], None, ["b", None], ["c d"]], pa.list_(pa.string())),
        "day": pa.array(
            [dt.date(2020, 2, 29), dt.date(2020, 3, 1), None, dt.date(2021, 1, 1), dt.date(1, 1, 1)]
        ),
        "blob": pa.array([b"\x00", None, b"", b"ab", b"\xff"]),
    }
)
MULTI_EXPECTED = [
    ["1", "1.5", "alice", "2020-01-01 00:00:00", "t", "1.00", "{a}", "2020-02-29", "\\x00"],
    [None, "2.25", "bob", None, "f", "2.50", "{}", "2020-03-01", None],
    ["3", None, "", "2020-01-01 00:00:00.000005", None, "-3.75", None, None, "\\x"],
    ["4", "-0", None, "1999-12-31 00:00:00", "t", None, "{b,NULL}", "2021-01-01", "\\x6162"],
    ["5", "1e+20", "d é", None, "f", "0.01", '{"c d"}', "0001-01-01", "\\xff"],
]


def test_round_trip_multi_column_with_nulls_everywhere():
    assert decode_data_rows(encode_batch_text(MULTI)) == MULTI_EXPECTED


def test_sliced_batch():
    assert decode_data_rows(encode_batch_text(MULTI.slice(1, 3))) == MULTI_EXPECTED[1:4]
    assert decode_data_rows(encode_batch_text(MULTI.slice(4))) == MULTI_EXPECTED[4:]
    assert encode_batch_text(MULTI.slice(5)) == b""


def test_table_with_several_chunks():
    table = pa.Table.from_batches([MULTI.slice(0, 2), MULTI.slice(2)])
    assert decode_data_rows(encode_batch_text(table)) == MULTI_EXPECTED


def test_chunked_string_view_and_large_string_columns():
    views = pa.chunked_array(
        [pa.array(["a", "bb"], pa.string_view()), pa.array([None, "ccc"], pa.string_view())]
    )
    large = pa.chunked_array(
        [pa.array(["x"], pa.large_string()), pa.array(["y", None, "z"], pa.large_string())]
    )
    table = pa.table({"v": views, "l": large})
    rows = decode_data_rows(encode_batch_text(table))
    assert rows == [["a", "x"], ["bb", "y"], [None, None], ["ccc", "z"]]
    assert text_column(views).to_pylist() == ["a", "bb", None, "ccc"]


def test_large_batch_matches_per_row_reference():
    n = 20_000
    batch = pa.RecordBatch.from_pydict(
        {
            "i": pa.array([i if i % 7 else None for i in range(n)], pa.int64()),
            "f": pa.array([i / 7 if i % 5 else None for i in range(n)]),
            "s": pa.array([f"v{i}" * (i % 4) if i % 11 else None for i in range(n)]),
        }
    )
    expected = b"".join(
        data_row([None if v is None else format_text(v).encode() for v in row])
        for row in zip(*(c.to_pylist() for c in batch.columns), strict=True)
    )
    assert encode_batch_text(batch) == expected


# --------------------------------------------------------------------------------------------------------
# DuckDB
# --------------------------------------------------------------------------------------------------------

DUCKDB_SQL = """
SELECT * FROM (VALUES
    (1::BIGINT, 1.5::DOUBLE, 'alice'::VARCHAR, TIMESTAMP '2024-03-01 12:34:56.789', DATE '2024-02-29',
     true, 1234.56::DECIMAL(18,2), INTERVAL '1 year 2 months 3 days 04:05:06.5',
     UUID '12345678-1234-5678-1234-567812345678', [1, 2, NULL]::BIGINT[], ['a b', NULL, 'c']::VARCHAR[],
     1::HUGEINT, TIMESTAMPTZ '2024-03-01 12:00:00+00', TIME '01:02:03', 0.1::FLOAT, 'ab'::BLOB,
     [[1, 2], [3]]::INTEGER[][], [DATE '2024-01-01']),
    (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL),
    (-2, 1e20, '', TIMESTAMP '1999-12-31 23:59:59', DATE '1970-01-01', false, -0.01, INTERVAL '-1 day',
     UUID 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', [], [], -170141183460469231731687303715884105727,
     TIMESTAMPTZ '1999-12-31 23:59:59.5+00', TIME '23:59:59.999999', 'NaN'::FLOAT, ''::BLOB, [], [])
) t(big, dbl, txt, ts, d, b, dec, iv, id, ints, strs, huge, tstz, tm, flt, blob, nested, dates)
"""

DUCKDB_EXPECTED = [
    [
        "1",
        "1.5",
        "alice",
        "2024-03-01 12:34:56.789",
        "2024-02-29",
        "t",
        "1234.56",
        "1 year 2 mons 3 days 04:05:06.5",
        "12345678-1234-5678-1234-567812345678",
        "{1,2,NULL}",
        '{"a b",NULL,c}',
        "1",
        "2024-03-01 12:00:00+00",
        "01:02:03",
        "0.1",
        "\\x6162",
        "{{1,2},{3}}",
        "{2024-01-01}",
    ],
    [None] * 18,
    [
        "-2",
        "1e+20",
        "",
        "1999-12-31 23:59:59",
        "1970-01-01",
        "f",
        "-0.01",
        "-1 days",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "{}",
        "{}",
        "-170141183460469231731687303715884105727",
        "1999-12-31 23:59:59.5+00",
        "23:59:59.999999",
        "NaN",
        "\\x",
        "{}",
        "{}",
    ],
]


def test_duckdb_batch():
    con = duckdb.connect()
    try:
        table = con.sql(DUCKDB_SQL).to_arrow_table()
    finally:
        con.close()
    batches = table.to_batches()
    rows = [r for b in batches for r in decode_data_rows(encode_batch_text(b))]
    assert rows == DUCKDB_EXPECTED
    oids = [field_description(f.name, f.type).type_oid for f in table.schema]
    # bigint float8 text timestamp date bool numeric interval (uuid arrives as text) _int8 _text numeric
    # timestamptz time float4 bytea _int4 _date
    assert oids == [
        20,
        701,
        25,
        1114,
        1082,
        16,
        1700,
        1186,
        25,
        1016,
        1009,
        1700,
        1184,
        1083,
        700,
        17,
        1007,
        1182,
    ]


def test_duckdb_record_batch_reader():
    con = duckdb.connect()
    try:
        reader = con.sql("SELECT i, i * 0.5 AS h, 'r' || i AS s FROM range(5000) t(i)").to_arrow_reader(1024)
        rows = [r for b in reader for r in decode_data_rows(encode_batch_text(b))]
    finally:
        con.close()
    assert len(rows) == 5000
    assert rows[3] == ["3", "1.5", "r3"]
    assert rows[4999] == ["4999", "2499.5", "r4999"]


# --------------------------------------------------------------------------------------------------------
# Floats against the per-value reference (Python's shortest repr, re-laid out like float8out)
# --------------------------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=50))
def test_float8_vectorised_matches_reference(values):
    got = text_column(pa.array(values, pa.float64())).to_pylist()
    assert got == [format_float8(v) for v in values]
    for v, s in zip(values, got, strict=True):
        if math.isfinite(v):
            assert float(s) == v


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(width=32, allow_nan=False), min_size=1, max_size=50))
def test_float4_vectorised_matches_reference(values):
    got = text_column(pa.array(values, pa.float32())).to_pylist()
    assert got == [format_float4(v) for v in values]


def test_float_reference_formats():
    assert format_float8(1e15) == "1e+15"
    assert format_float8(999999999999999.9) == "999999999999999.9"
    assert format_float8(1e-4) == "0.0001"
    assert format_float8(9.99e-5) == "9.99e-05"
    assert format_float8(2.5) == "2.5"
    assert format_float4(1e6) == "1e+06"
    assert format_float4(999999.0) == "999999"


# --------------------------------------------------------------------------------------------------------
# Python values
# --------------------------------------------------------------------------------------------------------


def test_encode_rows_text():
    rows = [
        ("PostgreSQL 16.0 (lens-proxy)", None, 42, True),
        ("", 1.5, D("1.10"), False),
    ]
    assert decode_data_rows(encode_rows_text(rows)) == [
        ["PostgreSQL 16.0 (lens-proxy)", None, "42", "t"],
        ["", "1.5", "1.10", "f"],
    ]
    assert encode_rows_text([]) == b""
    assert encode_rows_text([("on",)]) == data_row([b"on"])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("x", "x"),
        (True, "t"),
        (-5, "-5"),
        (0.1, "0.1"),
        (float("-inf"), "-Infinity"),
        (D("NaN"), "NaN"),
        (D("1E+3"), "1000"),
        (dt.date(2020, 1, 2), "2020-01-02"),
        (dt.time(1, 2, 3, 400000), "01:02:03.4"),
        (dt.datetime(2020, 1, 2, 3, 4, 5), "2020-01-02 03:04:05"),
        (dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc), "2020-01-02 03:04:05+00"),
        (
            dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "2020-01-02 01:04:05+00",
        ),
        (dt.timedelta(days=1, hours=2), "1 day 02:00:00"),
        (dt.timedelta(hours=-1), "-1 days +23:00:00"),
        (uuid.UUID("12345678-1234-5678-1234-567812345678"), "12345678-1234-5678-1234-567812345678"),
        (b"\x01\xab", "\\x01ab"),
        ([1, None, "a b"], '{1,NULL,"a b"}'),
        ([[1, 2], [3, 4]], "{{1,2},{3,4}}"),
        ({"a": [1, None], "b": "x"}, '{"a":[1,null],"b":"x"}'),
    ],
)
def test_format_text(value, expected):
    assert format_text(value) == expected


def test_format_text_aware_datetime_in_session_zone():
    v = dt.datetime(2020, 7, 1, 12, tzinfo=dt.timezone.utc)
    assert format_text(v, timezone="Asia/Kolkata") == "2020-07-01 17:30:00+05:30"


# --------------------------------------------------------------------------------------------------------
# Type mapping
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arrow_type", "oid", "typlen"),
    [
        (pa.bool_(), 16, 1),
        (pa.int8(), 21, 2),
        (pa.int16(), 21, 2),
        (pa.uint8(), 21, 2),
        (pa.int32(), 23, 4),
        (pa.uint16(), 23, 4),
        (pa.int64(), 20, 8),
        (pa.uint32(), 26, 4),  # Postgres oid: how the catalog types OIDs
        (pa.uint64(), 1700, -1),
        (pa.float16(), 700, 4),
        (pa.float32(), 700, 4),
        (pa.float64(), 701, 8),
        (pa.decimal128(18, 2), 1700, -1),
        (pa.string(), 25, -1),
        (pa.large_string(), 25, -1),
        (pa.string_view(), 25, -1),
        (pa.binary(), 17, -1),
        (pa.large_binary(), 17, -1),
        (pa.date32(), 1082, 4),
        (pa.date64(), 1082, 4),
        (pa.time32("s"), 1083, 8),
        (pa.time64("us"), 1083, 8),
        (pa.timestamp("us"), 1114, 8),
        (pa.timestamp("us", "UTC"), 1184, 8),
        (pa.duration("us"), 1186, 16),
        (pa.month_day_nano_interval(), 1186, 16),
        (pa.list_(pa.int32()), 1007, -1),
        (pa.list_(pa.string()), 1009, -1),
        (pa.large_list(pa.float64()), 1022, -1),
        (pa.list_(pa.int64()), 1016, -1),
        (pa.list_(pa.bool_()), 1000, -1),
        (pa.list_(pa.date32()), 1182, -1),
        (pa.list_(pa.timestamp("us")), 1115, -1),
        (pa.list_(pa.timestamp("us", "UTC")), 1185, -1),
        (pa.list_(pa.decimal128(10, 2)), 1231, -1),
        (pa.list_(pa.binary(16)), 2951, -1),
        (pa.list_(pa.null()), 1009, -1),
        (pa.list_(pa.list_(pa.int32())), 1007, -1),
        (pa.null(), 25, -1),
        (pa.dictionary(pa.int32(), pa.string()), 25, -1),
        (pa.uuid(), 2950, 16),
        (pa.binary(16), 2950, 16),
        (pa.binary(4), 17, -1),
        (pa.struct([("a", pa.int32())]), 114, -1),
        (pa.map_(pa.string(), pa.int32()), 114, -1),
    ],
)
def test_pg_type_for_arrow(arrow_type, oid, typlen):
    assert pg_type_for_arrow(arrow_type).oid == oid
    fd = field_description("c", arrow_type)
    assert (fd.name, fd.type_oid, fd.type_size, fd.format) == ("c", oid, typlen, 0)


def test_field_description_numeric_typmod_and_format():
    fd = field_description("price", pa.decimal128(18, 2), format=1)
    assert fd.type_modifier == (18 << 16 | 2) + 4
    assert fd.format == 1
    assert field_description("x", pa.int64()).type_modifier == -1


def test_duckdb_lossless_conversion_types():
    con = duckdb.connect()
    try:
        con.sql("SET arrow_lossless_conversion = true")
        table = con.sql(
            "SELECT UUID '12345678-1234-5678-1234-567812345678' AS u, -5::HUGEINT AS h,"
            " 340282366920938463463374607431768211455::UHUGEINT AS uh"
        ).to_arrow_table()
    finally:
        con.close()
    rows = [r for b in table.to_batches() for r in decode_data_rows(encode_batch_text(b))]
    assert rows == [["12345678-1234-5678-1234-567812345678", "-5", "340282366920938463463374607431768211455"]]
    assert [field_description(f.name, f.type).type_oid for f in table.schema] == [2950, 1700, 1700]


def test_timezone_positional_argument():
    batch = pa.RecordBatch.from_pydict(
        {"t": pa.array([dt.datetime(2020, 7, 1, 12)], pa.timestamp("us", "UTC"))}
    )
    assert decode_data_rows(encode_batch_text(batch, "Asia/Kolkata")) == [["2020-07-01 17:30:00+05:30"]]


def test_rows_split_into_chunks(monkeypatch):
    import proxy.wire.encode as enc

    monkeypatch.setattr(enc, "_MAX_CHUNK_BYTES", 64)
    assert decode_data_rows(encode_batch_text(MULTI)) == MULTI_EXPECTED
    n = 1000
    big = pa.RecordBatch.from_pydict({"s": [f"value-{i}" for i in range(n)], "i": list(range(n))})
    assert decode_data_rows(encode_batch_text(big)) == [[f"value-{i}", str(i)] for i in range(n)]
