"""The scale-out phase, PostgreSQL only (skipped on SQLite), after the requests phase: score_click
with 1, 2 and 4 npsd instances on one database (the 64 connections split evenly across them, one
wrk per instance, each on its own slice of link tokens), PostgreSQL's lock waits sampled every
100 ms meanwhile by one psql on a connection of its own, and during the one-instance run the lag
of the figures after an acknowledged answer (figure_lag)."""
from __future__ import annotations

import http.client
import json
import queue
import subprocess
import threading
import time
from collections import Counter

from .common import (API_KEY, BACKEND_TITLES, BROWSER_UA, LAG_POLL_S, LOCK_SAMPLE_S, SCALE_INSTANCES,
                     WRK_CONNECTIONS, BenchError, log, pct)
from .context import Context
from .database import Database, seed_link_tokens
from .httpapi import api, http_request
from .phase_requests import check_link, make_tokens, wrk_argv, wrk_output
from .processes import Npsd
from .report import Result, fmt_ms, fmt_rate
from .scenarios import SCENARIO_BY_NAME, Scenario

# Lock types of a wait on a row another transaction holds (a shared row), and npsd's own write lock.
SHARED_ROW_LOCKS = {"tuple", "transactionid"}
ADVISORY = "advisory"

# One sample, one line: the database's backends waiting on a Lock (pg_stat_activity) and their
# wait events, the locks not granted grouped by type, relation and mode (pg_locks; fields joined
# by chr(31), groups by chr(30)), and the waiting statements (chr(30) between them). The
# sampler's own backend is left out.
LOCK_QUERY = (
    "SELECT 'sample', "
    "(SELECT count(*) FILTER (WHERE wait_event_type = 'Lock') FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()), "
    "(SELECT string_agg(DISTINCT wait_event, ',') FILTER (WHERE wait_event_type = 'Lock') FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()), "
    "(SELECT string_agg(w, chr(30)) FROM (SELECT l.locktype || chr(31) || coalesce(l.relation::regclass::text, '-') "
    "|| chr(31) || l.mode || chr(31) || count(*) AS w FROM pg_locks l WHERE NOT l.granted "
    "AND (l.database IS NULL OR l.database = (SELECT oid FROM pg_database WHERE datname = current_database())) "
    "GROUP BY l.locktype, l.relation, l.mode) g), "
    "(SELECT string_agg(DISTINCT left(regexp_replace(query, '\\s+', ' ', 'g'), 120), chr(30)) "
    "FILTER (WHERE wait_event_type = 'Lock') FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid());"
)


def phase_scale_out(ctx: Context, backend: str, selected: list[Scenario], out: dict) -> None:
    if backend != "postgres":
        return  # one SQLite file takes one writer: there is nothing to scale out
    prof = ctx.profile
    wanted = {s.name for s in selected}
    counts = SCALE_INSTANCES if "scale_out" in wanted else (1,)
    per_run, warm = prof["scale_tokens"], prof["scale_warm_tokens"]
    db = Database(ctx, backend, "scaleout")
    instances = [Npsd(ctx, f"{backend}-scale{i + 1}", db, smtp_port=None, dispatcher=False)
                 for i in range(max(counts))]
    try:
        first = instances[0]
        first.start()  # its migrations and the default survey
        first.stop()
        total = len(counts) * (warm + per_run)
        log(f"{backend}: scale_out: seeding {total + 1:,} sent invitations with link tokens on one database")
        tokens = make_tokens(total + 1)
        t = time.monotonic()
        seed_link_tokens(db, tokens, f"s{ctx.run_id}")
        log(f"{backend}: seeded in {time.monotonic() - t:.1f} s")
        token_file = ctx.tmp / f"tokens-{backend}-scaleout.txt"
        token_file.write_text("\n".join(tokens[:-1]) + "\n")
        first.start()
        check_link(first, tokens[-1])
        if "figure_lag" in wanted:
            status, body = api(first.port, "PATCH", "/api/v1/surveys/default",
                               {"allowed_origins": ["https://shop.example"]})
            if status != 200:
                raise BenchError(f"PATCH /api/v1/surveys/default (allowed_origins) answered {status} {body}")
        baseline = None
        for j, n in enumerate(counts):
            r = Result("scale_out", backend, label=f"score_click ×{n}")
            if "scale_out" in wanted:
                out[f"scale_out: ×{n}"] = r
            lag = None
            if n == 1 and "figure_lag" in wanted:
                lag = out["figure_lag"] = Result("figure_lag", backend, label="figure_lag")
            log(f"{backend}: score_click ×{n}: {n} npsd instance{'s' if n > 1 else ''}, "
                f"{n} wrk -t1 -c{WRK_CONNECTIONS // n}" + (", figure_lag probes" if lag else ""))
            try:
                for npsd in instances[:n]:
                    if npsd.proc is None:
                        npsd.start()
                scale_run(ctx, backend, instances[:n], db, token_file, j * (warm + per_run), r, lag)
            except BenchError as e:
                r.status = "not run"
                r.errors.append(str(e))
                if lag is not None and lag.p99_ms is None:
                    lag.status = "not run"
                    lag.errors.append(str(e))
            if n == 1:
                r.details["baseline"] = True
                r.target = "no wait on a shared row"
                baseline = r.throughput if r.status == "ok" else None
            elif baseline and r.throughput is not None:
                r.ratio = r.throughput / baseline
                r.yardstick = f"×1 {baseline:,.0f} req/s"
            waits = r.details.get("lock_waits", {})
            log(f"{backend}: score_click ×{n}: {fmt_rate(r.throughput, r.unit)}, p99 {fmt_ms(r.p99_ms)}, "
                f"lock waits in {waits.get('with_wait', '?')} of {waits.get('samples', '?')} samples "
                f"(shared rows: {waits.get('shared_samples', '?')})"
                + (f", errors: {'; '.join(r.errors)}" if r.errors else ""))
            if lag is not None:
                log(f"{backend}: figure_lag: p50 {fmt_ms(lag.p50_ms)}, p99 {fmt_ms(lag.p99_ms)}, "
                    f"max {fmt_ms(lag.details.get('max_ms'))}" + (f", errors: {'; '.join(lag.errors)}" if lag.errors else ""))
    finally:
        warnings = []
        for npsd in instances:
            npsd.stop()
            warnings += npsd.warnings()
        for line in warnings[:3]:
            ctx.notes.append(f"{BACKEND_TITLES[backend]} scale-out instances logged: {line[:300]}")


def scale_run(ctx: Context, backend: str, npsds: list[Npsd], db: Database, token_file, base: int,
              r: Result, lag: Result | None) -> None:
    """One run of score_click on len(npsds) instances: a warm-up, then the measured run with the
    lock sampler (and the lag probes, when lag is given); fills r (and lag)."""
    prof = ctx.profile
    n = len(npsds)
    s = SCENARIO_BY_NAME["score_click"]
    warm, per_run = prof["scale_warm_tokens"], prof["scale_tokens"]

    def options(start: int, count: int, i: int, tag: str) -> dict:
        each = count // n  # instance i's slice of the run's tokens: no token is used twice
        return {"threads": 1, "key": API_KEY, "tokens": token_file, "start": start + i * each, "limit": each,
                "prefix": f"{tag}{ctx.run_id}x{n}i{i}"}

    if prof["warmup"]:
        raws = wrk_together(ctx, s, npsds, prof["warmup"], [options(base, warm, i, "w") for i in range(n)],
                            f"wrk-{backend}-scale-x{n}-warmup")
        r.details["warmup"] = {"requests": sum(x["requests"] for x in raws)}
    sampler = LockSampler(ctx, db, f"psql-locks-{backend}-x{n}")
    probes = LagProbes(ctx, npsds[0].port) if lag is not None else None
    sampler.start(deadline_s=prof["duration"] + 120)
    try:
        raws = wrk_together(ctx, s, npsds, prof["duration"],
                            [options(base + warm, per_run, i, "m") for i in range(n)],
                            f"wrk-{backend}-scale-x{n}", on_started=probes.start if probes else None)
    finally:
        if probes is not None:
            probes.finish()
        locks = sampler.stop()
    r.throughput = sum(x["requests"] / (x["duration_us"] / 1e6) for x in raws)
    r.unit = "req/s"
    r.p50_ms = max(x["latency_us"]["p50"] for x in raws) / 1000
    r.p99_ms = max(x["latency_us"]["p99"] for x in raws) / 1000
    r.peak_rss_kb = max((h for h in (npsd.rss().get("VmHWM") for npsd in npsds) if h), default=None)
    r.details.update(instances=n, connections_each=WRK_CONNECTIONS // n, wrk=raws, lock_waits=locks)
    for i, x in enumerate(raws, 1):
        e = x["errors"]
        socket_errors = e["connect"] + e["read"] + e["write"] + e["timeout"]
        if socket_errors:
            r.fail(f"instance {i}: socket errors: connect {e['connect']}, read {e['read']}, write {e['write']}, "
                   f"timeout {e['timeout']}")
        unexpected = {c: k for c, k in x["statuses"].items() if int(c) != s.expect}
        if unexpected:
            r.fail(f"instance {i}: {sum(unexpected.values())} answers not {s.expect}: {unexpected}")
        if x["requests"] == 0:
            r.fail(f"instance {i}: no request completed")
    wrapped = sum(x["wrapped"] for x in raws)
    if wrapped:
        ctx.notes.append(f"score_click ×{n} on {BACKEND_TITLES[backend]}: {wrapped:,} requests reused a link token "
                         f"(a wrk ran out of its {per_run // n:,} tokens and wrapped around): raise scale_tokens")
    for e in locks["errors"][:3]:
        r.fail(f"lock sampling: {e}")
    if probes is not None:
        probes.fill(lag, backend)


def wrk_together(ctx: Context, s: Scenario, npsds: list[Npsd], duration: int, options: list[dict], name: str,
                 on_started=None) -> list[dict]:
    """One wrk per instance (-t1, the 64 connections split evenly), all started at once; their
    results. on_started is called once they are all running."""
    conns = WRK_CONNECTIONS // len(npsds)
    procs = []
    try:
        for i, (npsd, opts) in enumerate(zip(npsds, options), 1):
            argv = wrk_argv(ctx, s, npsd.port, duration, opts, threads=1, connections=conns)
            procs.append(ctx.procs.spawn(f"{name}-{i}", argv))
        if on_started is not None:
            on_started()
        deadline = time.monotonic() + duration + 90
        for p in procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise BenchError(f"wrk ({name}) still running {duration + 90} s after its start")
    finally:
        for p in procs:
            ctx.procs.stop(p, timeout=5)
    return [wrk_output(f"{name}-{i}", p.returncode, (ctx.tmp / f"{name}-{i}.log").read_text(errors="replace"))
            for i, p in enumerate(procs, 1)]


class LockSampler:
    """PostgreSQL's lock waits during a run: one psql on a connection of its own to the database,
    sent LOCK_QUERY every 100 ms by a thread until stopped (or its deadline), each answer counted:
    samples, samples with any Lock wait, those on a shared row (tuple, transactionid), those on
    npsd's advisory write lock, and which locks were waited on."""

    def __init__(self, ctx: Context, db: Database, name: str):
        self.ctx, self.db, self.name = ctx, db, name
        self.proc: subprocess.Popen | None = None
        self.lines: queue.Queue = queue.Queue()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.end = 0.0
        self.counts = {"samples": 0, "with_wait": 0, "shared_samples": 0, "advisory_samples": 0,
                       "other_samples": 0, "max_waiting": 0}
        self.waited: Counter = Counter()    # "tuple on tallies (ShareLock)": samples it was seen in
        self.waiters: Counter = Counter()   # the same: waiting backends, summed over the samples
        self.queries: Counter = Counter()   # waiting statements (their first 120 characters)
        self.errors: list[str] = []

    def start(self, deadline_s: float) -> None:
        self.proc = self.ctx.procs.spawn_piped(
            self.name, ["psql", "-X", "-q", "-t", "-A", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-d", self.db.url],
            env=self.ctx.pg_env)
        threading.Thread(target=self._read, daemon=True).start()
        try:
            self.sample(timeout=15, count=False)  # connected, and the query works
        except BenchError:
            self.stop()
            raise
        self.end = time.monotonic() + deadline_s
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for line in self.proc.stdout:
                self.lines.put(line)
        except (OSError, ValueError):
            pass
        self.lines.put(None)

    def sample(self, timeout: float = 5.0, count: bool = True) -> None:
        try:
            self.proc.stdin.write(LOCK_QUERY + "\n")
            self.proc.stdin.flush()
        except (OSError, ValueError) as e:
            raise BenchError(f"psql (lock sampler) gone: {e!r}")
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise BenchError(f"psql (lock sampler) did not answer within {timeout:g} s")
        if line is None:
            raise BenchError(f"psql (lock sampler) exited with {self.proc.poll()}: {self.log_tail()}")
        if count:
            self.add(line.rstrip("\n").split("\t"))

    def _run(self) -> None:
        next_at = time.monotonic() + LOCK_SAMPLE_S
        while not self.stopping.wait(max(0.0, next_at - time.monotonic())) and time.monotonic() < self.end:
            next_at = max(next_at + LOCK_SAMPLE_S, time.monotonic())
            try:
                self.sample()
            except BenchError as e:
                self.errors.append(str(e))
                return

    def add(self, fields: list[str]) -> None:
        if len(fields) != 5 or fields[0] != "sample":
            self.errors.append(f"unexpected psql line: {' '.join(fields)[:200]!r}")
            return
        waiting = int(fields[1] or 0)
        events = {e for e in fields[2].split(",") if e}
        groups = [g.split("\x1f") for g in fields[3].split("\x1e") if g]
        kinds = events | {g[0] for g in groups}
        c = self.counts
        c["samples"] += 1
        c["max_waiting"] = max(c["max_waiting"], waiting)
        if waiting or groups:
            c["with_wait"] += 1
        if kinds & SHARED_ROW_LOCKS:
            c["shared_samples"] += 1
        if ADVISORY in kinds:
            c["advisory_samples"] += 1
        if kinds - SHARED_ROW_LOCKS - {ADVISORY}:
            c["other_samples"] += 1
        for g in groups:
            if len(g) == 4:
                locktype, relation, mode, k = g
                key = locktype + ("" if relation == "-" else f" on {relation}") + f" ({mode})"
                self.waited[key] += 1
                self.waiters[key] += int(k)
            else:
                self.waited[" ".join(g)] += 1
        for q in fields[4].split("\x1e"):
            if q:
                self.queries[q] += 1

    def stop(self) -> dict:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=15)
            if self.thread.is_alive():
                self.errors.append("the lock sampler did not stop within 15 s")
        if self.proc is not None:
            try:
                self.proc.stdin.close()
            except (OSError, ValueError):
                pass
            self.ctx.procs.stop(self.proc, timeout=5)
        return dict(self.counts,
                    waited_on={k: {"samples": v, "waiters": self.waiters[k]} for k, v in self.waited.most_common()},
                    waiting_queries=dict(self.queries.most_common(5)), errors=list(self.errors))

    def log_tail(self, n: int = 5) -> str:
        try:
            lines = (self.ctx.tmp / f"{self.name}.log").read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(lines[-n:])


class LagProbes:
    """figure_lag: while wrk clicks on the one instance, a thread posts widget answers one after
    another (a new visitor_id each, properties {"lag_probe": "p<i>"}) and, from each 201, asks
    GET …/nps/breakdown?by=lag_probe every 25 ms until the segment p<i> is there. The lag is the
    201 to the answer of the first poll that shows it. New probes stop when the run ends."""

    def __init__(self, ctx: Context, port: int):
        self.ctx, self.port = ctx, port
        self.count, self.deadline_s = ctx.profile["lag_probes"], ctx.profile["lag_deadline"]
        self.stopping = threading.Event()
        self.lags_ms: list[float] = []
        self.errors: list[str] = []
        self.posted = 0
        self.polls = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        headers = {"Origin": "https://shop.example", "Content-Type": "application/json",
                   "Accept": "application/json", "User-Agent": BROWSER_UA}
        for i in range(self.count):
            if self.stopping.is_set():
                return
            value = f"p{i}"
            body = json.dumps({"score": i % 11, "visitor_id": f"lag{self.ctx.run_id}-{i}",
                               "properties": {"lag_probe": value}}).encode()
            self.posted += 1
            try:
                status, data = http_request(self.port, "POST", "/api/v1/embed/default/responses", body, headers,
                                            timeout=30)
            except (OSError, http.client.HTTPException) as e:
                self.errors.append(f"probe {value}: POST failed: {e!r}")
                continue
            acked = time.monotonic()
            if status != 201:
                self.errors.append(f"probe {value}: POST answered {status} {data[:200]!r}")
                continue
            seen = self.wait_for(value, acked + self.deadline_s)
            if seen is None:
                self.errors.append(f"probe {value}: not in the breakdown {self.deadline_s:g} s after its 201")
                continue
            self.lags_ms.append((seen - acked) * 1000)

    def wait_for(self, value: str, deadline: float) -> float | None:
        """The time of the first poll's answer that shows the segment; None past the deadline."""
        while time.monotonic() < deadline:
            try:
                status, data = api(self.port, "GET", "/api/v1/surveys/default/nps/breakdown?by=lag_probe", timeout=10)
            except (OSError, http.client.HTTPException):
                status, data = None, None
            self.polls += 1
            if status == 200 and isinstance(data, dict) and any(
                    seg.get("value") == value for seg in data.get("segments", [])):
                return time.monotonic()
            time.sleep(LAG_POLL_S)
        return None

    def finish(self) -> None:
        """No new probe after this; the one under way finishes (bounded)."""
        self.stopping.set()
        if self.thread.is_alive() or self.thread.ident is not None:
            self.thread.join(timeout=self.deadline_s + 45)
            if self.thread.is_alive():
                self.errors.append("the lag probes did not finish")

    def fill(self, r: Result, backend: str) -> None:
        lags = list(self.lags_ms)
        r.throughput, r.unit = len(lags), "probes"
        r.p50_ms, r.p99_ms = pct(lags, 50), pct(lags, 99)
        r.details.update(probes=self.posted, shown=len(lags), polls=self.polls,
                         max_ms=round(max(lags), 1) if lags else None, lags_ms=[round(x, 1) for x in lags])
        for e in self.errors[:5]:
            r.fail(e)
        if len(self.errors) > 5:
            r.fail(f"and {len(self.errors) - 5} more")
        if not lags and not self.errors:
            r.fail("no probe finished during the run")
        if lags:
            self.ctx.notes.append(
                f"figure_lag on {BACKEND_TITLES[backend]}: {len(lags)} probes during score_click ×1, lag p50 "
                f"{fmt_ms(r.p50_ms)}, p99 {fmt_ms(r.p99_ms)}, max {fmt_ms(max(lags))}"
                + (f" (fewer than {self.count}: the run ended first)" if self.posted < self.count else ""))
