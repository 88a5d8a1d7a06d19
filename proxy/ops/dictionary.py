"""The data dictionary page (placeholder until the full page lands)."""

from __future__ import annotations

from typing import Any


class Dictionary:
    def __init__(self, context: Any, *, backends: Any = None) -> None:
        self.context = context

    def page(self, user: str) -> tuple[bytes, str]:
        return f"<!doctype html><title>lens-proxy</title><p>{len(self.context.lenses)} lenses".encode(), "default-src 'none'"
