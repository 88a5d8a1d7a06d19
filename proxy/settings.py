"""Session settings (GUCs) a client can SET, RESET and SHOW, with Postgres's names and defaults.

These live in the proxy, never in the engine: ``SET threads = 1`` must not reach DuckDB. Settings marked
``report`` are sent to the client as ParameterStatus at startup and whenever they change, as Postgres does.

Startup parameters (the startup packet's own, and ``options=-c name=value``) go through the same checks as
``SET`` (:meth:`SessionSettings.from_startup`), and a bad one refuses the connection with FATAL, as
PostgreSQL does: ``statement_timeout=abc`` is 22023 at connect time, not an error on every later query. A
parameter PostgreSQL has but lens-proxy does not model (``work_mem``) is accepted and ignored there, as the
server would accept it (``postgres_settings.txt``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from proxy.errors import InsufficientPrivilege, InvalidParameterValue, SqlError, UndefinedObject

SERVER_VERSION = "16.4"
SERVER_VERSION_NUM = "160004"


@dataclass(frozen=True, slots=True)
class Setting:
    name: str  # canonical spelling, as SHOW ALL prints it
    default: str
    description: str
    report: bool = False
    fixed: bool = False  # only its default (or a synonym of it) is accepted
    internal: bool = False  # PostgreSQL's PGC_INTERNAL: never settable (55P02)


SETTINGS: tuple[Setting, ...] = (
    Setting("application_name", "", "Sets the application name to be reported.", report=True),
    Setting("bytea_output", "hex", "Sets the output format for bytea.", fixed=True),
    Setting("client_encoding", "UTF8", "Sets the client's character set encoding.", report=True, fixed=True),
    Setting("client_min_messages", "notice", "Sets the message levels that are sent to the client."),
    Setting("DateStyle", "ISO, MDY", "Sets the display format for date and time values.", report=True),
    Setting("default_transaction_isolation", "read committed", "Sets the default isolation level."),
    Setting("default_transaction_read_only", "on", "Lens data is read-only.", fixed=True),
    Setting("extra_float_digits", "1", "Sets the number of digits displayed for floating-point values."),
    Setting("idle_in_transaction_session_timeout", "0", "Sets the maximum idle time in a transaction."),
    Setting("integer_datetimes", "on", "Shows whether datetimes are integer based.", report=True, fixed=True, internal=True),
    Setting("IntervalStyle", "postgres", "Sets the display format for interval values.", report=True, fixed=True),
    Setting("is_superuser", "off", "Shows whether the current user is a superuser.", report=True, fixed=True, internal=True),
    Setting("jit", "off", "Allow JIT compilation."),
    Setting("lc_messages", "C", "Sets the language in which messages are displayed."),
    Setting("lc_monetary", "C", "Sets the locale for formatting monetary amounts."),
    Setting("lc_numeric", "C", "Sets the locale for formatting numbers."),
    Setting("lc_time", "C", "Sets the locale for formatting date and time values."),
    Setting("lock_timeout", "0", "Sets the maximum allowed duration of any wait for a lock."),
    Setting("max_identifier_length", "63", "Shows the maximum identifier length.", fixed=True, internal=True),
    Setting("search_path", '"$user", public', "Sets the schema search order for names that are not schema-qualified."),
    Setting("server_encoding", "UTF8", "Shows the server (database) character set encoding.", report=True, fixed=True, internal=True),
    Setting("server_version", SERVER_VERSION, "Shows the server version.", report=True, fixed=True, internal=True),
    Setting("server_version_num", SERVER_VERSION_NUM, "Shows the server version as an integer.", fixed=True, internal=True),
    Setting("standard_conforming_strings", "on", "Causes '...' strings to treat backslashes literally.", report=True, fixed=True),
    Setting("statement_timeout", "0", "Sets the maximum allowed duration of any statement."),
    Setting("TimeZone", "UTC", "Sets the time zone for displaying and interpreting time stamps.", report=True),
    Setting("transaction_isolation", "read committed", "Sets the current transaction's isolation level."),
    Setting("transaction_read_only", "on", "Lens data is read-only.", fixed=True),
    Setting("in_hot_standby", "off", "Shows whether hot standby is currently active.", report=True, fixed=True, internal=True),
    Setting("session_authorization", "", "Sets the session user name.", report=True, fixed=True),
    Setting("role", "none", "Sets the current role (a group of the session user; lens policies follow it)."),
)
_BY_NAME = {s.name.lower(): s for s in SETTINGS}
_SYNONYMS = {"client_encoding": {"utf8", "utf-8", "unicode"}, "default_transaction_read_only": {"on", "true", "1"},
             "transaction_read_only": {"on", "true", "1"}, "standard_conforming_strings": {"on", "true", "1"},
             "bytea_output": {"hex"}, "intervalstyle": {"postgres"}}


# Startup packet keys that are not settings.
_STARTUP_KEYS = frozenset({"user", "database", "options", "replication"})


def lookup(name: str) -> Setting | None:
    return _BY_NAME.get(name.lower())


@functools.cache
def postgres_setting_names() -> frozenset[str]:
    """Every configuration parameter name PostgreSQL 15 knows (lower case)."""
    text = Path(__file__).with_name("postgres_settings.txt").read_text()
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def parse_options(options: str) -> list[tuple[str, str]]:
    """The ``-c name=value`` / ``--name=value`` switches of the startup ``options`` parameter, as the
    server reads them (backslash escapes a space; dashes in names are underscores)."""
    words, current, escaped, started = [], [], False, False
    for ch in options:
        if escaped:
            current.append(ch)
            escaped, started = False, True
        elif ch == "\\":
            escaped = True
        elif ch.isspace():
            if started:
                words.append("".join(current))
            current, started = [], False
        else:
            current.append(ch)
            started = True
    if started:
        words.append("".join(current))
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word == "-c" and i + 1 < len(words):
            assignment, i = words[i + 1], i + 2
        elif word.startswith("-c") and len(word) > 2:
            assignment, i = word[2:], i + 1
        elif word.startswith("--") and len(word) > 2:
            assignment, i = word[2:], i + 1
        else:
            raise SqlError(f"invalid command-line argument for server process: {word}", sqlstate="42601",
                           severity="FATAL", hint='Try "postgres --help" for more information.')
        name, eq, value = assignment.partition("=")
        if not eq:
            raise SqlError(f"{word} requires a value" if word.startswith("--") else f'-c {name} requires a value',
                           sqlstate="42601", severity="FATAL")
        out.append((name.replace("-", "_"), value))
    return out


class SessionSettings:
    """One session's settings: defaults, startup options, then SETs (RESET goes back to the session default)."""

    def __init__(self, *, engine_settings: frozenset[str] = frozenset()):
        self._engine_settings = engine_settings
        self._session_defaults = {s.name.lower(): s.default for s in SETTINGS}
        self._values = dict(self._session_defaults)

    @classmethod
    def from_startup(cls, params: dict[str, str], *, engine_settings: frozenset[str] = frozenset()) -> SessionSettings:
        """Settings from a startup packet: each parameter (then each of ``options``) applied as ``SET`` would
        apply it, becoming the session default; the first bad one raises a FATAL SqlError."""
        settings = cls(engine_settings=engine_settings)
        pairs = [(k, v) for k, v in params.items() if k not in _STARTUP_KEYS and not k.startswith("_pq_.")]
        pairs += parse_options(params.get("options", ""))
        for name, value in pairs:
            key = name.lower()
            if lookup(key) is None and not key.startswith("lens.") and key in postgres_setting_names():
                continue  # PostgreSQL would take it; lens-proxy has nothing it changes
            try:
                settings.set(name, value)
            except SqlError as err:
                err.severity = "FATAL"
                raise
        settings._session_defaults.update(settings._values)
        return settings

    def get(self, name: str) -> str:
        key = name.lower()
        if key in self._values:
            return self._values[key]
        raise UndefinedObject(f'unrecognized configuration parameter "{name}"')

    def set(self, name: str, value: str) -> Setting | None:
        """Apply ``SET name = value``; returns the setting if clients must be told (ParameterStatus)."""
        key = name.lower()
        if key.startswith("lens."):
            if key in LENS_SWITCHES:  # the proxy's own per-session switches: booleans, as PostgreSQL's are
                value = _boolean(key, value)
            self._values[key] = value
            return None
        setting = lookup(key)
        if setting is not None and setting.internal:
            if value == self._values.get(key) or value.lower() in _SYNONYMS.get(key, ()):
                return None  # drivers echo a reported value back (asyncpg: server_version); nothing changes
            raise SqlError(f'parameter "{setting.name}" cannot be changed', sqlstate="55P02")
        if setting is None:
            if key in self._engine_settings:
                raise InsufficientPrivilege(
                    f'permission denied to set parameter "{name}"',
                    hint="engine settings are managed by the lens-proxy operator, not by clients",
                )
            raise UndefinedObject(f'unrecognized configuration parameter "{name}"')
        if setting.fixed and _normalized(key, value) not in _SYNONYMS.get(key, {setting.default.lower()}):
            raise InvalidParameterValue(
                f'invalid value for parameter "{setting.name}": "{value}"',
                hint=f"lens-proxy supports only {setting.default}",
            )
        if key == "timezone":
            value = _check_timezone(value)
        elif key in ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout"):
            value = str(parse_duration_ms(value, setting.name))
        elif key == "extra_float_digits":
            try:
                digits = int(value)
            except ValueError:
                raise InvalidParameterValue(f'invalid value for parameter "extra_float_digits": "{value}"') from None
            if not -15 <= digits <= 3:
                raise InvalidParameterValue(f"{digits} is outside the valid range for parameter \"extra_float_digits\" (-15 .. 3)")
        if setting.fixed:
            value = setting.default
        self._values[key] = value
        return setting if setting.report else None

    def reset(self, name: str) -> Setting | None:
        key = name.lower()
        if key == "all":
            changed = [lookup(k) for k, v in self._values.items() if self._session_defaults.get(k) != v]
            self._values = dict(self._session_defaults)
            return next((s for s in changed if s is not None and s.report), None)
        if key not in self._values and lookup(key) is None:
            raise UndefinedObject(f'unrecognized configuration parameter "{name}"')
        self._values[key] = self._session_defaults.get(key, "")
        setting = lookup(key)
        return setting if setting is not None and setting.report else None

    def set_session_default(self, name: str, value: str) -> None:
        """A value fixed by the server for this session (RESET returns to it), e.g. session_authorization."""
        self._session_defaults[name.lower()] = value
        self._values[name.lower()] = value

    def lens_params(self) -> dict[str, str]:
        """``SET lens.month = 3`` values, for the lens's ``{{month:default}}`` snippet parameters."""
        return {k[len("lens."):]: v for k, v in self._values.items()
                if k.startswith("lens.") and v != "" and k not in LENS_SWITCHES}

    def switch(self, key: str, default: bool = True) -> bool:
        """A ``lens.*`` switch's value (``SET lens.result_cache = off``)."""
        value = self._values.get(key)
        return default if value is None or value == "" else value == "on"

    def reported(self) -> list[tuple[str, str]]:
        return [(s.name, self._values[s.name.lower()]) for s in SETTINGS if s.report]

    def show_all(self) -> list[tuple[str, str, str]]:
        return [(s.name, self._values[s.name.lower()], s.description) for s in SETTINGS]

    @property
    def timezone(self) -> str:
        return self._values["timezone"]

    @property
    def statement_timeout_ms(self) -> int:
        return int(self._values["statement_timeout"] or 0)

    @property
    def idle_in_transaction_timeout_ms(self) -> int:
        return int(self._values["idle_in_transaction_session_timeout"] or 0)


def _normalized(key: str, value: str) -> str:
    """Encoding names compare as PostgreSQL compares them: case and punctuation ignored ('utf-8' is UTF8)."""
    if key in ("client_encoding", "server_encoding"):
        return "".join(ch for ch in value.lower() if ch.isalnum())
    return value.lower()


def parse_duration_ms(value: str, name: str) -> int:
    """Postgres duration syntax for timeouts: ``5000``, ``'5s'``, ``'2min'``, ``'100ms'``."""
    text = value.strip().lower().replace(" ", "")
    units = (("ms", 1), ("min", 60_000), ("s", 1000), ("h", 3_600_000), ("d", 86_400_000))
    for suffix, factor in units:
        if text.endswith(suffix) and text[: -len(suffix)].replace(".", "", 1).isdigit():
            return int(float(text[: -len(suffix)]) * factor)
    if text.isdigit():
        return int(text)
    raise InvalidParameterValue(f'invalid value for parameter "{name}": "{value}"', hint='valid units are "ms", "s", "min", "h", and "d"')


def _check_timezone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if value.upper() in ("UTC", "GMT", "Z"):
        return "UTC" if value.upper() != "GMT" else "GMT"
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidParameterValue(f'invalid value for parameter "TimeZone": "{value}"') from None
    return value


# ``SET lens.x`` names that are switches of the proxy, not lens snippet parameters
LENS_SWITCHES = frozenset({"lens.result_cache"})
_TRUE = frozenset({"on", "true", "yes", "1", "t", "y"})
_FALSE = frozenset({"off", "false", "no", "0", "f", "n"})


def _boolean(key: str, value: str) -> str:
    lowered = value.strip().strip("'").lower()
    if lowered in _TRUE:
        return "on"
    if lowered in _FALSE:
        return "off"
    if lowered in ("", "default"):
        return ""
    raise InvalidParameterValue(f'parameter "{key}" requires a Boolean value')
