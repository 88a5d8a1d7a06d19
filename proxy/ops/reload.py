"""Hot reload: a lens whose files changed (polled) or every lens on SIGHUP is re-validated and, when valid,
swapped in whole.

The swap is one assignment on the event loop (``ServerContext.lenses[name] = new``) plus a new catalog
built over the new lenses: a session reads its lens from the context at each client message, so a
statement already running finishes on the version it started with (its engine SQL is made) and the next
message sees the new one; the connection stays. With the swap go the caches keyed by that lens: the
rewrite cache's entries, the per-identity access and catalog views (``access_cache``, ``view_cache``),
and whatever else registered in ``listeners`` (a result cache).

A lens that does not validate keeps the previous version serving: every issue is logged with its file,
line and YAML path, the lens is marked failing (``/readyz``, ``lens_proxy_lens_reload_failing``), and the
same broken files are not re-validated until they change again. A lens's name (its database name) cannot
change by reload. Backends and ``lens-proxy.yaml`` itself are read at start only.

Files watched per lens: its source (a file, or the ``*.yml``/``*.yaml`` of its directory) and every file
its model came from (``include:``), with the directories those live in; a change is their (path, mtime,
size) set changing, confirmed once after a short pause so a file caught half-written is not reported.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rewriter.lens import Lens
from rewriter.load import validate_lens

log = logging.getLogger("lens_proxy.reload")
SETTLE_SECONDS = 0.2
Stamp = tuple[tuple[str, int, int], ...]


def model_files(lens: Lens) -> set[Path]:
    """Every file the lens's model was read from (entity, member, relationship, policy locations)."""
    files: set[Path] = set()

    def add(location: Any) -> None:
        if location is not None and location.file:
            files.add(Path(location.file))

    for group in lens.user_groups:
        add(group.location)
    for policy in lens.policies:
        add(policy.location)
    for entity in lens.entities:
        add(entity.location)
        for thing in (*entity.members, *entity.relationships, *entity.temporals, *entity.policies, *entity.segments):
            add(getattr(thing, "location", None))
    return files


def watched_files(source: Path, lens: Lens | None) -> list[Path]:
    """The lens's source files and its model's files, with the other YAML files of their directories."""
    files = set(model_files(lens)) if lens is not None else set()
    directories = {source} if source.is_dir() else {source.parent}
    if not source.is_dir():
        files.add(source)
    directories |= {f.parent for f in files}
    for directory in directories:
        try:
            files |= {p for p in directory.iterdir() if p.suffix in (".yml", ".yaml") and p.is_file()}
        except OSError:
            pass
    return sorted(files)


def stamp(files: list[Path]) -> Stamp:
    out = []
    for path in files:
        try:
            st = path.stat()
            out.append((str(path), st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((str(path), -1, -1))
    return tuple(out)


def digest(files: list[Path]) -> str:
    """A short hash of the files' contents: the lens version (``/readyz``, the dictionary)."""
    h = hashlib.sha256()
    for path in files:
        h.update(str(path).encode() + b"\0")
        try:
            h.update(path.read_bytes())
        except OSError:
            h.update(b"\0missing")
    return h.hexdigest()[:12]


class Reloader:
    def __init__(self, context: Any, *, metrics: Any = None) -> None:
        self.context = context  # proxy.session.ServerContext
        self.metrics = metrics
        self.listeners: list[Callable[[str, Lens, Lens], None]] = []  # (name, old, new) after each swap
        self._sources: dict[str, Path] = {}
        self._stamps: dict[str, Stamp] = {}
        self._status: dict[str, dict[str, Any]] = {}
        self._lock = asyncio.Lock()
        for name, lens in context.lenses.items():
            if lens.source:
                source = Path(lens.source)
                self._sources[name] = source
                files = watched_files(source, lens)
                self._stamps[name] = stamp(files)
                self._loaded(name, digest(files))

    def status(self) -> dict[str, dict[str, Any]]:
        return {name: dict(info) for name, info in self._status.items()}

    def _loaded(self, name: str, version: str) -> None:
        self._status[name] = {"version": version, "loaded_at": _now(), "source": str(self._sources[name]),
                              "reload_failing": False}
        if self.metrics is not None:
            self.metrics.lens_loaded.labels(name).set(time.time())
            self.metrics.reload_failing.labels(name).set(0)

    # -- triggers ------------------------------------------------------------------------------------------

    async def poll(self, interval: float) -> None:
        """Check every lens's files every ``interval`` seconds, forever."""
        while True:
            await asyncio.sleep(interval)
            await self.reload_all()

    async def reload_all(self, *, force: bool = False) -> dict[str, str]:
        outcomes = {}
        for name in list(self._sources):
            try:
                outcomes[name] = await self.reload(name, force=force)
            except Exception:  # one lens's trouble (a file system error) never stops the others or the poll
                log.exception("reloading lens %s failed", name)
                outcomes[name] = "failed"
        return outcomes

    async def reload(self, name: str, *, force: bool = False) -> str:
        """Re-validate lens ``name`` if its files changed (or ``force``); swap it in when valid. Returns what
        happened: ``unchanged``, ``swapped``, ``invalid``, ``renamed``, ``busy`` (a file still changing)."""
        async with self._lock:
            source = self._sources[name]
            current = self.context.lenses.get(name)
            files = await asyncio.to_thread(watched_files, source, current)
            now = await asyncio.to_thread(stamp, files)
            if now == self._stamps.get(name) and not force:
                return "unchanged"
            if not force:  # a file caught while it is written: wait for the next poll
                await asyncio.sleep(SETTLE_SECONDS)
                if await asyncio.to_thread(stamp, files) != now:
                    return "busy"
            self._stamps[name] = now
            lens, issues = await asyncio.to_thread(validate_lens, source)
            if issues or lens is None:
                return self._invalid(name, [str(i) for i in issues] or ["the lens did not load"])
            if lens.name != name:
                return self._invalid(name, [f"{source}: the lens is now named {lens.name!r}: a reload cannot rename "
                                            f"a served lens (its database); restart to serve it under the new name"],
                                     outcome="renamed")
            new_files = await asyncio.to_thread(watched_files, source, lens)
            self._stamps[name] = await asyncio.to_thread(stamp, new_files)
            version = await asyncio.to_thread(digest, new_files)
            if version == self._status[name]["version"]:  # back to what serves (a broken edit undone)
                if self._status[name]["reload_failing"]:
                    self._status[name]["reload_failing"] = False
                    self._status[name].pop("issues", None)
                    if self.metrics is not None:
                        self.metrics.reload_failing.labels(name).set(0)
                    log.info("lens %s: its files are valid again and match the version serving", name,
                             extra={"event": "lens_valid_again", "lens": name, "version": version})
                return "unchanged"
            self.swap(name, lens)
            self._loaded(name, version)
            entities = len(lens.entities)
            members = sum(len(e.members) for e in lens.entities)
            log.info("lens %s reloaded: version %s, %d entities, %d members", name, version, entities, members,
                     extra={"event": "lens_reloaded", "lens": name, "version": version, "source": str(source)})
            if self.metrics is not None:
                self.metrics.reloads.labels(name, "swapped").inc()
            return "swapped"

    def _invalid(self, name: str, issues: list[str], *, outcome: str = "invalid") -> str:
        for issue in issues:
            log.error("lens %s: %s", name, issue, extra={"event": "lens_issue", "lens": name})
        log.error("lens %s not reloaded: %d issue(s); the version loaded at %s keeps serving", name, len(issues),
                  self._status[name]["loaded_at"],
                  extra={"event": "lens_reload_failed", "lens": name, "issues": len(issues)})
        self._status[name].update(reload_failing=True, issues=issues[:50], failed_at=_now())
        if self.metrics is not None:
            self.metrics.reloads.labels(name, outcome).inc()
            self.metrics.reload_failing.labels(name).set(1)
        return outcome

    # -- the swap --------------------------------------------------------------------------------------------

    def swap(self, name: str, new: Lens) -> None:
        """Serve ``new`` as lens ``name`` from the next client message on (runs on the event loop: atomic for
        every session), with a catalog over the new lenses and every cache keyed by the lens dropped."""
        from proxy.catalog import Catalog
        from rewriter.cache import REWRITE_CACHE

        context = self.context
        old = context.lenses[name]
        previous = context.catalog
        catalog = Catalog(context.lenses, backend=context.backends)
        # entity column types of the lenses that did not change are still right: keep them (described lazily
        # by LIMIT 0 queries, which cost seconds on a remote engine)
        described = getattr(previous, "_described", None)
        if isinstance(described, dict) and isinstance(getattr(catalog, "_described", None), dict):
            catalog._described.update({k: v for k, v in described.items() if k[0] != name})
        context.lenses[name] = new
        context.catalog = catalog
        for cache in (context.access_cache, context.view_cache):
            for key in [k for k in cache if k[0] == name]:
                del cache[key]
        # the rewrite cache, and any other cache the context holds that can drop entries by key (plans,
        # results: ``discard(predicate)``), lose every entry whose key names the lens
        caches = [REWRITE_CACHE] + [v for v in vars(context).values()
                                    if callable(getattr(v, "discard", None)) and not isinstance(v, set | frozenset)]
        for cache in caches:
            cache.discard(lambda key: isinstance(key, tuple) and name in key)
        # compiled plans (keyed by statement shape) and kept results (by engine SQL) do not name the lens in
        # their keys: cleared whole, which a reload can afford
        for cache in (getattr(context, "plans", None), getattr(context, "results", None)):
            if cache is not None:
                cache.clear()
        for listener in self.listeners:
            listener(name, old, new)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
