"""Cursors and COPY out: DECLARE/FETCH/MOVE/CLOSE and ``COPY (SELECT …) TO STDOUT``.

A mixin of ``proxy.session.Session``: a cursor is a named portal (as in Postgres), streaming from its own
engine cursor, so other queries of the session can run while it is open.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from proxy.backends.base import next_batch
from proxy.errors import FeatureNotSupported, SqlError
from proxy.portals import Portal, PreparedStatement, row_description
from proxy.router import Kind, Statement
from proxy.wire import messages as m
from proxy.wire.copy import copy_header, encode_copy_batch, parse_copy_options


class CursorCommands:
    """DECLARE, FETCH, MOVE, CLOSE and COPY TO STDOUT of a ``Session``."""

    async def _declare(self, statement: Statement, params: list[Any]) -> None:
        words = statement.words
        upper = [w.upper() for w in words]
        name = words[1]
        head = upper[: upper.index("FOR")]
        holdable = "WITH" in head and "HOLD" in head
        if "SCROLL" in head and "NO" not in head:
            raise FeatureNotSupported("scrollable cursors are not supported", hint="declare it NO SCROLL")
        if self.tx.status == b"I" and not holdable:
            raise SqlError("DECLARE CURSOR can only be used in transaction blocks", sqlstate="25P01")
        if name in self.portals:
            raise SqlError(f'cursor "{name}" already exists', sqlstate="42P03")
        formats = (1,) if "BINARY" in head else ()
        query = dataclasses.replace(statement, kind=Kind.QUERY)
        portal = Portal(name, PreparedStatement(name, query, []), params, formats, holdable=holdable, declared=True)
        try:
            await self._open(portal)
        except BaseException:
            if portal.cursor is not None:
                portal.cursor.close()
            raise
        self.portals[name] = portal
        self.out.write(m.command_complete("DECLARE CURSOR"))


    def _cursor_portal(self, name: str) -> Portal:
        portal = self.portals.get(name)
        if portal is None:
            raise SqlError(f'cursor "{name}" does not exist', sqlstate="34000")
        return portal


    async def _fetch(self, statement: Statement, describe: bool, formats: tuple[int, ...]) -> None:
        count, name = fetch_args(statement.words)
        portal = self._cursor_portal(name)
        if portal.reader is None:
            await self._open(portal)
        move = statement.kind is Kind.MOVE
        formats = formats or portal.result_formats
        if describe and not move:
            self.out.write(row_description(portal.schema, formats))
        sent = 0
        if not portal.done:
            sent, _ = await self._stream(portal, count, formats, send=not move)
        self.out.write(m.command_complete(f"{'MOVE' if move else 'FETCH'} {sent}"))


    def _close_cursor(self, statement: Statement) -> None:
        name = statement.words[-1]
        if len(statement.words) == 2 and name.upper() == "ALL":
            for n in list(self.portals):
                self._drop_portal(n)
            self.out.write(m.command_complete("CLOSE CURSOR ALL"))
            return
        self._cursor_portal(name)
        self._drop_portal(name)
        self.out.write(m.command_complete("CLOSE CURSOR"))


    async def _copy_out(self, statement: Statement, params: list[Any]) -> None:
        words = list(statement.words)
        upper = [w.upper() for w in words]
        at = max(i for i, w in enumerate(upper) if w == "STDOUT")
        opts = parse_copy_options(words[at + 1 :])
        portal = Portal("", PreparedStatement("", dataclasses.replace(statement, kind=Kind.QUERY), []), params, ())
        await self._open(portal, first=False)
        assert portal.schema is not None and portal.reader is not None
        self.out.write(m.copy_out_response(0, [0] * len(portal.schema)))
        if opts.header:
            self.out.write(copy_header(portal.schema.names, opts))
        rows = 0
        timezone = self.settings.timezone
        while (batch := await self._guarded(next_batch, portal.reader)) is not None:
            if batch.num_rows:
                self.out.write(await self._blocking(encode_copy_batch, batch, opts, timezone))
                await self.out.drain()
                rows += batch.num_rows
        self.out.write(m.copy_done())
        self.out.write(m.command_complete(f"COPY {rows}"))

    # -- commands -------------------------------------------------------------------------------------


def fetch_args(words: tuple[str, ...]) -> tuple[int | None, str]:
    """``FETCH|MOVE [direction] [FROM|IN] name`` -> (row count, None for ALL; cursor name). Forward only."""
    if len(words) < 2:
        raise SqlError("syntax error at end of input", sqlstate="42601")
    name = words[-1]
    rest = [w.upper() for w in words[1:-1]]
    if rest and rest[-1] in ("FROM", "IN"):
        rest = rest[:-1]
    if rest in ([], ["NEXT"], ["FORWARD"]):
        return 1, name
    if rest in (["ALL"], ["FORWARD", "ALL"]):
        return None, name
    if len(rest) == 2 and rest[0] == "FORWARD" and rest[1].isdigit():
        return int(rest[1]), name
    if len(rest) == 1 and rest[0].isdigit():
        return int(rest[0]), name
    if len(rest) == 2 and rest[0] == "RELATIVE" and rest[1] in ("0", "1"):
        return int(rest[1]), name
    raise SqlError(
        "cursor can only scan forward", sqlstate="55000", hint="lens-proxy cursors support FETCH/MOVE forward only"
    )
