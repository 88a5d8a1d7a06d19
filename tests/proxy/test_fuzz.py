"""Protocol fuzzing: mutations of valid message streams, sent over real sockets to a running lens-proxy.

Seeds are ordinary conversations (simple and extended query, parameters in text and binary, cursors, COPY,
transactions, errors). Each case mutates one: bit flips, overwritten bytes, truncation, wrong lengths and
counts, messages dropped, duplicated or swapped, a random tag, invalid UTF-8, NUL bytes in strings, bad
format codes; startup packets are mutated too. A case sends its bytes on a fresh connection, half-closes,
and reads until the server closes. The server must answer every case without an internal error (XX000), a
malformed reply, a hang or a traceback in its log, and a bystander client querying all the while must see
every answer right. A fixed seed makes every run the same cases.
"""

from __future__ import annotations

import random
import socket
import struct
import threading
import time
from collections.abc import Callable

import psycopg
import pytest

from tests.proxy import rawwire as w
from tests.proxy.logged_server import LoggedServer

SEED = 9
CASES = 3000
CASE_TIMEOUT = 15  # seconds for the server to answer one case and close


def _seeds() -> list[list[bytes]]:
    """Valid conversations after startup, one message per element (mutations work message-wise too)."""
    date = struct.pack("!i", 8000)
    return [
        [w.query("SELECT count_customers FROM customer")],
        [w.query("SELECT state, count_customers FROM customer GROUP BY state ORDER BY 2 DESC LIMIT 3; SELECT 1")],
        [w.query("")],
        [w.query("BEGIN"), w.query("SELECT 1/0"), w.query("ROLLBACK")],
        [w.parse("SELECT customer_id FROM customer WHERE state = $1 LIMIT $2", "s1", [25, 23]),
         w.bind([b"CA", b"3"], [0, 0], [1], statement="s1"), w.describe(b"P"), w.execute(), w.sync()],
        [w.parse("SELECT $1::int4 + 1, $2::date, $3::float8", oids=[23, 1082, 701]),
         w.bind([struct.pack("!i", 41), date, struct.pack("!d", 1.5)], [1]), w.execute(max_rows=1), w.sync()],
        [w.parse("SELECT $1::numeric, $2::timestamp, $3::interval", oids=[1700, 1114, 1186]),
         w.bind([struct.pack("!hhHHh", 1, 0, 0, 0, 12), struct.pack("!q", 10**12), struct.pack("!qii", 5, 1, 2)], [1]),
         w.execute(), w.sync()],
        [w.parse("SELECT $1::int4[], $2::text", oids=[1007, 25]),
         w.bind([struct.pack("!iiiii", 1, 0, 23, 2, 1) + struct.pack("!ii", 4, 7) + struct.pack("!ii", 4, 8), b"x"], [1, 0]),
         w.execute(), w.sync()],
        [w.parse("SELECT entity_id, frequency FROM order_placed GROUP BY entity_id ORDER BY 2 DESC"),
         w.bind(), w.execute(max_rows=2), w.execute(max_rows=2), w.sync()],
        [w.parse("SELECT 1", "named"), w.describe(b"S", "named"), w.flush(), w.frame(b"C", b"Snamed\0"), w.sync()],
        [w.query("BEGIN; DECLARE c CURSOR FOR SELECT customer_id FROM customer; FETCH 3 FROM c; CLOSE c; COMMIT")],
        [w.query("COPY (SELECT state, count_customers FROM customer GROUP BY state) TO STDOUT")],
        [w.query("SET statement_timeout = '5s'"), w.query("SHOW statement_timeout"), w.query("RESET ALL")],
        [w.query("SELECT * FROM pg_catalog.pg_type WHERE oid = 23")],
        [w.parse("SELECT no_such_column FROM customer"), w.bind(), w.execute(), w.sync()],
    ]


def _mutations(rng: random.Random) -> list[Callable[[list[bytes]], bytes]]:
    def join(msgs: list[bytes]) -> bytes:
        return b"".join(msgs)

    def flip_bit(msgs: list[bytes]) -> bytes:
        data = bytearray(join(msgs))
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
        return bytes(data)

    def overwrite(msgs: list[bytes]) -> bytes:
        data = bytearray(join(msgs))
        i = rng.randrange(len(data))
        data[i : i + rng.randint(1, 8)] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        return bytes(data)

    def truncate(msgs: list[bytes]) -> bytes:
        data = join(msgs)
        return data[: rng.randrange(len(data))]

    def wrong_length(msgs: list[bytes]) -> bytes:
        i = rng.randrange(len(msgs))
        msg = msgs[i]
        length = struct.unpack_from("!i", msg, 1)[0]
        new = rng.choice([0, 1, 3, 4, length - 1, length + 1, length + 7, -1, -5, 2**31 - 1, rng.randrange(2**31)])
        return join([*msgs[:i], msg[:1] + struct.pack("!i", new) + msg[5:], *msgs[i + 1 :]])

    def body_short(msgs: list[bytes]) -> bytes:
        """A message cut short but with a length that agrees: the body ends early."""
        i = rng.randrange(len(msgs))
        body = msgs[i][5:]
        cut = body[: rng.randrange(len(body) + 1)]
        return join([*msgs[:i], w.frame(msgs[i][:1], cut), *msgs[i + 1 :]])

    def wrong_count(msgs: list[bytes]) -> bytes:
        """An int16 count or int32 length inside a body (parameter, format, column counts) changed."""
        i = rng.randrange(len(msgs))
        body = bytearray(msgs[i][5:])
        if len(body) < 2:
            return join(msgs)
        j = rng.randrange(len(body) - 1)
        body[j : j + 2] = struct.pack("!h", rng.choice([-1, 0, 1, 2, 3, 100, 32767, -32768]))
        return join([*msgs[:i], w.frame(msgs[i][:1], bytes(body)), *msgs[i + 1 :]])

    def reorder(msgs: list[bytes]) -> bytes:
        msgs = list(msgs)
        op = rng.choice(["swap", "drop", "duplicate", "reverse"])
        if op == "swap" and len(msgs) > 1:
            a, b = rng.sample(range(len(msgs)), 2)
            msgs[a], msgs[b] = msgs[b], msgs[a]
        elif op == "drop" and len(msgs) > 1:
            del msgs[rng.randrange(len(msgs))]
        elif op == "duplicate":
            i = rng.randrange(len(msgs))
            msgs.insert(i, msgs[i])
        else:
            msgs.reverse()
        return join(msgs)

    def random_tag(msgs: list[bytes]) -> bytes:
        msgs = list(msgs)
        tag = bytes([rng.choice([rng.randrange(256), *b"PBDESHCXpdfcFQ"])])
        body = bytes(rng.randrange(256) for _ in range(rng.randint(0, 12)))
        msgs.insert(rng.randrange(len(msgs) + 1), w.frame(tag, body))
        return join(msgs)

    def bad_utf8(msgs: list[bytes]) -> bytes:
        i = rng.randrange(len(msgs))
        body = bytearray(msgs[i][5:])
        if not body:
            return join(msgs)
        j = rng.randrange(len(body))
        body[j:j] = rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"])
        return join([*msgs[:i], w.frame(msgs[i][:1], bytes(body)), *msgs[i + 1 :]])

    def nul_byte(msgs: list[bytes]) -> bytes:
        i = rng.randrange(len(msgs))
        body = bytearray(msgs[i][5:])
        body.insert(rng.randrange(len(body) + 1), 0)
        return join([*msgs[:i], w.frame(msgs[i][:1], bytes(body)), *msgs[i + 1 :]])

    def bad_format(msgs: list[bytes]) -> bytes:
        code = rng.choice([2, -1, 255, 32767])
        new = [w.bind([b"1"], [code]) if m[:1] == b"B" else m for m in msgs]
        if new == msgs:
            new = [w.parse("SELECT $1::int4"), w.bind([b"1"], [0], [code]), w.execute(), w.sync()]
        return join(new)

    def garbage(msgs: list[bytes]) -> bytes:
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))

    return [flip_bit, overwrite, truncate, wrong_length, body_short, wrong_count, reorder, random_tag, bad_utf8,
            nul_byte, bad_format, garbage]


def _startup_case(rng: random.Random) -> bytes:
    """A mutated startup packet (the only conversation is the startup itself)."""
    packet = bytearray(w.startup_packet({"user": "analyst", "database": "customer_360", "application_name": "fuzz"}))
    op = rng.randrange(5)
    if op == 0:
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(packet))
            packet[i] ^= 1 << rng.randrange(8)
    elif op == 1:
        packet = packet[: rng.randrange(len(packet))]
    elif op == 2:
        struct.pack_into("!i", packet, 0, rng.choice([0, 4, 7, 8, 9, 10001, 2**31 - 1, -1]))
    elif op == 3:
        struct.pack_into("!i", packet, 4, rng.choice([0, 2 << 16, 3 << 16 | 5, 80877102, 80877103, 80877104, -1]))
    else:
        packet = packet[:-1] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 20)))
    return bytes(packet)


def _replies(data: bytes) -> list[w.Message]:
    """Split the server's reply into messages; a malformed reply fails the test."""
    out, pos = [], 0
    if data[:1] in (b"N", b"S") and (len(data) == 1 or data[1:2] != b"\x00"):
        pos = 1  # the answer to an SSLRequest is one unframed byte
    while pos < len(data):
        assert len(data) - pos >= 5, f"truncated reply: {data[pos:]!r}"
        (length,) = struct.unpack_from("!i", data, pos + 1)
        assert 4 <= length <= len(data) - pos - 1, f"bad reply frame at {pos}: {data[pos : pos + 16]!r}"
        out.append(w.Message(data[pos : pos + 1], data[pos + 5 : pos + 1 + length]))
        pos += 1 + length
    return out


def _run_case(server: LoggedServer, payload: bytes, *, startup: bool) -> list[w.Message]:
    with w.RawConnection(server.host, server.port, timeout=CASE_TIMEOUT) as conn:
        if startup:
            ready = conn.startup(application_name="fuzz")
            assert ready and ready[-1].tag == b"Z", ready
        try:
            conn.send(payload)
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may already have hung up on a bad startup packet
        data = conn._buf
        deadline = time.monotonic() + CASE_TIMEOUT
        while True:
            conn.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = conn.sock.recv(65536)
            except TimeoutError:
                pytest.fail(f"the server neither answered nor closed within {CASE_TIMEOUT}s: {payload[:200]!r}")
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        return _replies(data)


class Bystander(threading.Thread):
    """Queries the lens all the while and checks every answer."""

    def __init__(self, server: LoggedServer, expected: int) -> None:
        super().__init__(daemon=True)
        self.server, self.expected = server, expected
        self.stop = threading.Event()
        self.failures: list[str] = []
        self.queries = 0

    def run(self) -> None:
        try:
            with psycopg.connect(self.server.dsn(), autocommit=True, connect_timeout=10) as conn:
                while not self.stop.is_set():
                    got = conn.execute("SELECT count_customers FROM customer").fetchone()
                    if got != (self.expected,):
                        self.failures.append(f"bystander got {got}, expected {self.expected}")
                    self.queries += 1
                    time.sleep(0.02)
        except Exception as e:  # any failure of the bystander is the test's failure
            self.failures.append(f"bystander failed: {type(e).__name__}: {e}")


def test_protocol_fuzz(clean_log: LoggedServer, truth) -> None:
    rng = random.Random(SEED)
    seeds, mutations = _seeds(), _mutations(rng)
    expected = truth.execute("SELECT count(*) FROM icebase.audience.customers_large_data").fetchone()[0]
    bystander = Bystander(clean_log, expected)
    bystander.start()
    internal, fatal, ready = [], 0, 0
    try:
        for case in range(CASES):
            startup = case % 10 != 9
            payload = rng.choice(mutations)(rng.choice(seeds)) if startup else _startup_case(rng)
            replies = _run_case(clean_log, payload, startup=startup)
            errors = w.errors(replies)
            internal += [(case, e, payload[:300]) for e in errors if e.get("C") == "XX000"]
            fatal += any(e.get("S") == "FATAL" for e in errors)
            ready += any(m.tag == b"Z" for m in replies)
            assert bystander.is_alive() or bystander.failures, "bystander stopped"
            assert not bystander.failures, bystander.failures
    finally:
        bystander.stop.set()
        bystander.join(10)
    print(f"\nprotocol fuzz: {CASES} cases, {fatal} ended FATAL, {ready} got ReadyForQuery, "
          f"bystander ran {bystander.queries} queries")
    assert not internal, "internal errors:\n" + "\n".join(f"case {c}: {e} for {p!r}" for c, e, p in internal[:5])
    assert not bystander.failures, bystander.failures
    assert bystander.queries > 0
    with psycopg.connect(clean_log.dsn(), autocommit=True) as conn:  # and the server is still fine
        assert conn.execute("SELECT count_customers FROM customer").fetchone() == (expected,)
