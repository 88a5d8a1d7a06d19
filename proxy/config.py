"""``lens-proxy.yaml``: which backends exist, how to reach them, and which lens each one serves.

Validated like a lens: the file is read as YAML nodes (line numbers kept), every problem is collected and
reported as ``file:line path: message`` (unknown keys with a did-you-mean, missing or mistyped values,
unknown backend names, unset environment variables), and nothing is half-loaded. Secrets never live in the
file: any string may be ``${NAME}`` (or ``${NAME:-default}``), read from the environment at load time.

    server: {host: 127.0.0.1, port: 5433}
    # optional, for operations (proxy.ops): an HTTP side port with /metrics, /healthz, /readyz and the data
    # dictionary; the log's format; the slow-statement threshold; how often lens files are polled for edits
    #   server: {http_port: 9187, http_host: 0.0.0.0, log_format: json, log_min_duration_statement: 500,
    #            reload_interval: 2}
    backends:
      lakehouse:                      # embedded DuckDB over an Iceberg warehouse (and/or DuckDB files)
        type: duckdb
        iceberg: [{warehouse: data/warehouse, catalog: icebase}]
      warehouse:
        type: postgres
        dsn: postgresql://lens@db:5432/c360
        password: ${C360_PG_PASSWORD}
        tables: {icebase.audience: public}
      cluster:
        type: spark
        url: sc://spark:15002
    lenses:
      - {path: lenses/customer_360, backend: lakehouse}

Relative paths are relative to the configuration file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rewriter.load_checks import did_you_mean

BACKEND_TYPES = ("duckdb", "postgres", "spark")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} {self.path}: {self.message}" if self.path else f"{self.file}:{self.line}: {self.message}"


class ConfigError(Exception):
    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = tuple(issues)
        super().__init__("\n".join(str(i) for i in issues))


@dataclass(frozen=True, slots=True)
class DuckFile:
    path: Path
    catalog: str


@dataclass(frozen=True, slots=True)
class IcebergWarehouse:
    warehouse: Path
    catalog: str = "icebase"
    uri: str = ""  # the SQL catalog; default: sqlite catalog.db inside the warehouse


@dataclass(frozen=True, slots=True)
class BackendConfig:
    name: str
    type: str
    tables: Mapping[str, str] = field(default_factory=dict)  # lens table name (or prefix) -> backend name
    # duckdb
    duckdb_files: tuple[DuckFile, ...] = ()
    iceberg: tuple[IcebergWarehouse, ...] = ()
    threads: int | None = None
    memory_limit: str = ""  # DuckDB's memory_limit ("4GB"); default DuckDB's (80% of RAM)
    # postgres
    dsn: str = ""
    user: str = ""
    password: str = ""
    # spark
    url: str = ""
    token: str = ""
    conf: Mapping[str, str] = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True, slots=True)
class LensConfig:
    path: Path
    backend: str
    line: int = 0


@dataclass(frozen=True, slots=True)
class ProxyConfig:
    file: Path
    backends: Mapping[str, BackendConfig]
    lenses: tuple[LensConfig, ...]
    host: str = "127.0.0.1"
    port: int = 5433
    workers: int | None = None  # server processes sharing the port (None: the command line's, else cores)
    scheduler: Mapping[str, int] = field(default_factory=dict)  # proxy.scheduler.SchedulerConfig's fields
    result_cache: Mapping[str, int] = field(default_factory=dict)  # size_mb, max_entry_mb, live_ttl_s
    ops: OpsConfig = field(default_factory=lambda: OpsConfig())


LOG_FORMATS = ("text", "json")


@dataclass(frozen=True, slots=True)
class OpsConfig:
    """The ``server:`` settings for running in production (the CLI's flags override each)."""

    http_port: int | None = None  # the HTTP side port; None: off
    http_host: str | None = None  # default: the server's host
    log_format: str | None = None  # text (default) or json
    log_min_duration_statement: int | None = None  # ms; -1 never (default 1000)
    reload_interval: float | None = None  # seconds between polls of the lens files; 0: on SIGHUP only (default 2)


# -- loading ----------------------------------------------------------------------------------------------


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> ProxyConfig:
    """The configuration at ``path``; raises ``ConfigError`` listing every problem."""
    reader = _Reader(Path(path), os.environ if environ is None else environ)
    config = reader.run()
    if reader.issues or config is None:
        raise ConfigError(sorted(reader.issues, key=lambda i: i.line))
    return config


_TOP_KEYS = ("server", "backends", "lenses")
_SERVER_KEYS = ("host", "port", "workers", "scheduler", "result_cache", "http_port", "http_host", "log_format",
                "log_min_duration_statement", "reload_interval")
_SCHEDULER_KEYS = ("light_threads", "heavy_slots", "light_cutoff_ms", "heavy_nice")
_RESULT_CACHE_KEYS = ("size_mb", "max_entry_mb", "live_ttl_s")
_COMMON_KEYS = ("type", "tables")
_BACKEND_KEYS = {
    "duckdb": ("duckdb_files", "iceberg", "threads", "memory_limit"),
    "postgres": ("dsn", "user", "password"),
    "spark": ("url", "token", "conf"),
}
_LENS_KEYS = ("path", "backend")


class _Reader:
    def __init__(self, path: Path, environ: Mapping[str, str]) -> None:
        self.path = path
        self.base = path.resolve().parent
        self.environ = environ
        self.issues: list[ConfigIssue] = []

    def issue(self, node: yaml.Node | None, where: str, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.issues.append(ConfigIssue(str(self.path), line, where, message))

    def run(self) -> ProxyConfig | None:
        try:
            root = yaml.compose(self.path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        except OSError as e:
            self.issue(None, "", f"cannot read configuration: {e.strerror or e}")
            return None
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            line = mark.line + 1 if mark else 1
            self.issues.append(ConfigIssue(str(self.path), line, "", f"invalid YAML: {getattr(e, 'problem', e)}"))
            return None
        if not isinstance(root, yaml.MappingNode):
            self.issue(root, "", "expected a mapping with keys server, backends, lenses")
            return None
        top = self.mapping(root, "", _TOP_KEYS)
        host, port, workers, scheduler, result_cache = "127.0.0.1", 5433, None, {}, {}
        ops = OpsConfig()
        if "server" in top:
            server = self.mapping(top["server"], "server", _SERVER_KEYS)
            host = self.string(server["host"], "server.host") if "host" in server else host
            port = self.integer(server["port"], "server.port") if "port" in server else port
            workers = self.integer(server["workers"], "server.workers") if "workers" in server else None
            if "scheduler" in server:
                values = self.mapping(server["scheduler"], "server.scheduler", _SCHEDULER_KEYS)
                scheduler = {k: self.integer(v, f"server.scheduler.{k}") for k, v in values.items()}
            if "result_cache" in server:
                values = self.mapping(server["result_cache"], "server.result_cache", _RESULT_CACHE_KEYS)
                result_cache = {k: self.integer(v, f"server.result_cache.{k}") for k, v in values.items()}
            ops = self.ops(server)
        backends: dict[str, BackendConfig] = {}
        if "backends" not in top:
            self.issue(root, "", "missing required key 'backends'")
        elif isinstance(top["backends"], yaml.MappingNode):
            for key_node, value in top["backends"].value:
                name = key_node.value
                if name in backends:
                    self.issue(key_node, f"backends.{name}", "duplicate backend name")
                backend = self.backend(name, value)
                if backend is not None:
                    backends[name] = backend
        else:
            self.issue(top["backends"], "backends", "expected a mapping of backend name to settings")
        lenses: list[LensConfig] = []
        if "lenses" not in top:
            self.issue(root, "", "missing required key 'lenses'")
        elif isinstance(top["lenses"], yaml.SequenceNode):
            for i, item in enumerate(top["lenses"].value):
                lens = self.lens(item, f"lenses[{i}]", backends)
                if lens is not None:
                    lenses.append(lens)
            if not top["lenses"].value:
                self.issue(top["lenses"], "lenses", "no lens to serve")
        else:
            self.issue(top["lenses"], "lenses", "expected a list of {path, backend}")
        if self.issues:
            return None
        return ProxyConfig(self.path, backends, tuple(lenses), host, port, workers, scheduler, result_cache, ops)

    def ops(self, server: dict[str, yaml.Node]) -> OpsConfig:
        options: dict[str, Any] = {}
        if "http_port" in server:
            options["http_port"] = self.integer(server["http_port"], "server.http_port")
            if options["http_port"] > 65535:
                self.issue(server["http_port"], "server.http_port", "a port is at most 65535")
        if "http_host" in server:
            options["http_host"] = self.string(server["http_host"], "server.http_host")
        if "log_format" in server:
            fmt = self.string(server["log_format"], "server.log_format")
            if fmt not in LOG_FORMATS:
                self.issue(server["log_format"], "server.log_format",
                           f"unknown log format {fmt!r}{did_you_mean(fmt, LOG_FORMATS)}; one of {', '.join(LOG_FORMATS)}")
            options["log_format"] = fmt
        if "log_min_duration_statement" in server:
            node = server["log_min_duration_statement"]
            text = self.string(node, "server.log_min_duration_statement")
            try:
                options["log_min_duration_statement"] = int(text)
                if int(text) < -1:
                    raise ValueError
            except ValueError:
                self.issue(node, "server.log_min_duration_statement",
                           f"expected milliseconds (an integer, -1 to log none), got {text!r}")
        if "reload_interval" in server:
            node = server["reload_interval"]
            text = self.string(node, "server.reload_interval")
            try:
                options["reload_interval"] = float(text)
                if float(text) < 0:
                    raise ValueError
            except ValueError:
                self.issue(node, "server.reload_interval", f"expected seconds (0: reload on SIGHUP only), got {text!r}")
        return OpsConfig(**options)

    # -- sections -------------------------------------------------------------------------------------------

    def backend(self, name: str, node: yaml.Node) -> BackendConfig | None:
        where = f"backends.{name}"
        if not isinstance(node, yaml.MappingNode):
            self.issue(node, where, "expected a mapping with 'type' and its settings")
            return None
        raw = {k.value: v for k, v in node.value}
        kind = self.string(raw["type"], f"{where}.type") if "type" in raw else None
        if kind is None:
            self.issue(node, where, f"missing required key 'type' (one of {', '.join(BACKEND_TYPES)})")
            return None
        if kind not in BACKEND_TYPES:
            self.issue(raw["type"], f"{where}.type",
                       f"unknown backend type {kind!r}{did_you_mean(kind, BACKEND_TYPES)}; one of {', '.join(BACKEND_TYPES)}")
            return None
        values = self.mapping(node, where, _COMMON_KEYS + _BACKEND_KEYS[kind])
        options: dict[str, Any] = {"name": name, "type": kind, "line": node.start_mark.line + 1}
        if "tables" in values:
            options["tables"] = self.string_map(values["tables"], f"{where}.tables")
        if kind == "duckdb":
            if "duckdb_files" in values:
                options["duckdb_files"] = self.items(values["duckdb_files"], f"{where}.duckdb_files", self.duck_file)
            if "iceberg" in values:
                options["iceberg"] = self.items(values["iceberg"], f"{where}.iceberg", self.iceberg)
            if "threads" in values:
                options["threads"] = self.integer(values["threads"], f"{where}.threads")
            if "memory_limit" in values:
                options["memory_limit"] = self.string(values["memory_limit"], f"{where}.memory_limit")
            if "duckdb_files" not in values and "iceberg" not in values:
                self.issue(node, where, "a duckdb backend needs 'iceberg' warehouses and/or 'duckdb_files'")
        elif kind == "postgres":
            if "dsn" not in values:
                self.issue(node, where, "missing required key 'dsn' (e.g. postgresql://user@host:5432/dbname)")
            for key in ("dsn", "user", "password"):
                if key in values:
                    options[key] = self.string(values[key], f"{where}.{key}")
        else:
            if "url" not in values:
                self.issue(node, where, "missing required key 'url' (e.g. sc://spark-host:15002)")
            for key in ("url", "token"):
                if key in values:
                    options[key] = self.string(values[key], f"{where}.{key}")
            if options.get("url") and not str(options["url"]).startswith("sc://"):
                self.issue(values["url"], f"{where}.url", "a Spark Connect URL starts with sc://")
            if "conf" in values:
                options["conf"] = self.string_map(values["conf"], f"{where}.conf")
        return BackendConfig(**options)

    def duck_file(self, node: yaml.Node, where: str) -> DuckFile | None:
        if isinstance(node, yaml.ScalarNode):
            path = self.path_of(node, where)
            return DuckFile(path, path.stem)
        values = self.mapping(node, where, ("path", "catalog"))
        if "path" not in values:
            self.issue(node, where, "missing required key 'path'")
            return None
        path = self.path_of(values["path"], f"{where}.path")
        catalog = self.string(values["catalog"], f"{where}.catalog") if "catalog" in values else path.stem
        return DuckFile(path, catalog)

    def iceberg(self, node: yaml.Node, where: str) -> IcebergWarehouse | None:
        if isinstance(node, yaml.ScalarNode):
            return IcebergWarehouse(self.path_of(node, where))
        values = self.mapping(node, where, ("warehouse", "catalog", "uri"))
        if "warehouse" not in values:
            self.issue(node, where, "missing required key 'warehouse' (the warehouse directory)")
            return None
        warehouse = self.path_of(values["warehouse"], f"{where}.warehouse")
        catalog = self.string(values["catalog"], f"{where}.catalog") if "catalog" in values else "icebase"
        uri = self.string(values["uri"], f"{where}.uri") if "uri" in values else ""
        return IcebergWarehouse(warehouse, catalog, uri)

    def lens(self, node: yaml.Node, where: str, backends: Mapping[str, BackendConfig]) -> LensConfig | None:
        values = self.mapping(node, where, _LENS_KEYS)
        if "path" not in values:
            self.issue(node, where, "missing required key 'path' (a lens directory or file)")
            return None
        path = self.path_of(values["path"], f"{where}.path")
        if not path.exists():
            self.issue(values["path"], f"{where}.path", f"lens not found: {path}")
        if "backend" in values:
            backend = self.string(values["backend"], f"{where}.backend")
        elif len(backends) == 1:
            backend = next(iter(backends))
        else:
            self.issue(node, where, "missing required key 'backend' (there is more than one backend)")
            return None
        if backend not in backends:
            known = ", ".join(backends) or "none"
            self.issue(values.get("backend", node), f"{where}.backend",
                       f"unknown backend {backend!r}{did_you_mean(backend, backends)}; defined: {known}")
        return LensConfig(path, backend, node.start_mark.line + 1)

    # -- values ---------------------------------------------------------------------------------------------

    def mapping(self, node: yaml.Node, where: str, allowed: tuple[str, ...]) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            self.issue(node, where, f"expected a mapping with keys {', '.join(allowed)}")
            return {}
        out: dict[str, yaml.Node] = {}
        for key, value in node.value:
            name = key.value
            path = f"{where}.{name}" if where else name
            if name not in allowed:
                self.issue(key, path, f"unknown key {name!r}{did_you_mean(name, allowed)}")
            elif name in out:
                self.issue(key, path, "duplicate key")
            else:
                out[name] = value
        return out

    def items(self, node: yaml.Node, where: str, read: Callable[[yaml.Node, str], Any]) -> tuple:
        nodes = node.value if isinstance(node, yaml.SequenceNode) else [node]
        found = (read(item, f"{where}[{i}]") for i, item in enumerate(nodes))
        return tuple(x for x in found if x is not None)

    def string(self, node: yaml.Node, where: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag.endswith(":null"):
            self.issue(node, where, "expected a string")
            return ""

        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in self.environ:
                return self.environ[name]
            if default is not None:
                return default
            self.issue(node, where, f"environment variable {name} is not set")
            return ""

        return _ENV.sub(substitute, str(node.value))

    def integer(self, node: yaml.Node, where: str) -> int:
        text = self.string(node, where)
        try:
            value = int(text)
        except ValueError:
            self.issue(node, where, f"expected an integer, got {text!r}")
            return 0
        if value < 0:
            self.issue(node, where, "expected a non-negative integer")
        return value

    def string_map(self, node: yaml.Node, where: str) -> dict[str, str]:
        if not isinstance(node, yaml.MappingNode):
            self.issue(node, where, "expected a mapping of name: value")
            return {}
        return {k.value: self.string(v, f"{where}.{k.value}") for k, v in node.value}

    def path_of(self, node: yaml.Node, where: str) -> Path:
        path = Path(self.string(node, where))
        return path if path.is_absolute() else self.base / path
