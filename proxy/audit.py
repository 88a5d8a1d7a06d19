"""The audit log: one JSON line per statement a client ran, for whoever must answer "who saw what".

Off by default (``lens-proxy serve --audit-log FILE``). Each line: time (UTC, ISO 8601), user, role (SET
ROLE, or null), lens, client address, application_name, statement kind and text, a hash of the SQL sent
to the engine (the rewritten query, not the text: the rewrite embeds the user's policy), rows sent,
duration in milliseconds, and the SQLSTATE (``00000`` on success). Parameter values are never written.

Writes are appended and flushed per line under a lock (sessions run on one event loop, but the log may
be shared by worker threads); a failing write logs a warning and never fails the client's statement.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger("lens_proxy.audit")


def sql_hash(sql: str | None) -> str | None:
    return hashlib.sha256(sql.encode()).hexdigest()[:16] if sql else None


class AuditLog:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._file = self.path.open("a", encoding="utf-8", buffering=1)

    def record(self, **fields: Any) -> None:
        entry = {"time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"), **fields}
        line = json.dumps(entry, default=str, ensure_ascii=False)
        try:
            with self._lock:
                self._file.write(line + "\n")
        except OSError as err:  # the log's disk is full or gone: warn, keep serving
            log.warning("audit log write failed: %s", err)

    def close(self) -> None:
        with self._lock:
            self._file.close()
