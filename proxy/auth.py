"""Password authentication: trust, cleartext password, md5 and SCRAM-SHA-256, from a users file.

The users file never holds passwords::

    users:
      analyst:
        scram: "SCRAM-SHA-256$4096:<salt>$<StoredKey>:<ServerKey>"   # as PostgreSQL stores it
        md5: "md5<md5(password + username)>"                           # only needed for --auth md5
        groups: [sales]                      # roles the user may act as (lens policies, SET ROLE)
        attributes: {states: [CA, NY]}       # values for policies' {{ user.states }}

``scram`` is a verifier: it checks a password without revealing it. ``md5`` is a password *equivalent*
(whoever reads it can log in with md5 authentication), which is why it is written only on request and why
md5 authentication is a legacy option. ``lens-proxy passwd USER`` writes both entries.

:class:`Authenticator` is sans-IO: ``start()`` gives the first authentication request, ``step(password
message)`` the next message and whether the client is now authenticated; it raises a FATAL 28P01 with
the same message whether the user is unknown or the password wrong (unknown users still go through a
SCRAM exchange against a fake verifier, so timing and messages reveal nothing).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path

import yaml
from scramp import ScramMechanism
from scramp.core import saslprep

from proxy.errors import SqlError
from proxy.wire import messages as m

METHODS = ("trust", "password", "md5", "scram-sha-256")
_ITERATIONS = 4096
_MECHANISM = "SCRAM-SHA-256"


class InvalidPassword(SqlError):
    sqlstate = "28P01"
    severity = "FATAL"


@dataclass(frozen=True, slots=True)
class ScramVerifier:
    iterations: int
    salt: bytes
    stored_key: bytes
    server_key: bytes

    @classmethod
    def parse(cls, text: str) -> ScramVerifier:
        mech, _, rest = text.partition("$")
        iter_salt, _, keys = rest.partition("$")
        iterations, _, salt = iter_salt.partition(":")
        stored, _, server = keys.partition(":")
        if mech != _MECHANISM or not (iterations and salt and stored and server):
            raise ValueError("not a SCRAM-SHA-256 verifier")
        b64 = base64.b64decode
        return cls(int(iterations), b64(salt), b64(stored), b64(server))

    def __str__(self) -> str:
        b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
        return f"{_MECHANISM}${self.iterations}:{b64(self.salt)}${b64(self.stored_key)}:{b64(self.server_key)}"

    def check(self, password: str) -> bool:
        salted = hashlib.pbkdf2_hmac("sha256", _prep(password).encode(), self.salt, self.iterations)
        client_key = hmac.new(salted, b"Client Key", "sha256").digest()
        return hmac.compare_digest(hashlib.sha256(client_key).digest(), self.stored_key)


def _prep(password: str) -> str:
    try:
        return saslprep(password)
    except Exception:  # PostgreSQL uses the raw password when SASLprep rejects it
        return password


@dataclass(frozen=True, slots=True)
class UserEntry:
    scram: ScramVerifier | None = None
    md5: str | None = None
    groups: tuple[str, ...] = ()
    attributes: tuple[tuple[str, object], ...] = ()


def make_verifier(password: str, *, iterations: int = _ITERATIONS) -> ScramVerifier:
    salt, stored, server, iters = ScramMechanism(_MECHANISM).make_auth_info(
        _prep(password), iteration_count=iterations, salt=secrets.token_bytes(16)
    )
    return ScramVerifier(iters, salt, stored, server)


def md5_hash(user: str, password: str) -> str:
    return "md5" + hashlib.md5((password + user).encode()).hexdigest()


def load_users(path: str | Path) -> dict[str, UserEntry]:
    raw = yaml.safe_load(Path(path).read_text()) or {}
    users = raw.get("users") or {}
    if not isinstance(users, dict):
        raise ValueError(f"{path}: 'users' must be a mapping of user name to verifiers")
    out = {}
    for name, entry in users.items():
        entry = entry or {}
        unknown = set(entry) - {"scram", "md5", "groups", "attributes"}
        if unknown:
            raise ValueError(f"{path}: user {name!r}: unknown keys {sorted(unknown)} (plain passwords are not accepted)")
        scram = ScramVerifier.parse(entry["scram"]) if entry.get("scram") else None
        groups = entry.get("groups") or []
        attributes = entry.get("attributes") or {}
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise ValueError(f"{path}: user {name!r}: 'groups' must be a list of names")
        if not isinstance(attributes, dict):
            raise ValueError(f"{path}: user {name!r}: 'attributes' must be a mapping")
        out[str(name)] = UserEntry(scram, entry.get("md5"), tuple(groups), tuple(attributes.items()))
    return out


def write_user(path: str | Path, user: str, password: str | None, *, md5: bool = True,
               groups: list[str] | None = None, attributes: dict[str, object] | None = None) -> None:
    """Add or update ``user`` in the users file (created if missing). ``password`` None keeps the stored
    verifiers (to change only groups or attributes); ``groups``/``attributes`` None keep what is there."""
    p = Path(path)
    raw = (yaml.safe_load(p.read_text()) if p.exists() else None) or {}
    users = raw.setdefault("users", {}) or {}
    raw["users"] = users
    entry = dict(users.get(user) or {})
    if password is not None:
        entry = {k: v for k, v in entry.items() if k not in ("scram", "md5")}
        entry["scram"] = str(make_verifier(password))
        if md5:
            entry["md5"] = md5_hash(user, password)
    if groups is not None:
        entry["groups"] = list(groups)
    if attributes is not None:
        entry["attributes"] = dict(attributes)
    users[user] = entry
    p.write_text(yaml.safe_dump(raw, sort_keys=True))
    p.chmod(0o600)


class Authenticator:
    """One connection's password exchange (see the module docstring)."""

    def __init__(self, method: str, users: dict[str, UserEntry], user: str, server_secret: bytes) -> None:
        if method not in METHODS:
            raise ValueError(f"unknown auth method {method!r}")
        self.method = method
        self.user = user
        self.entry = users.get(user)
        self._secret = server_secret
        self._scram: tuple[str, str, str, ScramVerifier] | None = None
        self._salt = b""

    @property
    def trusted(self) -> bool:
        return self.method == "trust"

    def _fail(self) -> InvalidPassword:
        return InvalidPassword(f'password authentication failed for user "{self.user}"')

    def start(self) -> bytes:
        if self.method == "password":
            return m.authentication_cleartext_password()
        if self.method == "md5":
            self._salt = secrets.token_bytes(4)
            return m.authentication_md5_password(self._salt)
        return m.authentication_sasl([_MECHANISM])

    def step(self, msg: m.PasswordMessage) -> tuple[bytes, bool]:
        """The next authentication message(s) to send, and whether the client is now authenticated."""
        if self.method == "password":
            password = m.parse_cleartext_password(msg)
            if self.entry is None or self.entry.scram is None or not self.entry.scram.check(password):
                raise self._fail()
            return b"", True
        if self.method == "md5":
            answer = m.parse_cleartext_password(msg)
            stored = self.entry.md5 if self.entry is not None else None
            expected = "md5" + hashlib.md5((stored or "md5-none")[3:].encode() + self._salt).hexdigest()
            if stored is None or not hmac.compare_digest(answer, expected):
                raise self._fail()
            return b"", True
        return self._scram_step(msg)

    def _verifier(self) -> ScramVerifier:
        if self.entry is not None and self.entry.scram is not None:
            return self.entry.scram
        # unknown user: a stable fake verifier, so the exchange looks the same and then fails
        salt = hmac.new(self._secret, self.user.encode(), "sha256").digest()[:16]
        return ScramVerifier(_ITERATIONS, salt, secrets.token_bytes(32), secrets.token_bytes(32))

    def _scram_step(self, msg: m.PasswordMessage) -> tuple[bytes, bool]:
        # The exchange itself is RFC 5802/7677 by hand: scramp's server refuses the empty ``n=`` user name
        # that every Postgres client sends (the user comes from the startup packet). scramp still makes the
        # verifiers and does SASLprep.
        try:
            if self._scram is None:
                mechanism, response = m.parse_sasl_initial_response(msg)
                if mechanism != _MECHANISM or response is None:
                    raise SqlError(
                        "SASL authentication failed: unsupported mechanism", sqlstate="28000", severity="FATAL"
                    )
                text = response.decode()
                if not text.startswith(("n,", "y,")):
                    raise self._fail()  # channel binding (p=...) is not offered
                bare = text.split(",", 2)[2]
                attrs = dict(a.split("=", 1) for a in bare.split(",") if "=" in a)
                nonce = attrs["r"] + base64.b64encode(secrets.token_bytes(18)).decode()
                v = self._verifier()
                server_first = f"r={nonce},s={base64.b64encode(v.salt).decode()},i={v.iterations}"
                self._scram = (bare, server_first, nonce, v)
                return m.authentication_sasl_continue(server_first.encode()), False
            bare, server_first, nonce, v = self._scram
            final = msg.data.decode()
            without_proof, _, proof = final.rpartition(",p=")
            attrs = dict(a.split("=", 1) for a in without_proof.split(",") if "=" in a)
            if attrs.get("r") != nonce:
                raise self._fail()
            auth_message = f"{bare},{server_first},{without_proof}".encode()
            signature = hmac.new(v.stored_key, auth_message, "sha256").digest()
            client_key = bytes(a ^ b for a, b in zip(base64.b64decode(proof), signature, strict=True))
            if self.entry is None or self.entry.scram is None:
                raise self._fail()
            if not hmac.compare_digest(hashlib.sha256(client_key).digest(), v.stored_key):
                raise self._fail()
            server_signature = hmac.new(v.server_key, auth_message, "sha256").digest()
            return m.authentication_sasl_final(b"v=" + base64.b64encode(server_signature)), True
        except (ValueError, KeyError, UnicodeDecodeError, m.ProtocolViolation):
            raise self._fail() from None
