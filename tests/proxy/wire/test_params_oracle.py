"""Bound parameters as PostgreSQL receives them: the same Bind bytes sent to lens-proxy and to the real
PostgreSQL of the test session give the same outcome (the value, or the same SQLSTATE).

Binary values at and past the edges of each type (±infinity, the last valid day, 24:00, a numeric digit of
10000, a bad sign or scale, arrays with too many dimensions or the wrong element type, short and long
values), text that is not UTF-8 or holds a NUL, a bad format code, ``$0``. Each case is one entry.
"""

from __future__ import annotations

import struct

import pytest

from tests.proxy import rawwire as w


def _bind(sql: str, oids: list[int], values: list[bytes | None], formats: list[int], result_formats=()) -> bytes:
    return w.parse(sql, oids=oids) + w.bind(values, formats, result_formats) + w.execute() + w.sync()


def _int4_array(ndim: int, element: int, dims: list[tuple[int, int]], items: list[bytes]) -> bytes:
    head = struct.pack("!iiI", ndim, 0, element) + b"".join(struct.pack("!ii", n, lb) for n, lb in dims)
    return head + b"".join(struct.pack("!i", len(i)) + i for i in items)


def _numeric(ndigits: int, weight: int, sign: int, dscale: int, digits: list[int]) -> bytes:
    return struct.pack("!hhHH", ndigits, weight, sign, dscale) + b"".join(struct.pack("!h", d) for d in digits)


CASES = {
    # name: bytes after startup
    "$0 in Parse": w.parse("SELECT $0") + w.sync(),
    "$0 in a simple query": w.query("SELECT $0"),
    "date +infinity": _bind("SELECT $1::date", [1082], [struct.pack("!i", 2**31 - 1)], [1]),
    "date -infinity": _bind("SELECT $1::date", [1082], [struct.pack("!i", -(2**31))], [1]),
    "date year 20000": _bind("SELECT $1::date", [1082], [struct.pack("!i", 6574300)], [1]),
    "date past the end": _bind("SELECT $1::date", [1082], [struct.pack("!i", 2**31 - 2)], [1]),
    "date before 4714 BC": _bind("SELECT $1::date", [1082], [struct.pack("!i", -2451546)], [1]),
    "date 44 BC": _bind("SELECT $1::date", [1082], [struct.pack("!i", -746695)], [1]),
    "timestamp +infinity": _bind("SELECT $1::timestamp", [1114], [struct.pack("!q", 2**63 - 1)], [1]),
    "timestamptz -infinity": _bind("SELECT $1::timestamptz", [1184], [struct.pack("!q", -(2**63))], [1]),
    "timestamp year 100000": _bind("SELECT $1::timestamp", [1114], [struct.pack("!q", 3_092_000_000_000_000_000)], [1]),
    "timestamp past the end": _bind("SELECT $1::timestamp", [1114], [struct.pack("!q", 2**63 - 2)], [1]),
    "time 24:00": _bind("SELECT $1::time", [1083], [struct.pack("!q", 86_400_000_000)], [1]),
    "time past 24:00": _bind("SELECT $1::time", [1083], [struct.pack("!q", 86_400_000_001)], [1]),
    "time negative": _bind("SELECT $1::time", [1083], [struct.pack("!q", -1)], [1]),
    "interval with months": _bind("SELECT $1::interval", [1186], [struct.pack("!qii", 1, 2, 3)], [1]),
    "interval huge": _bind("SELECT $1::interval", [1186], [struct.pack("!qii", 2**63 - 1, 2**31 - 1, 2**31 - 1)], [1]),
    "numeric digit 10000": _bind("SELECT $1::numeric", [1700], [_numeric(1, 0, 0, 0, [10000])], [1]),
    "numeric negative digit": _bind("SELECT $1::numeric", [1700], [_numeric(1, 0, 0, 0, [-1])], [1]),
    "numeric bad sign": _bind("SELECT $1::numeric", [1700], [_numeric(1, 0, 0x1234, 0, [1])], [1]),
    "numeric bad scale": _bind("SELECT $1::numeric", [1700], [_numeric(1, 0, 0, 0x4000, [1])], [1]),
    "numeric NaN": _bind("SELECT $1::numeric", [1700], [_numeric(0, 0, 0xC000, 0, [])], [1]),
    "numeric 12.5": _bind("SELECT $1::numeric", [1700], [_numeric(2, 0, 0, 1, [12, 5000])], [1]),
    "int4 short": _bind("SELECT $1::int4", [23], [b"\x00\x01"], [1]),
    "int4 long": _bind("SELECT $1::int4", [23], [b"\x00\x00\x00\x01\x00"], [1]),
    "int8 short": _bind("SELECT $1::int8", [20], [b"\x00"], [1]),
    "float8 short": _bind("SELECT $1::float8", [701], [b"\x00" * 7], [1]),
    "uuid short": _bind("SELECT $1::uuid", [2950], [b"abc"], [1]),
    "text not UTF-8, binary": _bind("SELECT $1::text", [25], [b"\xff\xfe"], [1]),
    "text not UTF-8": _bind("SELECT $1::text", [25], [b"a\xc3"], [0]),
    "text with NUL": _bind("SELECT $1::text", [25], [b"a\x00b"], [0]),
    "format code 2": _bind("SELECT $1::text", [25], [b"a"], [2]),
    "array of 7 dimensions": _bind("SELECT $1::int4[]", [1007], [struct.pack("!iiI", 7, 0, 23)], [1]),
    "array of -1 dimensions": _bind("SELECT $1::int4[]", [1007], [struct.pack("!iiI", -1, 0, 23)], [1]),
    "array of text sent as int4[]": _bind("SELECT $1::int4[]", [1007], [_int4_array(1, 25, [(1, 1)], [b"a"])], [1]),
    "array too large": _bind("SELECT $1::int4[]", [1007], [_int4_array(1, 23, [(2**31 - 1, 1)], [])], [1]),
    "array [7, 8]": _bind("SELECT $1::int4[]", [1007],
                          [_int4_array(1, 23, [(2, 1)], [struct.pack("!i", 7), struct.pack("!i", 8)])], [1]),
    "bind with too many values": _bind("SELECT $1::int4", [23], [b"1", b"2"], [0]),
}


# PostgreSQL takes these; the engine cannot hold them, and says so with an ordinary error.
ENGINE_LIMITS = {
    "numeric NaN": ["error", "22P02"],  # DuckDB's DECIMAL has no NaN
}


def _outcome(host: str, port: int, user: str, database: str, payload: bytes) -> list:
    with w.RawConnection(host, port) as conn:
        assert conn.startup(user, database)[-1].tag == b"Z"
        conn.send(payload)
        replies = conn.until_ready()
    errors = w.errors(replies)
    if errors:
        return ["error", errors[0]["C"]]
    return ["rows", w.data_rows(replies)]


@pytest.mark.parametrize("name", list(CASES))
def test_same_as_postgres(name: str, server, postgres) -> None:
    payload = CASES[name]
    expected = _outcome(postgres.host, postgres.port, "postgres", "postgres", payload)
    got = _outcome(server.host, server.port, "analyst", server.database, payload)
    if name in ENGINE_LIMITS:
        assert expected[0] == "rows" and got == ENGINE_LIMITS[name], (got, expected)
        return
    if expected[0] == "rows" and got[0] == "rows":
        return  # both took the value (its text rendering is the encoders' concern, tested elsewhere)
    assert got == expected, f"{name}: lens-proxy {got}, PostgreSQL {expected}"
