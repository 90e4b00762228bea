"""The third npsd instance per backend, on a database seeded with a year of responses: aggregates,
export (rows/s and RSS) and cold start."""
from __future__ import annotations

import datetime as dt
import http.client
import json
import socket
import statistics
import threading
import time

from .common import API_KEY, BACKEND_TITLES, PLANS, BenchError, log, pct
from .context import Context
from .database import Database, seed_responses
from .processes import Npsd, Sink, proc_status
from .report import Result, fmt_ms
from .scenarios import AGGREGATE_QUERIES, Scenario


def phase_insights(ctx: Context, backend: str, selected: list[Scenario], out: dict) -> None:
    prof = ctx.profile
    wanted = {s.name for s in selected}
    rows = prof["seed_responses"]
    db = Database(ctx, backend, "insights")
    sink = Sink(ctx, f"{backend}-insights")
    npsd = Npsd(ctx, f"{backend}-insights", db, sink.port)
    seed_secs = None
    try:
        npsd.start()  # its migrations and the default survey
        npsd.stop()
        start_day = dt.date.today() - dt.timedelta(days=365)
        log(f"{backend}: seeding {rows:,} responses over one year from {start_day}")
        seed_secs = seed_responses(db, start_day, rows)
        log(f"{backend}: seeded in {seed_secs:.1f} s ({rows / seed_secs:,.0f} responses/s)")
        npsd.start()
        days = {"y0": start_day, "y1": start_day + dt.timedelta(days=364),
                "m0": start_day + dt.timedelta(days=100), "m1": start_day + dt.timedelta(days=129)}
        for s in selected:
            log(f"{backend}: {s.name} ({s.what})")
            if s.name == "aggregates":
                aggregates(ctx, backend, npsd, rows, days, out)
                continue
            r = out[s.name] = Result(s.name, backend, label=s.name)
            try:
                (export if s.name == "export" else cold_start)(ctx, npsd, rows, r)
            except BenchError as e:
                r.status = "not run"
                r.errors.append(str(e))
    except BenchError as e:
        for s in selected:
            if s.name not in out and not any(k.startswith(s.name + ":") for k in out):
                out[s.name] = Result(s.name, backend, label=s.name, status="not run", errors=[str(e)])
    finally:
        npsd.stop()
        sink.stop()
        for line in npsd.warnings()[:3]:
            ctx.notes.append(f"{BACKEND_TITLES[backend]} insights instance logged: {line[:300]}")
    for key, r in out.items():
        if key.split(":")[0] in wanted and seed_secs is not None:
            r.details.update(seeded_responses=rows, seed_seconds=round(seed_secs, 1))


def aggregates(ctx, backend, npsd, rows, days, out: dict) -> None:
    runs = ctx.profile["aggregate_runs"]
    conn = http.client.HTTPConnection("127.0.0.1", npsd.port, timeout=60)
    headers = {"Authorization": f"Bearer {API_KEY}"}
    try:
        for label, template, check in AGGREGATE_QUERIES:
            r = Result("aggregates", backend, label=f"aggregates: {label}")
            out[f"aggregates: {label}"] = r
            path = template.format(**{k: v.isoformat() for k, v in days.items()})
            samples, answer = [], None
            for i in range(runs + 2):
                t = time.perf_counter()
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                elapsed = time.perf_counter() - t
                if resp.status != 200:
                    r.fail(f"GET {path}: HTTP {resp.status} {data[:200]!r}")
                    break
                answer = json.loads(data)
                if i >= 2:
                    samples.append(elapsed * 1000)
            if samples:
                r.p50_ms, r.p99_ms = pct(samples, 50), pct(samples, 99)
                r.throughput, r.unit = 1000 / statistics.mean(samples), "req/s"
                r.peak_rss_kb = npsd.rss().get("VmHWM")
                r.details.update(path=path, runs=len(samples), samples_ms=[round(x, 3) for x in samples])
                problem = check_aggregate(check, answer, rows)
                if problem:
                    r.fail(problem)
            log(f"{backend}: aggregates: {label}: p50 {fmt_ms(r.p50_ms)}, p99 {fmt_ms(r.p99_ms)}"
                + (f", errors: {'; '.join(r.errors)}" if r.errors else ""))
    except (OSError, http.client.HTTPException) as e:
        raise BenchError(f"aggregates: {e!r}")
    finally:
        conn.close()


def check_aggregate(check: str, answer, rows: int) -> str | None:
    if check == "year" and answer.get("responses") != rows:
        return f"NPS for the year counted {answer.get('responses')} responses, seeded {rows}"
    if check == "month" and not answer.get("responses"):
        return "NPS for a month counted no responses"
    if check == "trend" and len(answer.get("points", [])) < 52:
        return f"weekly trend over a year has {len(answer.get('points', []))} points"
    if check == "breakdown" and len(answer.get("segments", [])) != len(PLANS):
        return f"breakdown by plan has {len(answer.get('segments', []))} segments, expected {len(PLANS)}"
    return None


def export(ctx: Context, npsd: Npsd, rows: int, r: Result) -> None:
    before = npsd.rss()
    samples, stop = [], threading.Event()

    def sampler():
        while not stop.is_set():
            samples.append(proc_status(npsd.proc.pid).get("VmRSS", 0))
            stop.wait(0.05)

    th = threading.Thread(target=sampler, daemon=True)
    deadline = time.monotonic() + ctx.profile["export_deadline"]
    lines, size, status = 0, 0, None
    th.start()
    t = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", npsd.port, timeout=60)
    try:
        conn.request("GET", "/api/v1/surveys/default/responses.csv", headers={"Authorization": f"Bearer {API_KEY}"})
        resp = conn.getresponse()
        status = resp.status
        while True:
            chunk = resp.read(1 << 16)
            if not chunk:
                break
            lines += chunk.count(b"\n")
            size += len(chunk)
            if time.monotonic() > deadline:
                r.fail(f"time-out: export still running after {ctx.profile['export_deadline']} s ({lines - 1:,} rows)")
                break
    except (OSError, http.client.HTTPException) as e:
        r.fail(f"export broke off after {lines:,} lines: {e!r}")
    finally:
        secs = time.perf_counter() - t
        conn.close()
        stop.set()
        th.join(timeout=2)
    exported = max(0, lines - 1)  # the header line
    rss_max = max(samples) if samples else None
    r.throughput, r.unit = exported / secs, "rows/s"
    r.peak_rss_kb = rss_max
    r.details.update(rows=exported, seconds=round(secs, 3), bytes=size, rss_before_kb=before.get("VmRSS"),
                     rss_max_kb=rss_max, rss_samples=len(samples), vmhwm_after_kb=npsd.rss().get("VmHWM"))
    if status != 200:
        r.fail(f"responses.csv answered {status}")
    elif exported != rows and not r.errors:
        r.fail(f"exported {exported:,} rows, seeded {rows:,}")
    if rss_max is not None and before.get("VmRSS"):
        r.yardstick = f"RSS before {before['VmRSS'] / 1024:.0f} MB"
    log(f"export: {exported:,} rows in {secs:.1f} s, RSS {before.get('VmRSS', 0) / 1024:.0f} → max "
        f"{(rss_max or 0) / 1024:.0f} MB" + (f", errors: {'; '.join(r.errors)}" if r.errors else ""))


def cold_start(ctx: Context, npsd: Npsd, rows: int, r: Result) -> None:
    times, hwm = [], None
    for i in range(ctx.profile["cold_starts"]):
        npsd.stop()
        t0 = npsd.spawn()
        deadline, ready = t0 + 30, None
        while time.monotonic() < deadline:
            if npsd.proc.poll() is not None:
                raise BenchError(f"npsd exited with {npsd.proc.returncode} at start: {npsd.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", npsd.port), timeout=2) as s:
                    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                    head = s.recv(64)
                if head.startswith(b"HTTP/1.1 200"):
                    ready = time.monotonic()
                    break
            except OSError:
                pass  # connection refused: not listening yet
            time.sleep(0.002)
        if ready is None:
            r.fail("time-out: /healthz not 200 within 30 s of the spawn")
            return
        times.append((ready - t0) * 1000)
        hwm = npsd.rss().get("VmHWM")
    r.p50_ms, r.p99_ms = statistics.median(times), max(times)
    r.peak_rss_kb = hwm
    r.details["starts_ms"] = [round(x, 1) for x in times]
    log(f"cold start: {', '.join(f'{x:.0f}' for x in times)} ms")
