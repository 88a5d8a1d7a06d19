"""MessageReader: startup phase, tagged phase, partial frames, limits."""

from __future__ import annotations

import struct

import pytest

from proxy.wire.framing import MalformedMessage, MessageReader
from proxy.wire.messages import (
    Bind,
    CancelRequest,
    Describe,
    Execute,
    GSSENCRequest,
    Parse,
    ProtocolViolation,
    Query,
    SSLRequest,
    StartupMessage,
    Sync,
    Terminate,
)


def i16(v: int) -> bytes:
    return struct.pack("!h", v)


def i32(v: int) -> bytes:
    return struct.pack("!i", v)


def untagged(payload: bytes) -> bytes:
    return i32(len(payload) + 4) + payload


def tagged(tag: bytes, payload: bytes) -> bytes:
    return tag + i32(len(payload) + 4) + payload


STARTUP = untagged(i32(196608) + b"user\x00alice\x00database\x00lens\x00\x00")
SSL = untagged(i32(80877103))
GSS = untagged(i32(80877104))
CANCEL = untagged(i32(80877102) + i32(7) + i32(99))
QUERY = tagged(b"Q", b"select 1\x00")
PARSE = tagged(b"P", b"\x00select $1\x00" + i16(1) + i32(23))
BIND = tagged(b"B", b"\x00\x00" + i16(0) + i16(1) + i32(1) + b"5" + i16(0))
DESCRIBE = tagged(b"D", b"P\x00")
EXECUTE = tagged(b"E", b"\x00" + i32(0))
SYNC = tagged(b"S", b"")
TERMINATE = tagged(b"X", b"")

EXPECTED_STARTUP = StartupMessage(196608, {"user": "alice", "database": "lens"})
EXTENDED = [
    Parse("", "select $1", (23,)),
    Bind("", "", (), (b"5",), ()),
    Describe("P", ""),
    Execute("", 0),
    Sync(),
]


def test_startup_then_tagged():
    r = MessageReader()
    assert not r.tagged
    assert r.feed(STARTUP) == [EXPECTED_STARTUP]
    assert r.tagged
    assert r.feed(QUERY) == [Query("select 1")]
    assert r.buffered == 0


def test_ssl_request_then_startup():
    r = MessageReader()
    assert r.feed(SSL) == [SSLRequest()]
    assert not r.tagged and r.buffered == 0
    assert r.feed(STARTUP) == [EXPECTED_STARTUP]
    assert r.tagged


def test_gssenc_request_then_ssl_then_startup():
    r = MessageReader()
    assert r.feed(GSS + SSL) == [GSSENCRequest(), SSLRequest()]
    assert r.feed(STARTUP + QUERY) == [EXPECTED_STARTUP, Query("select 1")]


def test_cancel_request():
    r = MessageReader()
    assert r.feed(CANCEL) == [CancelRequest(7, 99)]
    assert not r.tagged


def test_start_tagged_explicitly():
    r = MessageReader()
    r.start_tagged()
    assert r.feed(QUERY + SYNC) == [Query("select 1"), Sync()]


def test_several_messages_in_one_feed():
    r = MessageReader()
    stream = STARTUP + PARSE + BIND + DESCRIBE + EXECUTE + SYNC + QUERY + TERMINATE
    assert r.feed(stream) == [EXPECTED_STARTUP, *EXTENDED, Query("select 1"), Terminate()]
    assert r.buffered == 0


def test_every_split_point_yields_the_same_messages():
    stream = SSL + STARTUP + PARSE + BIND + DESCRIBE + EXECUTE + SYNC + QUERY + TERMINATE
    expected = [SSLRequest(), EXPECTED_STARTUP, *EXTENDED, Query("select 1"), Terminate()]
    for cut in range(len(stream) + 1):
        r = MessageReader()
        got = r.feed(stream[:cut]) + r.feed(stream[cut:])
        assert got == expected, cut
        assert r.buffered == 0
    for cut1 in range(0, len(stream) + 1, 7):
        for cut2 in range(cut1, len(stream) + 1, 3):
            r = MessageReader()
            got = r.feed(stream[:cut1]) + r.feed(stream[cut1:cut2]) + r.feed(stream[cut2:])
            assert got == expected, (cut1, cut2)


def test_byte_at_a_time():
    stream = STARTUP + PARSE + BIND + DESCRIBE + EXECUTE + SYNC
    r = MessageReader()
    got = []
    for i in range(len(stream)):
        got += r.feed(stream[i : i + 1])
    assert got == [EXPECTED_STARTUP, *EXTENDED]


def test_partial_frame_stays_buffered():
    r = MessageReader()
    r.start_tagged()
    assert r.feed(QUERY[:3]) == []
    assert r.buffered == 3
    assert r.feed(QUERY[3:] + SYNC[:1]) == [Query("select 1")]
    assert r.buffered == 1
    assert r.feed(b"") == []
    assert r.feed(SYNC[1:]) == [Sync()]


def test_many_small_messages_one_feed_are_linear():
    r = MessageReader()
    r.start_tagged()
    n = 50_000
    got = r.feed(SYNC * n + QUERY[:4])
    assert len(got) == n and r.buffered == 4
    assert r.feed(QUERY[4:]) == [Query("select 1")]


def test_large_message_fed_in_pieces():
    r = MessageReader()
    r.start_tagged()
    sql = "select '" + "x" * 300_000 + "'"
    msg = tagged(b"Q", sql.encode() + b"\x00")
    got = []
    for i in range(0, len(msg), 4096):
        got += r.feed(msg[i : i + 4096])
    assert got == [Query(sql)]


def test_oversized_tagged_length_raises_before_body():
    r = MessageReader(max_message_size=1024)
    r.start_tagged()
    with pytest.raises(ProtocolViolation) as exc:
        r.feed(b"Q" + i32(1025))  # header only: no body was sent
    assert exc.value.sqlstate == "08P01"


def test_default_limit_rejects_huge_length():
    r = MessageReader()
    r.start_tagged()
    with pytest.raises(ProtocolViolation):
        r.feed(b"Q" + i32(0x7FFFFFFF))


def test_message_at_limit_is_accepted():
    payload = b"x" * 96 + b"\x00"
    r = MessageReader(max_message_size=len(payload) + 4)
    r.start_tagged()
    assert r.feed(tagged(b"Q", payload)) == [Query("x" * 96)]


@pytest.mark.parametrize("length", [-1, 0, 3])
def test_tagged_length_below_four(length):
    r = MessageReader()
    r.start_tagged()
    with pytest.raises(ProtocolViolation):
        r.feed(b"Q" + i32(length))


def test_oversized_startup_length_raises_before_body():
    r = MessageReader()
    with pytest.raises(ProtocolViolation):
        r.feed(i32(1_000_000))


@pytest.mark.parametrize(
    "garbage",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",  # length 0x47455420: far too large
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # TLS ClientHello sent without SSLRequest
        i32(4),  # startup packet too short to hold a protocol code
        untagged(i32(131072) + b"user\x00u\x00\x00"),  # protocol 2.0
        untagged(i32(12345678)),
    ],
)
def test_garbage_in_startup_phase(garbage):
    with pytest.raises(ProtocolViolation):
        MessageReader().feed(garbage)


def test_malformed_tagged_payload_is_reported_and_reading_goes_on():
    """The frame is sound, only its body is not: the session answers an ERROR, the connection lives."""
    r = MessageReader()
    r.start_tagged()
    first, second = r.feed(tagged(b"Q", b"no terminator") + tagged(b"S", b""))
    assert first == MalformedMessage(b"Q", "invalid Query message: unterminated string")
    assert second == Sync()


def test_unknown_message_type_raises():
    r = MessageReader()
    r.start_tagged()
    with pytest.raises(ProtocolViolation, match="invalid frontend message type 122"):
        r.feed(tagged(b"z", b"abc"))
