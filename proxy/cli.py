"""``lens-proxy``: serve lenses over the Postgres protocol, validate them, compile a query, generate demo data."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import signal
import sys
import time
from pathlib import Path

from rewriter.load import LensValidationError, load_lens, validate_lens


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lens-proxy", description=__doc__)
    sub = p.add_subparsers(dest="command")

    serve = sub.add_parser("serve", help="serve lenses as Postgres databases")
    serve.add_argument("--config", metavar="FILE",
                       help="lens-proxy.yaml: backends and the lens each serves (instead of --lens/--duckdb/--iceberg)")
    serve.add_argument("--lens", action="append", default=[], help="lens directory or YAML file (repeatable)")
    serve.add_argument("--duckdb", action="append", default=[], metavar="FILE[=CATALOG]",
                       help="DuckDB file to attach read-only; catalog name defaults to the file stem (repeatable)")
    serve.add_argument("--iceberg", action="append", default=[], metavar="WAREHOUSE[=CATALOG]",
                       help="Iceberg warehouse (written by `generate --format iceberg`) served by embedded DuckDB "
                            "under CATALOG (default icebase) (repeatable)")
    serve.add_argument("--host", default=None, help="default 127.0.0.1 (or the config's server.host)")
    serve.add_argument("--port", type=int, default=None, help="default 5433 (or the config's server.port)")
    serve.add_argument("--max-connections", type=int, default=100)
    serve.add_argument("--threads", type=int, default=None, help="DuckDB worker threads (default: all cores)")
    serve.add_argument("--log-level", default="INFO")
    serve.add_argument("--log-format", choices=("text", "json"), default=None,
                       help="the server log: readable text lines (default) or JSON lines (or the config's server.log_format)")
    serve.add_argument("--log-min-duration-statement", type=int, default=None, metavar="MS",
                       help="log statements that take at least MS milliseconds, with the SQL the engine ran "
                            "(default 1000; -1: never)")
    serve.add_argument("--http-port", type=int, default=None, metavar="PORT",
                       help="serve /metrics (Prometheus), /healthz, /readyz and the data dictionary (/) on PORT "
                            "(default: off, or the config's server.http_port)")
    serve.add_argument("--http-host", default=None, metavar="HOST", help="the side port's address (default: --host)")
    serve.add_argument("--reload-interval", type=float, default=None, metavar="SECONDS",
                       help="poll lens files for edits every SECONDS and reload changed lenses (default 2; 0: only "
                            "on SIGHUP)")
    serve.add_argument("--auth", choices=("trust", "password", "md5", "scram-sha-256"), default="trust",
                       help="client authentication (password methods need --users)")
    serve.add_argument("--users", metavar="FILE", help="users file with SCRAM verifiers (see `lens-proxy passwd`)")
    serve.add_argument("--audit-log", metavar="FILE",
                       help="append one JSON line per statement (user, role, statement, rows, SQLSTATE …) to FILE")
    serve.add_argument("--tls-cert", metavar="PEM", help="server certificate (chain) for TLS")
    serve.add_argument("--tls-key", metavar="PEM", help="private key of --tls-cert")
    serve.add_argument("--tls-required", action="store_true", help="refuse connections that do not use TLS")
    serve.add_argument("--idle-session-timeout", type=float, default=0, metavar="SECONDS",
                       help="close sessions idle (outside a transaction) this long; 0: never")
    serve.add_argument("--max-message-size", type=int, default=64 * 1024 * 1024, metavar="BYTES")
    serve.add_argument("--authentication-timeout", type=float, default=60, metavar="SECONDS",
                       help="drop a connection that has not finished startup and authentication this long (default 60)")
    serve.add_argument("--event-loop", choices=("auto", "uvloop", "asyncio"), default="auto",
                       help="auto: uvloop when installed (faster small queries), else asyncio's")
    serve.add_argument("--workers", type=int, default=None,
                       help="server processes sharing the port (default: the config's server.workers, else the "
                            "number of cores)")
    serve.add_argument("--light-threads", type=int, default=None, help="engine calls of light queries at once (16)")
    serve.add_argument("--heavy-slots", type=int, default=None,
                       help="heavy queries running at once per worker, more wait (default: the number of cores)")
    serve.add_argument("--light-cutoff-ms", type=int, default=None,
                       help="a query whose engine time was below this is light (default 50)")
    serve.add_argument("--heavy-nice", type=int, default=None,
                       help="how much lower the CPU priority of heavy queries and engine workers is (default 10; 0: same)")
    serve.add_argument("--result-cache-mb", type=int, default=None,
                       help="memory for whole results answered again without the engine, per worker (default 256; 0: off)")
    serve.add_argument("--result-cache-ttl", type=int, default=None, metavar="SECONDS",
                       help="how long results of live backends (PostgreSQL, Spark) are reused (default 10)")
    serve.set_defaults(func=_serve)

    passwd = sub.add_parser("passwd", help="set a user's password in a users file (stores verifiers, not the password)")
    passwd.add_argument("user")
    passwd.add_argument("--file", default="users.yaml", help="users file (default: users.yaml)")
    passwd.add_argument("--no-md5", action="store_true",
                        help="store only the SCRAM verifier (md5 auth stores a password-equivalent hash)")
    passwd.add_argument("--groups", metavar="A,B", help="the user's groups (roles), for lens policies and SET ROLE")
    passwd.add_argument("--attr", action="append", default=[], metavar="NAME=V1,V2",
                        help="a user attribute for policies' {{ user.NAME }} (repeatable; a comma makes a list)")
    passwd.add_argument("--keep-password", action="store_true",
                        help="only change groups/attributes; keep the stored verifiers")
    passwd.set_defaults(func=_passwd)

    validate = sub.add_parser("validate", help="check lens definitions; non-zero exit on any issue")
    validate.add_argument("paths", nargs="+")
    validate.set_defaults(func=_validate)

    check = sub.add_parser("check", help="connect to every configured backend and verify that every table and "
                                          "column the lenses use exists; non-zero exit on any problem")
    check.add_argument("--config", required=True, metavar="FILE")
    check.set_defaults(func=_check)

    compile_ = sub.add_parser("compile", help="print the backend SQL for a query, without a server")
    compile_.add_argument("--lens", required=True)
    compile_.add_argument("--dialect", default="duckdb", choices=("duckdb", "postgres", "spark", "trino"),
                          help="the backend dialect to render (default duckdb)")
    compile_.add_argument("sql")
    compile_.set_defaults(func=_compile)

    gen = sub.add_parser("generate", help="generate a lens's demo data")
    gen.add_argument("lens_name", help="which demo dataset (customer_360)")
    gen.add_argument("--format", default="duckdb", choices=("duckdb", "iceberg", "parquet", "postgres"),
                     help="a DuckDB file (default), an Iceberg warehouse directory, Parquet files, or a PostgreSQL "
                          "database (--out is then a DSN)")
    gen.add_argument("--out", required=True, help="file, directory, or (postgres) a DSN")
    gen.add_argument("--spark", metavar="URL",
                     help="with --format parquet: register the tables in the Spark Connect server at URL "
                          "(sc://host:15002), which must see --out at the same path")
    gen.add_argument("--customers", type=int, default=10_000)
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--end-date", type=dt.date.fromisoformat, default=None, help="YYYY-MM-DD (default: today)")
    gen.set_defaults(func=_generate)
    return p


def _attachments(specs: list[str]):
    from proxy.backends.duck import Attachment

    out = []
    for spec in specs:
        path, _, catalog = spec.partition("=")
        out.append(Attachment(Path(path), catalog or Path(path).stem))
    return out


def _iceberg_sources(specs: list[str]):
    from proxy.backends.iceberg import IcebergSource

    out = []
    for spec in specs:
        path, _, catalog = spec.partition("=")
        out.append(IcebergSource.from_warehouse(path, catalog or "icebase"))
    return out


def _load_all(paths: list[str]):
    lenses = {}
    for path in paths:
        lens = load_lens(path)
        if lens.name in lenses:
            raise SystemExit(f"lens-proxy: two lenses are named {lens.name!r}")
        lenses[lens.name] = lens
    return lenses


def _ops_settings(args: argparse.Namespace, host: str):
    """The operations settings: the command line over the config's ``server:`` section over defaults."""
    from proxy.config import OpsConfig, load_config
    from proxy.ops.runtime import OpsSettings

    ops = load_config(args.config).ops if args.config else OpsConfig()

    def pick(flag, configured, default):
        return flag if flag is not None else configured if configured is not None else default

    settings = OpsSettings(
        http_port=pick(args.http_port, ops.http_port, None),
        http_host=pick(args.http_host, ops.http_host, host),
        slow_ms=pick(args.log_min_duration_statement, ops.log_min_duration_statement, 1000),
        reload_interval=pick(args.reload_interval, ops.reload_interval, 2.0),
    )
    if settings.reload_interval < 0:
        raise ValueError("--reload-interval must be 0 (SIGHUP only) or positive")
    if settings.http_port is not None and not 0 <= settings.http_port <= 65535:
        raise ValueError("--http-port must be a port number (0: any free port)")
    return settings, pick(args.log_format, ops.log_format, "text")


def _open_configured(args: argparse.Namespace):
    """(lenses, backend or {lens: backend}, host, port) from --config or from the simple flags."""
    from proxy.backends import open_backend
    from proxy.config import load_config

    if args.config:
        if args.lens or args.duckdb or args.iceberg:
            raise ValueError("--config names the lenses and backends: drop --lens/--duckdb/--iceberg")
        config = load_config(args.config)
        lenses = _load_all([str(lc.path) for lc in config.lenses])
        by_path = {str(lc.path): lc.backend for lc in config.lenses}
        opened = {}
        try:
            for name in dict.fromkeys(by_path.values()):
                opened[name] = open_backend(config.backends[name])
        except BaseException:
            for backend in opened.values():
                backend.close()
            raise
        backends = {lens.name: opened[by_path[str(lc.path)]] for lens, lc in zip(lenses.values(), config.lenses, strict=True)}
        return lenses, backends, args.host or config.host, args.port if args.port is not None else config.port
    if not args.lens:
        raise ValueError("nothing to serve: give --config FILE, or --lens DIR with --duckdb FILE / --iceberg DIR")
    from proxy.backends.duck import DuckBackend

    lenses = _load_all(args.lens)
    backend = DuckBackend(_attachments(args.duckdb), iceberg=_iceberg_sources(args.iceberg), threads=args.threads)
    return lenses, backend, args.host or "127.0.0.1", args.port if args.port is not None else 5433


def _serve(args: argparse.Namespace) -> int:
    """Serve: one process, or (``--workers N``) a supervisor and N worker processes (``proxy.workers``)."""
    import dataclasses

    from proxy.config import ConfigError
    from proxy.ops.logs import setup_logging
    from proxy.workers import supervise

    try:
        ops_settings, log_format = _ops_settings(args, args.host or "127.0.0.1")
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 1
    except ValueError as e:
        print(f"lens-proxy: {e}", file=sys.stderr)
        return 1
    setup_logging(args.log_level, log_format)
    try:  # everything that can be checked before any engine is opened, so mistakes are reported once
        lenses, host, port, config = _configured(args)
        server_options = _server_options(args, config)
    except (LensValidationError, ConfigError) as e:
        print(e, file=sys.stderr)
        return 1
    except (OSError, ValueError) as e:
        print(f"lens-proxy: {getattr(e, 'message', e)}", file=sys.stderr)
        return 1
    workers = args.workers if args.workers is not None else (config.workers if config and config.workers else 0)
    workers = workers or os.cpu_count() or 1
    if workers <= 1:
        return _serve_worker(args, server_options, ops_settings, None, None, None)
    if ops_settings.http_port is not None:
        # every worker serves the side port on one socket bound here (port 0 picks one port for all);
        # /metrics sums the workers' counters, which share the supervisor's PROMETHEUS_MULTIPROC_DIR
        from proxy.workers import listening_socket

        try:
            http = listening_socket(ops_settings.http_host, ops_settings.http_port, backlog=128)
        except OSError as e:
            print(f"lens-proxy: cannot serve the HTTP side port {ops_settings.http_host}:{ops_settings.http_port}: "
                  f"{e.strerror or e}", file=sys.stderr)
            return 1
        ops_settings = dataclasses.replace(ops_settings, http_port=http.getsockname()[1], http_socket=http)

    def announce(bound: int) -> None:
        print(f"lens-proxy: serving {', '.join(lenses)} on {host}:{bound} ({workers} workers)", flush=True)

    def worker(sock, peers, ready_fd: int) -> int:
        return _serve_worker(args, server_options, ops_settings, sock, peers, ready_fd)

    try:
        return supervise(min(workers, 64), host, port, worker, announce)
    except OSError as e:
        print(f"lens-proxy: cannot listen on {host}:{port}: {e.strerror or e}", file=sys.stderr)
        return 1


def _serve_worker(args: argparse.Namespace, server_options: dict, ops_settings, sock, peers,
                  ready_fd: int | None) -> int:
    """One server process: open the backends, serve (and the side port) until SIGTERM (fast shutdown)."""
    from proxy.errors import SqlError
    from proxy.server import LensProxyServer

    try:
        lenses, backend, host, port = _open_configured(args)
    except (OSError, ValueError, SqlError) as e:
        print(f"lens-proxy: {getattr(e, 'message', e)}", file=sys.stderr)
        return 1
    except Exception as e:  # an engine's own error while opening a backend: say it, no traceback
        print(f"lens-proxy: cannot open the backend: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    backends = set(backend.values()) if isinstance(backend, dict) else {backend}
    first = peers is None or peers.index == 0  # the process that speaks for the server on stdout

    async def run() -> None:
        from proxy.ops.runtime import Ops, make_observer

        server = LensProxyServer(
            lenses, backend, host=host, port=port, max_connections=args.max_connections, listen_socket=sock,
            peers=peers, observer=make_observer(ops_settings), **server_options
        )
        await server.start()
        ops = Ops(server, ops_settings)
        try:
            await ops.start()
        except OSError as e:  # the side port is taken or not ours to bind: say so, stop cleanly
            await ops.close()
            await server.close()
            raise SystemExit(f"lens-proxy: cannot serve the HTTP side port {ops_settings.http_host}:"
                             f"{ops_settings.http_port}: {e.strerror or e}") from None
        if ops.http is not None and first:
            print(f"lens-proxy: HTTP side port on {ops_settings.http_host}:{ops.http.port}", flush=True)
        if ready_fd is None:
            print(f"lens-proxy: serving {', '.join(lenses)} on {host}:{server.port}", flush=True)
        else:
            os.write(ready_fd, b"r")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)

        def reload() -> None:  # SIGHUP: lenses re-validated and swapped (ops), plans and results dropped
            server.reload()
            ops.reload()

        loop.add_signal_handler(signal.SIGHUP, reload)
        serving = asyncio.create_task(server.serve_forever())
        await stop.wait()
        if first:
            print("lens-proxy: shutting down", flush=True)
        await ops.close()
        await server.close()  # every session told (57P01) and closed, no engine call left running
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)

    try:
        with asyncio.Runner(loop_factory=_loop_factory(args.event_loop)) as runner:
            runner.run(run())
    finally:
        for b in backends:
            b.close()
    return 0


def _configured(args: argparse.Namespace):
    """(lenses, host, port, config or None): the lenses loaded and the configuration checked, no backend
    opened (the supervisor does this before forking workers)."""
    from proxy.config import load_config

    if args.config:
        if args.lens or args.duckdb or args.iceberg:
            raise ValueError("--config names the lenses and backends: drop --lens/--duckdb/--iceberg")
        config = load_config(args.config)
        lenses = _load_all([str(lc.path) for lc in config.lenses])
        return lenses, args.host or config.host, args.port if args.port is not None else config.port, config
    if not args.lens:
        raise ValueError("nothing to serve: give --config FILE, or --lens DIR with --duckdb FILE / --iceberg DIR")
    return _load_all(args.lens), args.host or "127.0.0.1", args.port if args.port is not None else 5433, None


def _loop_factory(choice: str):
    """uvloop's event loop when installed (``auto``): measured 1.2-1.4x the round trips of asyncio's for
    small queries (bench/bench_speed.py); ``asyncio`` forces the standard loop."""
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise SystemExit("lens-proxy: --event-loop uvloop: uvloop is not installed (pip install uvloop)") from None
        return None
    return uvloop.new_event_loop


def _server_options(args: argparse.Namespace, config=None) -> dict:
    from proxy.auth import load_users
    from proxy.result_cache import ResultCache
    from proxy.scheduler import SchedulerConfig

    scheduling = dict(config.scheduler) if config is not None else {}
    caching = dict(config.result_cache) if config is not None else {}

    def pick(flag, section: dict, key: str, default):
        value = flag if flag is not None else section.get(key, default)
        if value < 0:
            raise ValueError(f"{key.replace('_', '-')} must not be negative")
        return value

    options: dict = {
        "scheduler": SchedulerConfig(
            light_threads=max(1, pick(args.light_threads, scheduling, "light_threads", 16)),
            heavy_slots=pick(args.heavy_slots, scheduling, "heavy_slots", 0),
            light_cutoff=pick(args.light_cutoff_ms, scheduling, "light_cutoff_ms", 50) / 1000,
            heavy_nice=min(19, pick(args.heavy_nice, scheduling, "heavy_nice", 10))),
        "result_cache": ResultCache(
            max_bytes=pick(args.result_cache_mb, caching, "size_mb", 256) * 1024 * 1024,
            max_entry_bytes=caching.get("max_entry_mb", 8) * 1024 * 1024,
            live_ttl=pick(args.result_cache_ttl, caching, "live_ttl_s", 10)),
    }
    options |= {"auth_method": args.auth, "idle_session_timeout": args.idle_session_timeout,
                     "max_message_size": args.max_message_size, "tls_required": args.tls_required,
                     "authentication_timeout": args.authentication_timeout, "audit_log": args.audit_log}
    if args.authentication_timeout <= 0:
        raise ValueError("--authentication-timeout must be positive")
    if args.auth != "trust":
        if not args.users:
            raise ValueError(f"--auth {args.auth} needs --users FILE")
        options["users"] = load_users(args.users)
    elif args.users:
        options["users"] = load_users(args.users)
    if bool(args.tls_cert) != bool(args.tls_key):
        raise ValueError("--tls-cert and --tls-key go together")
    if args.tls_cert:
        import ssl

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        options["ssl_context"] = context
    elif args.tls_required:
        raise ValueError("--tls-required needs --tls-cert and --tls-key")
    return options


def _passwd(args: argparse.Namespace) -> int:
    import getpass

    from proxy.auth import write_user

    attributes = {}
    for spec in args.attr:
        name, sep, value = spec.partition("=")
        if not sep or not name:
            print(f"lens-proxy: --attr wants NAME=VALUE, got {spec!r}", file=sys.stderr)
            return 1
        attributes[name] = value.split(",") if "," in value else value
    password = None
    if not args.keep_password:
        if sys.stdin.isatty():
            password = getpass.getpass(f"password for {args.user}: ")
            if getpass.getpass("again: ") != password:
                print("lens-proxy: passwords do not match", file=sys.stderr)
                return 1
        else:
            password = sys.stdin.readline().rstrip("\n")
        if not password:
            print("lens-proxy: empty password", file=sys.stderr)
            return 1
    groups = [g.strip() for g in args.groups.split(",") if g.strip()] if args.groups is not None else None
    write_user(args.file, args.user, password, md5=not args.no_md5, groups=groups,
               attributes=attributes or None)
    print(f"lens-proxy: stored {'verifier' if password else 'groups and attributes'} for {args.user} in {args.file}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.paths:
        lens, issues = validate_lens(path)
        for issue in issues:
            print(issue, file=sys.stderr)
        if issues:
            failed += 1
            print(f"{path}: {len(issues)} issue(s)", file=sys.stderr)
        elif lens is not None:
            n_members = sum(len(e.members) for e in lens.entities)
            print(f"{path}: lens {lens.name} OK ({len(lens.entities)} entities, {n_members} members)")
    return 1 if failed else 0


def _compile(args: argparse.Namespace) -> int:
    import sqlglot

    from proxy.router import Kind, split
    from rewriter.render import render
    from rewriter.rewrite import rewrite

    try:
        lens = load_lens(args.lens)
    except LensValidationError as e:
        print(e, file=sys.stderr)
        return 1
    from proxy.errors import SqlError

    try:
        for statement in split(args.sql):
            if statement.kind not in (Kind.QUERY, Kind.EXPLAIN) or statement.ast is None:
                print(f"-- {statement.kind.value}: not a query")
                continue
            tree = rewrite(statement.ast, lens)
            dialect = args.dialect
            print(sqlglot.transpile(render(tree, dialect), read=dialect, write=dialect, pretty=True)[0] + ";")
    except SqlError as e:
        print(f"ERROR: {e.message} (SQLSTATE {e.sqlstate})" + (f"\nHINT: {e.hint}" if e.hint else ""), file=sys.stderr)
        return 1
    return 0


def _generate(args: argparse.Namespace) -> int:
    from proxy.generate import GENERATORS

    generator = GENERATORS.get(args.lens_name)
    if generator is None:
        print(f"lens-proxy: no demo data generator for {args.lens_name!r}; have {', '.join(GENERATORS)}", file=sys.stderr)
        return 2
    from proxy.generate.formats import write

    started = time.perf_counter()
    try:
        counts = write(
            generator, args.format, args.out, customers=args.customers, seed=args.seed, end_date=args.end_date,
            progress=lambda msg: print(f"  {msg}", flush=True),
        )
    except (OSError, ValueError) as e:
        print(f"lens-proxy: {e}", file=sys.stderr)
        return 1
    if args.spark:
        from proxy.generate.formats import register_spark

        if args.format != "parquet":
            print("lens-proxy: --spark registers Parquet tables: use it with --format parquet", file=sys.stderr)
            return 2
        print(f"registered in Spark: {', '.join(register_spark(Path(args.out), args.spark))}")
    elapsed = time.perf_counter() - started
    summary = ", ".join(f"{name}: {n:,} rows" for name, n in counts.items())
    where = "the PostgreSQL database" if args.format == "postgres" else args.out
    print(f"wrote {where} ({args.format}) in {elapsed:.1f}s ({summary})")
    return 0


def _check(args: argparse.Namespace) -> int:
    from proxy.check import check_config

    ok, report = check_config(args.config)
    print(report)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
