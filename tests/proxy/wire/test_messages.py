"""Golden bytes for the backend encoders and hand-built frontend payloads for the decoders."""

from __future__ import annotations

import struct

import pytest

from proxy.wire import messages as m
from proxy.wire.messages import (
    Bind,
    CancelRequest,
    Close,
    CopyData,
    CopyDone,
    CopyFail,
    Describe,
    Execute,
    FieldDescription,
    Flush,
    FunctionCall,
    GSSENCRequest,
    Parse,
    PasswordMessage,
    ProtocolViolation,
    Query,
    SSLRequest,
    StartupMessage,
    Sync,
    Terminate,
    UnknownMessage,
    decode_frontend,
    decode_startup,
)


def i16(v: int) -> bytes:
    return struct.pack("!h", v)


def i32(v: int) -> bytes:
    return struct.pack("!i", v)


# --------------------------------------------------------------------------------------------------------
# Backend encoders
# --------------------------------------------------------------------------------------------------------


def test_authentication_messages():
    assert m.authentication_ok() == b"R\x00\x00\x00\x08\x00\x00\x00\x00"
    assert m.authentication_cleartext_password() == b"R\x00\x00\x00\x08\x00\x00\x00\x03"
    assert m.authentication_md5_password(b"\x01\x02\x03\x04") == (
        b"R\x00\x00\x00\x0c\x00\x00\x00\x05\x01\x02\x03\x04"
    )
    assert m.authentication_sasl(["SCRAM-SHA-256"]) == (
        b"R\x00\x00\x00\x17\x00\x00\x00\x0aSCRAM-SHA-256\x00\x00"
    )
    assert m.authentication_sasl(["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]) == (
        b"R" + i32(4 + 4 + 19 + 14 + 1) + i32(10) + b"SCRAM-SHA-256-PLUS\x00SCRAM-SHA-256\x00\x00"
    )
    assert m.authentication_sasl_continue(b"r=abc") == b"R\x00\x00\x00\x0d\x00\x00\x00\x0br=abc"
    assert m.authentication_sasl_final(b"v=xyz") == b"R\x00\x00\x00\x0d\x00\x00\x00\x0cv=xyz"
    with pytest.raises(ValueError):
        m.authentication_md5_password(b"\x01")


def test_parameter_status_and_backend_key_data():
    assert m.parameter_status("client_encoding", "UTF8") == b"S\x00\x00\x00\x19client_encoding\x00UTF8\x00"
    assert m.backend_key_data(1234, -5) == b"K\x00\x00\x00\x0c\x00\x00\x04\xd2\xff\xff\xff\xfb"


def test_ready_for_query():
    assert m.ready_for_query(b"I") == b"Z\x00\x00\x00\x05I"
    assert m.ready_for_query(b"T") == b"Z\x00\x00\x00\x05T"
    assert m.ready_for_query(b"E") == b"Z\x00\x00\x00\x05E"
    assert m.ready_for_query() == b"Z\x00\x00\x00\x05I"
    with pytest.raises(ValueError):
        m.ready_for_query(b"X")


def test_row_description_two_fields():
    fields = [
        FieldDescription(name="id", type_oid=23, type_size=4),
        FieldDescription(
            name="amount",
            table_oid=16384,
            column_attnum=2,
            type_oid=1700,
            type_size=-1,
            type_modifier=(10 << 16 | 2) + 4,
            format=0,
        ),
    ]
    body = (
        i16(2)
        + b"id\x00"
        + i32(0)
        + i16(0)
        + i32(23)
        + i16(4)
        + i32(-1)
        + i16(0)
        + b"amount\x00"
        + i32(16384)
        + i16(2)
        + i32(1700)
        + i16(-1)
        + i32(655366)
        + i16(0)
    )
    assert m.row_description(fields) == b"T" + i32(len(body) + 4) + body
    assert m.row_description([]) == b"T\x00\x00\x00\x06\x00\x00"


def test_field_description_defaults_and_positional_order():
    f = FieldDescription("x")
    assert (f.table_oid, f.column_attnum, f.type_oid, f.type_size, f.type_modifier, f.format) == (
        0,
        0,
        25,
        -1,
        -1,
        0,
    )
    assert FieldDescription("x", 1, 2, 23, 4, -1, 1).format == 1


def test_data_row_with_null():
    assert m.data_row([b"1", None, b""]) == (
        b"D" + i32(4 + 2 + 5 + 4 + 4) + i16(3) + i32(1) + b"1" + i32(-1) + i32(0)
    )
    assert m.data_row([]) == b"D\x00\x00\x00\x06\x00\x00"


def test_command_complete_and_simple_messages():
    assert m.command_complete("SELECT 3") == b"C\x00\x00\x00\x0dSELECT 3\x00"
    assert m.empty_query_response() == b"I\x00\x00\x00\x04"
    assert m.parse_complete() == b"1\x00\x00\x00\x04"
    assert m.bind_complete() == b"2\x00\x00\x00\x04"
    assert m.close_complete() == b"3\x00\x00\x00\x04"
    assert m.no_data() == b"n\x00\x00\x00\x04"
    assert m.portal_suspended() == b"s\x00\x00\x00\x04"
    assert m.copy_done() == b"c\x00\x00\x00\x04"
    assert m.copy_data(b"a\tb\n") == b"d\x00\x00\x00\x08a\tb\n"
    assert m.ssl_response(False) == b"N"
    assert m.ssl_response(True) == b"S"


def test_parameter_description():
    assert m.parameter_description([23, 25]) == b"t\x00\x00\x00\x0e\x00\x02\x00\x00\x00\x17\x00\x00\x00\x19"
    assert m.parameter_description([]) == b"t\x00\x00\x00\x06\x00\x00"


def test_copy_out_response():
    assert m.copy_out_response(0, [0, 0]) == b"H\x00\x00\x00\x0b\x00\x00\x02\x00\x00\x00\x00"


def test_error_response_field_order():
    fields = m.error_fields(
        "ERROR", "42P01", 'relation "x" does not exist', hint="check the lens", position=15
    )
    assert list(fields) == ["S", "V", "C", "M", "H", "P"]
    body = b'SERROR\x00VERROR\x00C42P01\x00Mrelation "x" does not exist\x00Hcheck the lens\x00P15\x00\x00'
    assert m.error_response(fields) == b"E" + i32(len(body) + 4) + body
    # order given is the order written, whatever it is
    assert m.error_response({"M": "b", "S": "a"}) == b"E\x00\x00\x00\x0bMb\x00Sa\x00\x00"


def test_error_fields_full_and_notice():
    f = m.error_fields("FATAL", "08P01", "bad", detail="d", hint="h", position=1)
    assert f == {"S": "FATAL", "V": "FATAL", "C": "08P01", "M": "bad", "D": "d", "H": "h", "P": "1"}
    assert list(f) == ["S", "V", "C", "M", "D", "H", "P"]
    notice = m.notice_response(m.error_fields("NOTICE", "00000", "hi"))
    assert notice == b"N\x00\x00\x00\x20SNOTICE\x00VNOTICE\x00C00000\x00Mhi\x00\x00"


def test_error_response_strips_nul_from_text():
    assert m.error_response({"M": "a\x00b"}) == b"E\x00\x00\x00\x09Mab\x00\x00"


def test_cstrings_with_nul_are_rejected():
    with pytest.raises(ValueError):
        m.command_complete("SELECT\x001")


def test_negotiate_protocol_version():
    assert m.negotiate_protocol_version(0, ["_pq_.x"]) == (
        b"v" + i32(4 + 4 + 4 + 7) + i32(0) + i32(1) + b"_pq_.x\x00"
    )


# --------------------------------------------------------------------------------------------------------
# Startup-phase decoding
# --------------------------------------------------------------------------------------------------------


def test_decode_startup_message():
    payload = i32(196608) + b"user\x00alice\x00database\x00lens\x00application_name\x00psql\x00\x00"
    msg = decode_startup(payload)
    assert msg == StartupMessage(196608, {"user": "alice", "database": "lens", "application_name": "psql"})
    assert (msg.major, msg.minor) == (3, 0)
    assert decode_startup(i32(196608) + b"\x00") == StartupMessage(196608, {})


def test_decode_startup_newer_minor_is_passed_through():
    assert decode_startup(i32(196610) + b"user\x00u\x00\x00").protocol == 196610


def test_decode_ssl_gss_cancel():
    assert decode_startup(i32(80877103)) == SSLRequest()
    assert decode_startup(i32(80877104)) == GSSENCRequest()
    assert decode_startup(i32(80877102) + i32(42) + i32(-7)) == CancelRequest(42, -7)


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\x00\x03",
        i32(131072) + b"user\x00u\x00\x00",  # protocol 2.0
        i32(1234) + b"\x00",
        i32(196608),  # missing terminator
        i32(196608) + b"user\x00u\x00",  # missing final terminator
        i32(196608) + b"user\x00u",  # unterminated value
        i32(196608) + b"user\x00u\x00\x00junk",
        i32(196608) + b"user\x00\xff\xfe\x00\x00",  # invalid UTF-8
        i32(80877103) + b"x",
        i32(80877102) + i32(1),
    ],
)
def test_decode_startup_malformed(payload):
    with pytest.raises(ProtocolViolation) as exc:
        decode_startup(payload)
    assert exc.value.sqlstate == "08P01"


# --------------------------------------------------------------------------------------------------------
# Tagged frontend messages
# --------------------------------------------------------------------------------------------------------


def test_decode_query():
    assert decode_frontend(b"Q", b"select 1\x00") == Query("select 1")
    assert decode_frontend(b"Q", "select 'é'\x00".encode()) == Query("select 'é'")


def test_decode_parse_with_param_types():
    payload = b"s1\x00select $1, $2\x00" + i16(2) + i32(23) + i32(0)
    assert decode_frontend(b"P", payload) == Parse("s1", "select $1, $2", (23, 0))
    assert decode_frontend(b"P", b"\x00select 1\x00" + i16(0)) == Parse("", "select 1", ())


def test_decode_bind_with_null_and_mixed_formats():
    payload = (
        b"p1\x00s1\x00"
        + i16(3)
        + i16(0)
        + i16(1)
        + i16(0)
        + i16(3)
        + i32(2)
        + b"42"
        + i32(-1)
        + i32(4)
        + b"\x00\x00\x00\x07"
        + i16(2)
        + i16(1)
        + i16(0)
    )
    msg = decode_frontend(b"B", payload)
    assert msg == Bind("p1", "s1", (0, 1, 0), (b"42", None, b"\x00\x00\x00\x07"), (1, 0))
    assert [msg.param_format(i) for i in range(3)] == [0, 1, 0]
    assert [msg.result_format(i) for i in range(2)] == [1, 0]


def test_bind_format_rules():
    one = Bind("", "", (1,), (b"a", b"b"), (1,))
    assert one.param_format(1) == 1 and one.result_format(5) == 1
    none = Bind("", "", (), (b"a",), ())
    assert none.param_format(0) == 0 and none.result_format(0) == 0
    empty = decode_frontend(b"B", b"\x00\x00" + i16(0) + i16(0) + i16(0))
    assert empty == Bind("", "", (), (), ())


def test_decode_describe_close_execute():
    assert decode_frontend(b"D", b"Sstmt\x00") == Describe("S", "stmt")
    assert decode_frontend(b"D", b"P\x00") == Describe("P", "")
    assert decode_frontend(b"C", b"Sstmt\x00") == Close("S", "stmt")
    assert decode_frontend(b"C", b"Pportal\x00") == Close("P", "portal")
    assert decode_frontend(b"E", b"\x00" + i32(100)) == Execute("", 100)
    assert decode_frontend(b"E", b"cur\x00" + i32(0)) == Execute("cur", 0)


def test_decode_empty_messages_and_raw_payloads():
    assert decode_frontend(b"S", b"") == Sync()
    assert decode_frontend(b"H", b"") == Flush()
    assert decode_frontend(b"X", b"") == Terminate()
    assert decode_frontend(b"c", b"") == CopyDone()
    assert decode_frontend(b"d", b"1\t2\n") == CopyData(b"1\t2\n")
    assert decode_frontend(b"f", b"oops\x00") == CopyFail("oops")
    assert decode_frontend(b"F", b"\x00\x00\x00\x01") == FunctionCall(b"\x00\x00\x00\x01")
    assert decode_frontend(b"p", b"secret\x00") == PasswordMessage(b"secret\x00")
    assert decode_frontend(b"z", b"abc") == UnknownMessage(b"z", b"abc")


def test_password_helpers():
    assert m.parse_cleartext_password(PasswordMessage(b"hunter2\x00")) == "hunter2"
    first = b"n,,n=,r=rOprNGfwEbeRWgbNEkqO"
    sasl = PasswordMessage(b"SCRAM-SHA-256\x00" + i32(len(first)) + first)
    assert m.parse_sasl_initial_response(sasl) == ("SCRAM-SHA-256", first)
    assert m.parse_sasl_initial_response(b"SCRAM-SHA-256\x00" + i32(-1)) == ("SCRAM-SHA-256", None)
    with pytest.raises(ProtocolViolation):
        m.parse_sasl_initial_response(b"SCRAM-SHA-256\x00" + i32(10) + b"short")
    with pytest.raises(ProtocolViolation):
        m.parse_cleartext_password(b"no terminator")


@pytest.mark.parametrize(
    ("tag", "payload"),
    [
        (b"Q", b"select 1"),  # unterminated
        (b"Q", b"select 1\x00extra"),
        (b"Q", b"\xff\x00"),  # invalid UTF-8
        (b"P", b"s\x00q\x00" + i16(2) + i32(23)),  # fewer types than announced
        (b"P", b"s\x00q\x00" + i16(-1)),
        (b"B", b"p\x00s\x00" + i16(1)),  # truncated formats
        (b"B", b"p\x00s\x00" + i16(0) + i16(1) + i32(5) + b"ab" + i16(0)),  # short parameter
        (b"B", b"p\x00s\x00" + i16(0) + i16(1) + i32(-2) + i16(0)),  # bad length
        (b"B", b"p\x00s\x00" + i16(1) + i16(2) + i16(0) + i16(0)),  # format code 2
        (b"B", b"p\x00s\x00" + i16(2) + i16(0) + i16(0) + i16(1) + i32(-1) + i16(0)),  # 2 formats 1 param
        (b"B", b"p\x00s\x00" + i16(0) + i16(0) + i16(0) + b"x"),  # trailing bytes
        (b"D", b"Xname\x00"),
        (b"D", b""),
        (b"C", b"S"),
        (b"E", b"portal\x00" + i16(1)),
        (b"S", b"\x00"),
        (b"H", b"x"),
        (b"X", b"x"),
        (b"f", b"no terminator"),
    ],
)
def test_decode_malformed(tag, payload):
    with pytest.raises(ProtocolViolation) as exc:
        decode_frontend(tag, payload)
    assert exc.value.sqlstate == "08P01"
    assert isinstance(exc.value.message, str)


def test_frontend_messages_are_frozen():
    q = Query("select 1")
    with pytest.raises(AttributeError):
        q.sql = "x"  # type: ignore[misc]
