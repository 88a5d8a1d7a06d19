"""Every figure of issue 12 in one run, side by side: lens-proxy (and optionally a baseline checkout of it)
against PostgreSQL 15 holding the same rows.

Sections (each prints its own table; all servers run at the same time on this machine, so quote ratios):

* **single client**: one psycopg connection, q/s and median latency for ``SELECT 1``, a lens point query
  (result cache off with a different customer each time, and the same query again with the cache on), a
  row lookup by key (simple protocol, and prepared: extended protocol with a named statement); PostgreSQL
  runs the hand-written equivalent over the raw table (primary key on ``customer_id``, as a user would have);
* **pgbench**: 50 clients, ``SELECT 1`` and a script of lens point queries (random customer), simple and
  prepared protocol; PostgreSQL runs ``SELECT 1`` and the equivalent point query;
* **profile**: the server's CPU per query (``/proc``) and where it goes (py-spy samples of the server,
  all threads and GIL-holding only, grouped by stage) for ``SELECT 1`` and an uncached point query;
* **dashboard**: the seed questions (tests/cases/customer_360_questions.yaml) run as a dashboard refresh,
  repeated, with the result cache on and off;
* **stream**: 1M rows of ``generate_series`` in text and binary;
* ``--big N`` (default off; 100000 is the issue's scale): the same data at N customers: point query q/s,
  fairness (pgbench light clients alone and beside 2 clients of heavy aggregates: throughput, p99, and
  the heavy query's time alone and under load), the seed questions through the proxy vs the proxy's SQL in
  DuckDB directly vs PostgreSQL.

    python bench/bench_speed.py [--customers 2000] [--seconds 3] [--baseline DIR] [--big 100000]

``--baseline DIR``: a second lens-proxy started from another checkout (``git archive main | tar -x -C DIR``)
with the same data, measured beside this one in every section: the before/after figures of one run.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import yaml  # noqa: E402

from tests.pgserver import PostgresServer  # noqa: E402

LENS_DIR = ROOT / "lenses" / "customer_360"
QUESTIONS = yaml.safe_load((ROOT / "tests" / "cases" / "customer_360_questions.yaml").read_text())
POINT = "SELECT state, count_customers FROM customer WHERE customer_id = '{id}' GROUP BY 1"
PG_POINT = "SELECT state, count(*) FROM audience.customers_large_data WHERE customer_id = '{id}' GROUP BY 1"
ROW = "SELECT * FROM customer WHERE customer_id = '{id}'"
PG_ROW = "SELECT * FROM audience.customers_large_data WHERE customer_id = '{id}'"
HEAVY = ("SELECT entity_id, recency, frequency, monetary FROM order_placed GROUP BY entity_id "
         "ORDER BY monetary DESC LIMIT 10")
NO_CACHE = "-c lens.result_cache=off"


def customer_id(i: int) -> str:
    return f"C{i:07d}"


# -- servers ----------------------------------------------------------------------------------------------


@dataclass
class Target:
    """One server under test: its name in the tables, how to connect, the SQL it answers."""

    name: str
    host: str
    port: int
    user: str
    database: str
    process: subprocess.Popen | None = None
    pg: bool = False

    def dsn(self, options: str = "") -> str:
        extra = f" options='{options}'" if options else ""
        return f"host={self.host} port={self.port} user={self.user} dbname={self.database}{extra}"

    def point(self, i: int) -> str:
        return (PG_POINT if self.pg else POINT).format(id=customer_id(i))

    def row(self, i: int) -> str:
        return (PG_ROW if self.pg else ROW).format(id=customer_id(i))

    def row_prepared(self) -> str:
        return (PG_ROW if self.pg else ROW).replace("'{id}'", "%s")


def start_proxy(name: str, tree: Path, data: Path, *extra: str) -> Target:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, "-m", "proxy.cli", "serve", "--port", "0", "--log-level", "WARNING",
           "--lens", str(LENS_DIR), "--duckdb", f"{data}=icebase", "--max-connections", "200", *extra]
    proc = subprocess.Popen(cmd, cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    lines = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        match = re.search(r"on ([\d.]+):(\d+)", line)
        if match and "serving" in line:
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # keep draining
            return Target(name, match.group(1), int(match.group(2)), "analyst", "customer_360", proc)
    proc.kill()
    raise RuntimeError(f"{name} did not start:\n" + "".join(lines))


def stop_proxy(target: Target) -> None:
    if target.process is not None and target.process.poll() is None:
        target.process.send_signal(signal.SIGTERM)
        try:
            target.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            target.process.kill()


def load_postgres(pg: PostgresServer, data: Path, database: str) -> Target:
    from proxy.generate.formats import export

    pg.createdb(database)
    export(data, "postgres", pg.url(database))
    with psycopg.connect(pg.dsn(database), autocommit=True) as c:
        c.execute("ALTER TABLE audience.customers_large_data ADD PRIMARY KEY (customer_id)")
        c.execute("ANALYZE")
    return Target("PostgreSQL", pg.host, pg.port, "postgres", database, pg=True)


# -- measuring --------------------------------------------------------------------------------------------


def rate(conn: psycopg.Connection, seconds: float, run: Callable[[psycopg.Connection, int], object]) -> tuple[float, float]:
    """(queries/s, median latency ms) of ``run(conn, i)`` repeated for ``seconds`` after a warm-up."""
    for i in range(30):
        run(conn, i)
    latencies = []
    i = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        t = time.perf_counter()
        run(conn, i)
        latencies.append(time.perf_counter() - t)
        i += 1
    return i / (time.perf_counter() - started), statistics.median(latencies) * 1000


def single_client(targets: list[Target], customers: int, seconds: float) -> dict[tuple[str, str], float]:
    rnd = random.Random(7)
    ids = [rnd.randrange(1, customers + 1) for _ in range(100_000)]
    cases: dict[str, tuple[str, Callable[[psycopg.Connection, int, Target], object]]] = {
        "SELECT 1": ("", lambda c, i, t: c.execute("SELECT 1").fetchall()),
        "point query, uncached": (NO_CACHE, lambda c, i, t: c.execute(t.point(ids[i])).fetchall()),
        "point query, cached": ("", lambda c, i, t: c.execute(t.point(123)).fetchall()),
        "row lookup, simple": (NO_CACHE, lambda c, i, t: c.execute(t.row(ids[i])).fetchall()),
        "row lookup, prepared": (NO_CACHE, lambda c, i, t: c.execute(t.row_prepared(), [customer_id(ids[i])],
                                                                       prepare=True).fetchall()),
    }
    results: dict[tuple[str, str], float] = {}
    print(f"\n== one client (psycopg), {seconds:g} s each: q/s (median ms) ==")
    print(f"{'query':24}" + "".join(f"{t.name:>22}" for t in targets) + "   ratios to PostgreSQL")
    for case, (options, fn) in cases.items():
        cells, rates = [], {}
        for t in targets:
            with psycopg.connect(t.dsn("" if t.pg else options), autocommit=True) as c:
                qps, ms = rate(c, seconds, lambda c, i, t=t, fn=fn: fn(c, i, t))
            rates[t.name] = qps
            results[(case, t.name)] = qps
            cells.append(f"{qps:11,.0f} ({ms:6.3f})")
        pg = rates.get("PostgreSQL")
        ratios = "  ".join(f"{n} {q / pg:.2f}x" for n, q in rates.items() if pg and n != "PostgreSQL")
        print(f"{case:24}" + "".join(f"{c:>22}" for c in cells) + f"   {ratios}")
    return results


def pgbench(pg: PostgresServer, target: Target, script: str, mode: str, clients: int, seconds: float,
            tmp: Path, options: str = "") -> dict[str, float]:
    """One pgbench run: tps, p50/p99 ms from its transaction log, failures."""
    path = tmp / f"script_{abs(hash(script))}.sql"
    path.write_text(script)
    prefix = tmp / f"log_{target.port}_{mode}_{clients}_{time.monotonic_ns()}"
    cmd = [pg.binary("pgbench"), "-n", "-h", target.host, "-p", str(target.port), "-U", target.user,
           "-c", str(clients), "-j", "2", "-T", str(int(seconds)), "-M", mode, "-f", str(path), "-l",
           f"--log-prefix={prefix}", target.database]
    env = {**os.environ, "PGOPTIONS": options} if options else None
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120, cwd=tmp, env=env)
    out = done.stdout + done.stderr
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    latencies = []
    for log in tmp.glob(f"{prefix.name}*"):
        for line in log.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3 and fields[2].isdigit():
                latencies.append(int(fields[2]) / 1000)
        log.unlink()
    latencies.sort()
    pct = statistics.quantiles(latencies, n=100) if len(latencies) >= 100 else [float("nan")] * 99
    return {"tps": float(tps.group(1)) if tps else 0.0, "p50": pct[49], "p99": pct[98],
            "failures": (int(failed.group(1)) if failed else 0) + len(re.findall(r"client \d+ aborted", out)),
            "error": "" if tps else (out.strip().splitlines() or ["no output"])[-1]}


def point_script(customers: int, pg: bool) -> str:
    table = "audience.customers_large_data" if pg else "customer"
    measure = "count(*)" if pg else "count_customers"
    return (f"\\set id random(1, {customers})\n"
            f"SELECT state, {measure} FROM {table} WHERE customer_id = 'C' || lpad(:id::text, 7, '0') GROUP BY 1;\n")


def load(pg: PostgresServer, targets: list[Target], customers: int, clients: int, seconds: float, tmp: Path) -> None:
    print(f"\n== pgbench, {clients} clients, {seconds:g} s per run: tps (p50 / p99 ms) ==")
    print(f"{'script':28}" + "".join(f"{t.name:>28}" for t in targets) + "   ratios to PostgreSQL")
    for script in ("SELECT 1", "point query"):
        for mode in ("simple", "prepared"):
            cells, tps = [], {}
            for t in targets:
                text = "SELECT 1;\n" if script == "SELECT 1" else point_script(customers, t.pg)
                f = pgbench(pg, t, text, mode, clients, seconds, tmp, "" if t.pg else NO_CACHE)
                tps[t.name] = f["tps"]
                cell = f"{f['tps']:9,.0f} ({f['p50']:5.1f} / {f['p99']:6.1f})"
                if f["failures"] or f["error"]:
                    cell += f" !{f['failures']} {f['error'][:30]}"
                cells.append(cell)
            floor = tps.get("PostgreSQL")
            ratios = "  ".join(f"{n} {v / floor:.3f}x" for n, v in tps.items() if floor and n != "PostgreSQL")
            print(f"{script + ', ' + mode:28}" + "".join(f"{c:>28}" for c in cells) + f"   {ratios}")


# -- profile ----------------------------------------------------------------------------------------------

STAGES = (  # (stage, predicate over a frame "function (path:line)"), the innermost matching frame decides
    ("engine call (DuckDB, GIL held)", lambda f: "duck.py:" in f or "duckdb/" in f or "base.py:7" in f
     or "result_types.py" in f),
    ("encode + RowDescription", lambda f: "/wire/encode" in f or "row_description" in f or "field_description" in f
     or "/wire/types.py" in f),
    ("parse / rewrite / plans", lambda f: "rewriter/" in f or "sqlglot/" in f or "pgtypes_sql" in f
     or "pgfunctions" in f or "router.py" in f or "plans.py" in f),
    ("catalog (origins)", lambda f: "catalog/" in f),
    ("wire framing + messages", lambda f: "wire/" in f),
    ("result cache + scheduler", lambda f: "result_cache" in f or "scheduler" in f),
    ("pool hops (futures, self-pipe)", lambda f: "concurrent/futures" in f or "_write_to_self" in f
     or "_read_from_self" in f or "call_soon_threadsafe" in f or "wrap_future" in f),
    ("session", lambda f: "proxy/" in f and "server.py" not in f),
    ("asyncio / sockets / server", lambda f: True),
)


def stage_of(stack: list[str]) -> str:
    for frame in reversed(stack):
        for name, matches in STAGES[:-1]:
            if matches(frame):
                return name
    return STAGES[-1][0]


def profile(target: Target, customers: int, seconds: float, tmp: Path) -> None:
    """Server CPU per query (/proc) and where the GIL-holding time goes (py-spy --gil samples by stage),
    for SELECT 1 and a point query (uncached and cached)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if target.process is None or not Path(spy).exists():
        print("\n(profile skipped: py-spy not installed: pip install py-spy)")
        return
    pid = target.process.pid
    rnd = random.Random(3)
    cases = {"SELECT 1": ("", lambda c: c.execute("SELECT 1").fetchall()),
             "point query, uncached": (NO_CACHE, lambda c: c.execute(target.point(rnd.randrange(1, customers + 1))).fetchall()),
             "point query, cached": ("", lambda c: c.execute(target.point(123)).fetchall())}
    rate_hz = 2000
    print(f"\n== profile of {target.name} (one psycopg client, {seconds:g} s each; py-spy --gil at {rate_hz}/s) ==")
    for case, (options, fn) in cases.items():
        out = tmp / f"spy_{target.port}_{case.replace(' ', '_').replace(',', '')}.txt"
        cmd = [spy, "record", "-p", str(pid), "-r", str(rate_hz), "-f", "raw", "-o", str(out), "-d",
               str(int(seconds)), "--nonblocking", "--threads", "--gil"]
        spy_proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        n, cpu0 = 0, _cpu_seconds(pid)
        with psycopg.connect(target.dsn(options), autocommit=True) as c:
            fn(c)
            started = time.perf_counter()
            while time.perf_counter() - started < seconds - 1:
                fn(c)
                n += 1
            elapsed = time.perf_counter() - started
        cpu = _cpu_seconds(pid) - cpu0
        spy_proc.wait(timeout=seconds + 30)
        samples: Counter[str] = Counter()
        if out.exists():
            for line in out.read_text().splitlines():
                stack, _, count = line.rpartition(" ")
                if count.isdigit():
                    samples[stage_of(stack.split(";"))] += int(count)
        # py-spy sampled ~``seconds`` - 0.5 s while the client ran ``elapsed`` s: scale to the queries
        window = max(seconds - 0.5, elapsed)
        per_query = {s: c / rate_hz / n * 1e6 * (elapsed / window) for s, c in samples.items()}
        total = sum(per_query.values())
        parts = ", ".join(f"{s} {v:.0f}" for s, v in sorted(per_query.items(), key=lambda kv: -kv[1]) if v >= 1)
        print(f"{case}: {n / elapsed:,.0f} q/s; server CPU {cpu / n * 1e6:,.0f} µs/query; "
              f"GIL held {total:,.0f} µs/query: {parts}")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- dashboard, stream, seed questions --------------------------------------------------------------------


def dashboard(targets: list[Target], rounds: int) -> None:
    print(f"\n== dashboard: the {len(QUESTIONS)} seed questions refreshed {rounds} times, one client: ms per refresh ==")
    print(f"{'result cache':14}" + "".join(f"{t.name:>14}" for t in targets if not t.pg))
    for options, label in (("", "on"), (NO_CACHE, "off")):
        cells = []
        for t in targets:
            if t.pg:
                continue
            with psycopg.connect(t.dsn(options), autocommit=True) as c:
                times = []
                for _ in range(rounds + 1):
                    started = time.perf_counter()
                    for case in QUESTIONS:
                        c.execute(case["sql"]).fetchall()
                    times.append((time.perf_counter() - started) * 1000)
            cells.append(f"{statistics.median(times[1:]):11.1f}")
        print(f"{label:14}" + "".join(f"{c:>14}" for c in cells))


def stream(targets: list[Target], rows: int) -> None:
    sql = f"SELECT i, i * 0.5 AS half, 'row' AS label FROM generate_series(1, {rows}) AS g(i)"
    print(f"\n== stream {rows:,} rows (generate_series), one client: seconds (text / binary) ==")
    times = {}
    for t in targets:
        cells = []
        for binary in (False, True):
            with psycopg.connect(t.dsn(NO_CACHE if not t.pg else ""), autocommit=True) as c:
                best = []
                for _ in range(2):
                    started = time.perf_counter()
                    n = sum(1 for _ in c.cursor(binary=binary).execute(sql))
                    assert n == rows
                    best.append(time.perf_counter() - started)
                cells.append(min(best))
        times[t.name] = cells
        print(f"{t.name:14} {cells[0]:6.2f} / {cells[1]:6.2f}")
    pg = times.get("PostgreSQL")
    if pg:
        for name, (text, binary) in times.items():
            if name != "PostgreSQL":
                print(f"{name} / PostgreSQL: text {text / pg[0]:.2f}x, binary {binary / pg[1]:.2f}x")


def fairness(pg: PostgresServer, targets: list[Target], customers: int, seconds: float, tmp: Path) -> None:
    """24 pgbench clients of point queries alone, then beside 2 clients looping a heavy aggregate."""
    print(f"\n== fairness: 24 clients of point queries (pgbench), alone and beside 2 clients of heavy aggregates; "
          f"{seconds:g} s each ==")
    for t in targets:
        if t.pg:
            continue
        alone = pgbench(pg, t, point_script(customers, False), "prepared", 24, seconds, tmp, NO_CACHE)
        heavy_alone = _heavy_times(t, 1, seconds=None, count=3)
        stop = threading.Event()
        heavy_times: list[float] = []
        workers = [threading.Thread(target=lambda t=t: heavy_times.extend(_heavy_times(t, 1, stop=stop)))  # noqa: B023
                   for _ in range(2)]
        for w in workers:
            w.start()
        time.sleep(0.5)
        busy = pgbench(pg, t, point_script(customers, False), "prepared", 24, seconds, tmp, NO_CACHE)
        stop.set()
        for w in workers:
            w.join()
        h_alone = statistics.median(heavy_alone)
        h_busy = statistics.median(heavy_times) if heavy_times else float("nan")
        print(f"{t.name}: light tps {alone['tps']:,.0f} alone, {busy['tps']:,.0f} with heavy "
              f"({busy['tps'] / alone['tps']:.2f}x); p99 {alone['p99']:.1f} -> {busy['p99']:.1f} ms "
              f"({busy['p99'] / alone['p99']:.2f}x); p50 {alone['p50']:.1f} -> {busy['p50']:.1f} ms; "
              f"heavy query {h_alone:.0f} ms alone, {h_busy:.0f} ms under load ({h_busy / h_alone:.2f}x, "
              f"{len(heavy_times)} runs)")


def _heavy_times(t: Target, _n: int, *, seconds: float | None = None, count: int | None = None,
                 stop: threading.Event | None = None) -> list[float]:
    out = []
    with psycopg.connect(t.dsn(NO_CACHE), autocommit=True) as c:
        c.execute(HEAVY).fetchall()
        while (count is None or len(out) < count) and not (stop is not None and stop.is_set()):
            started = time.perf_counter()
            c.execute(HEAVY).fetchall()
            out.append((time.perf_counter() - started) * 1000)
    return out


def seed_questions(targets: list[Target], data: Path, pg_target: Target | None) -> None:
    """Each seed question once warm: through each proxy, the proxy's DuckDB SQL run directly, PostgreSQL."""
    from proxy.backends.base import TableMap
    from proxy.backends.duck import Attachment, DuckBackend
    from proxy.pgtypes_sql import fix_pg_types
    from proxy.router import split
    from rewriter.load import load_lens
    from rewriter.rewrite import rewrite

    lens = load_lens(LENS_DIR)
    backend = DuckBackend([Attachment(data, "icebase")])
    from rewriter.render import render

    direct_cur = backend.cursor()
    proxies = [t for t in targets if not t.pg]
    conns = {t.name: psycopg.connect(t.dsn(NO_CACHE), autocommit=True) for t in proxies}
    pg_conn = psycopg.connect(pg_target.dsn(), autocommit=True) if pg_target else None
    print(f"\n== seed questions at {data.name}: seconds (result cache off), one warm run each ==")
    header = "".join(f"{t.name:>12}" for t in proxies) + f"{'DuckDB':>12}" + (f"{'PostgreSQL':>12}" if pg_conn else "")
    print(f"{'question':48}{header}")
    totals = Counter()
    for case in QUESTIONS:
        tree = fix_pg_types(rewrite(split(case["sql"])[0].ast, lens))
        duck_sql = backend.render(tree.copy())  # rendering transforms its tree in place
        pg_sql = render(TableMap(drop_catalog=True).apply(tree.copy()), "postgres")
        cells = []
        for t in proxies:
            conns[t.name].execute(case["sql"]).fetchall()
            started = time.perf_counter()
            conns[t.name].execute(case["sql"]).fetchall()
            totals[t.name] += (s := time.perf_counter() - started)
            cells.append(s)
        direct_cur.execute(duck_sql).read_all()
        started = time.perf_counter()
        direct_cur.execute(duck_sql).read_all()
        totals["DuckDB"] += (s := time.perf_counter() - started)
        cells.append(s)
        if pg_conn is not None:
            started = time.perf_counter()
            pg_conn.execute(pg_sql).fetchall()
            totals["PostgreSQL"] += (s := time.perf_counter() - started)
            cells.append(s)
        print(f"{case['name'][:48]:48}" + "".join(f"{c:12.3f}" for c in cells), flush=True)
    print(f"{'total':48}" + "".join(f"{v:12.2f}" for v in totals.values()))
    for t in proxies:
        line = f"{t.name} / DuckDB direct {totals[t.name] / totals['DuckDB']:.3f}x"
        if pg_conn:
            line += f", PostgreSQL / {t.name} {totals['PostgreSQL'] / totals[t.name]:.1f}x"
        print(line)
    for c in conns.values():
        c.close()
    if pg_conn:
        pg_conn.close()
    direct_cur.close()
    backend.close()


# -- main -------------------------------------------------------------------------------------------------


def generate(path: Path, customers: int) -> Path:
    from proxy.generate import GENERATORS

    if not path.exists():
        started = time.perf_counter()
        counts = GENERATORS["customer_360"](path, customers=customers, seed=42, end_date=dt.date.today())
        print(f"data: {path} {counts} in {time.perf_counter() - started:.1f} s", flush=True)
    return path


@contextlib.contextmanager
def proxies(data: Path, baseline: Path | None, extra: list[str], alt: list[str] | None = None) -> Iterator[list[Target]]:
    started = []
    try:
        if baseline is not None:
            started.append(start_proxy("before", baseline, data))
        started.append(start_proxy("lens-proxy", ROOT, data, *extra))
        if alt:
            started.append(start_proxy("alt", ROOT, data, *alt))
        yield started
    finally:
        for t in started:
            stop_proxy(t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows streamed")
    ap.add_argument("--rounds", type=int, default=5, help="dashboard refreshes")
    ap.add_argument("--baseline", type=Path, help="another lens-proxy checkout to measure beside this one")
    ap.add_argument("--big", type=int, default=0, help="also measure at this many customers (100000: the issue's)")
    ap.add_argument("--data-dir", type=Path, help="keep generated data here (reused across runs)")
    ap.add_argument("--only", default="single,load,profile,dashboard,stream,big")
    ap.add_argument("--serve", default="", help="extra `serve` options for this lens-proxy, e.g. '--workers 2'")
    ap.add_argument("--alt-serve", default="", help="also measure this lens-proxy with these `serve` options ('alt')")
    args = ap.parse_args()
    only = set(args.only.split(","))
    tmp = Path(tempfile.mkdtemp(prefix="bench_speed_"))
    data_dir = args.data_dir or tmp
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        small = generate(data_dir / f"c360_{args.customers}.duckdb", args.customers)
        with PostgresServer.start(tmp / "pg") as pg:
            pg_small = load_postgres(pg, small, "small")
            with proxies(small, args.baseline, args.serve.split(), args.alt_serve.split()) as targets:
                everyone = [*targets, pg_small]
                print(f"\n#### {args.customers:,} customers; {os.cpu_count()} cores")
                if "single" in only:
                    single_client(everyone, args.customers, args.seconds)
                if "load" in only:
                    load(pg, everyone, args.customers, args.clients, args.seconds, tmp)
                if "profile" in only:
                    for t in targets:
                        profile(t, args.customers, args.seconds, tmp)
                if "dashboard" in only:
                    dashboard(targets, args.rounds)
                if "stream" in only:
                    stream(everyone, args.rows)
            if args.big and "big" in only:
                big = generate(data_dir / f"c360_{args.big}.duckdb", args.big)
                started = time.perf_counter()
                pg_big = load_postgres(pg, big, "big")
                print(f"PostgreSQL loaded {args.big:,} customers in {time.perf_counter() - started:.0f} s")
                with proxies(big, args.baseline, args.serve.split()) as targets:
                    print(f"\n#### {args.big:,} customers")
                    single_client([*targets, pg_big], args.big, args.seconds)
                    fairness(pg, targets, args.big, max(args.seconds, 5), tmp)
                    seed_questions(targets, big, pg_big)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
