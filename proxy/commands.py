"""Session commands that never reach the engine: SET/RESET/SHOW, transaction control (BEGIN, COMMIT,
ROLLBACK, SAVEPOINT, ROLLBACK TO, RELEASE), DISCARD and DEALLOCATE.

A mixin of ``proxy.session.Session``: it reads and changes the session's settings, transaction state,
statements and portals, and writes backend messages to ``self.out``.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from proxy.errors import FeatureNotSupported, InsufficientPrivilege, SqlError
from proxy.portals import _Transaction
from proxy.router import Kind, Statement
from proxy.wire import messages as m
from proxy.wire import types as pgtypes
from proxy.wire.encode import encode_rows_text


class SessionCommands:
    """SET/SHOW/RESET and transaction commands of a ``Session``."""

    def _end_transaction(self) -> None:
        for name, value in self.tx.local_saved.items():
            changed = self.settings.set(name, value)
            if changed is not None:
                self.out.write(m.parameter_status(changed.name, self.settings.get(changed.name)))
        self.tx = _Transaction()
        for name, portal in list(self.portals.items()):
            if not portal.holdable:
                self._drop_portal(name)


    def _run_command(self, statement: Statement, describe: bool) -> None:
        kind = statement.kind
        words = [w for w in statement.words]
        upper = [w.upper() for w in words]
        if kind is Kind.SET:
            self._set(words, upper)
            self.out.write(m.command_complete("SET"))
        elif kind is Kind.RESET:
            if len(words) < 2:
                raise SqlError("syntax error at end of input", sqlstate="42601")
            name = "TimeZone" if upper[1:3] == ["TIME", "ZONE"] else "".join(words[1:])
            changed = self.settings.reset(name)
            if changed is not None:
                for n, v in self.settings.reported():
                    self.out.write(m.parameter_status(n, v))
            self.out.write(m.command_complete("RESET"))
        elif kind is Kind.SHOW:
            self._show(words, upper, describe)
        elif kind is Kind.BEGIN:
            if self.tx.status != b"I":
                self._notice("25001", "there is already a transaction in progress")
            else:
                self.tx.status = b"T"
            self.out.write(m.command_complete("START TRANSACTION" if upper[0] == "START" else "BEGIN"))
        elif kind is Kind.ROLLBACK and "TO" in upper:
            self._rollback_to(words[-1])
        elif kind in (Kind.COMMIT, Kind.ROLLBACK):
            failed = self.tx.status == b"E"
            if self.tx.status == b"I":
                self._notice("25P01", "there is no transaction in progress")
            self._end_transaction()
            tag = "ROLLBACK" if kind is Kind.ROLLBACK or failed else "COMMIT"
            self.out.write(m.command_complete(tag))
        elif kind is Kind.SAVEPOINT:
            if self.tx.status == b"I":
                raise SqlError("SAVEPOINT can only be used in transaction blocks", sqlstate="25P01")
            self.tx.savepoints.append(words[-1])
            self.out.write(m.command_complete("SAVEPOINT"))
        elif kind is Kind.RELEASE:
            if self.tx.status == b"I":
                raise SqlError("RELEASE SAVEPOINT can only be used in transaction blocks", sqlstate="25P01")
            name = words[-1]
            if name not in self.tx.savepoints:
                raise SqlError(f'savepoint "{name}" does not exist', sqlstate="3B001")
            del self.tx.savepoints[len(self.tx.savepoints) - 1 - self.tx.savepoints[::-1].index(name) :]
            self.out.write(m.command_complete("RELEASE"))
        elif kind is Kind.DISCARD:
            for name in list(self.portals):
                self._drop_portal(name)
            self.statements.clear()
            changed = self.settings.reset("all")
            if changed is not None:
                for n, v in self.settings.reported():
                    self.out.write(m.parameter_status(n, v))
            self.out.write(m.command_complete("DISCARD ALL" if upper[1:2] == ["ALL"] else f"DISCARD {' '.join(upper[1:])}"))
        elif kind is Kind.DEALLOCATE:
            name = words[-1]
            if name.upper() == "ALL":
                self.statements.clear()
            elif self.statements.pop(name, None) is None:
                raise SqlError(f'prepared statement "{name}" does not exist', sqlstate="26000")
            self.out.write(m.command_complete("DEALLOCATE ALL" if name.upper() == "ALL" else "DEALLOCATE"))
        else:  # pragma: no cover - Kind is exhaustive above
            raise FeatureNotSupported(f"{kind.value} is not supported")


    def _rollback_to(self, name: str) -> None:
        if self.tx.status == b"I":
            raise SqlError("ROLLBACK TO SAVEPOINT can only be used in transaction blocks", sqlstate="25P01")
        if name not in self.tx.savepoints:
            raise SqlError(f'savepoint "{name}" does not exist', sqlstate="3B001")
        del self.tx.savepoints[len(self.tx.savepoints) - self.tx.savepoints[::-1].index(name) :]
        self.tx.status = b"T"  # the failed state ends at the savepoint
        self.out.write(m.command_complete("ROLLBACK"))


    def _apply_setting(self, name: str, value: str | None, *, local: bool = False) -> None:
        """SET / SET LOCAL / set_config(); ``value`` None means back to the default."""
        if name.lower() == "role" and value is not None:
            value = self._check_role(value)
        if local:
            if self.tx.status == b"I":
                self._notice("25P01", "SET LOCAL can only be used in transaction blocks")
                return
            key = name.lower()
            if key not in self.tx.local_saved:
                self.tx.local_saved[key] = self.settings.get(name)
        changed = self.settings.reset(name) if value is None else self.settings.set(name, value)
        if changed is not None:
            self.out.write(m.parameter_status(changed.name, self.settings.get(changed.name)))


    def _set(self, words: list[str], upper: list[str]) -> None:
        if len(upper) > 1 and upper[1] in ("GLOBAL", "VARIABLE", "PERSISTENT"):  # DuckDB-only forms
            raise InsufficientPrivilege(
                f"permission denied: SET {words[1]} is not available",
                hint="engine settings are managed by the lens-proxy operator, not by clients",
            )
        i = 1
        local = False
        if i < len(upper) and upper[i] in ("SESSION", "LOCAL"):
            local = upper[i] == "LOCAL"
            i += 1
        if upper[i : i + 2] == ["TIME", "ZONE"]:
            name, rest = "TimeZone", words[i + 2 :]
        elif i < len(words):
            name, rest = words[i], words[i + 1 :]
            if rest and rest[0].upper() in ("TO", "="):
                rest = rest[1:]
            while rest and rest[0] == "." and len(rest) > 1:  # SET lens.param = ... tokenizes as lens . param
                name, rest = f"{name}.{rest[1]}", rest[2:]
                if rest and rest[0].upper() in ("TO", "="):
                    rest = rest[1:]
        else:
            raise SqlError("syntax error at end of input", sqlstate="42601")
        if upper[:2] == ["SET", "SESSION"] and name.upper() == "CHARACTERISTICS":
            return
        if name.upper() == "TRANSACTION" or name.upper() == "SESSION_AUTHORIZATION" and not rest:
            return
        if not rest:
            raise SqlError("syntax error at end of input", sqlstate="42601")
        groups: list[list[str]] = [[]]
        for w in rest:  # `a, b` is a list; `- 10` (a signed number) is one value
            if w == ",":
                groups.append([])
            else:
                groups[-1].append(w)
        value = ", ".join("".join(g) for g in groups)
        if value.upper() in ("DEFAULT", "LOCAL") and len(rest) == 1:
            self._apply_setting(name, None, local=local)
        else:
            self._apply_setting(name, value, local=local)


    def _show(self, words: list[str], upper: list[str], describe: bool) -> None:
        if len(words) < 2:
            raise SqlError("syntax error at end of input", sqlstate="42601")
        if upper[1] == "ALL":
            rows = [list(r) for r in self.settings.show_all()]
            self._send_rows(["name", "setting", "description"], rows, "SHOW", describe)
            return
        name = "TimeZone" if upper[1:3] == ["TIME", "ZONE"] else "".join(words[1:])
        if upper[1:] == ["TRANSACTION", "ISOLATION", "LEVEL"]:
            name = "transaction_isolation"
        value = self.settings.get(name)
        self._send_rows([name.lower()], [[value]], "SHOW", describe)


    def _send_rows(self, names: list[str], rows: list[list[Any]], tag: str, describe: bool) -> None:
        if describe:
            self.out.write(m.row_description([pgtypes.field_description(n, pa.string()) for n in names]))
        self.out.write(encode_rows_text(rows))
        self.out.write(m.command_complete(tag if tag != "SELECT" else f"SELECT {len(rows)}"))


    def _notice(self, sqlstate: str, message: str) -> None:
        self.out.write(m.notice_response(m.error_fields("WARNING", sqlstate, message)))

    # -- extended query -------------------------------------------------------------------------------
