"""The server's own log: readable text lines by default, JSON lines with ``--log-format json``.

Events carry their facts as fields (``extra={"event": "connection_opened", "user": …}``): the text format
prints them after the message as ``key=value``, the JSON format as keys of one object per line, so a log
shipper never parses prose. Distinct from the audit log (``proxy.audit``: one line per statement, for
"who saw what"): this one is for whoever runs the server (connections, errors, slow queries, reloads).

Nothing secret is logged: passwords never reach a log call, and parameter values bound to a statement are
scrubbed from error messages that quote them (``redact``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Iterable
from typing import Any

FORMATS = ("text", "json")
REDACTED = "[redacted]"
# Attributes every LogRecord has: anything else on a record came from ``extra=`` and is an event field.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def event_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the event's fields, and the
    traceback as ``exception`` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(event_fields(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message key=value …`` (values with spaces quoted)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        text = super().formatMessage(record)
        fields = event_fields(record)
        fields.pop("event", None)
        if fields:
            text += " " + " ".join(f"{k}={_text_value(v)}" for k, v in fields.items() if v is not None)
        return text


def _text_value(value: Any) -> str:
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if (not text or any(c in text for c in ' "=\n\t')) else text


def setup_logging(level: str = "INFO", fmt: str = "text", stream: Any = None) -> None:
    """Configure the root logger once, for ``lens-proxy serve``."""
    if fmt not in FORMATS:
        raise ValueError(f"--log-format must be one of {', '.join(FORMATS)}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())


def redact(message: str, values: Iterable[object]) -> str:
    """``message`` with every bound parameter value it quotes replaced by ``[redacted]`` (short values only
    where quoted, so a parameter ``1`` does not blank every digit)."""
    for value in values:
        if value is None:
            continue
        text = value.decode("utf-8", "replace") if isinstance(value, bytes | bytearray | memoryview) else str(value)
        text = text.strip("\0")
        if not text:
            continue
        if len(text) >= 3:
            message = message.replace(text, REDACTED)
        else:
            for quote in ('"', "'"):
                message = message.replace(f"{quote}{text}{quote}", f"{quote}{REDACTED}{quote}")
    return message
