"""The first npsd instance per backend: the request scenarios under wrk (livez, score_click,
comment_post, widget_post, single_ingest) and batch_ingest, the write paths each against the write
yardstick (bench/yardstick.rs on a database of its own, measured right after livez)."""
from __future__ import annotations

import base64
import json
import secrets
import time
from pathlib import Path

from .batches import build_batches, post_batches
from .common import API_KEY, BACKEND_TITLES, BROWSER_UA, WRK_CONNECTIONS, WRK_THREADS, BenchError, log, pct
from .context import Context
from .database import Database, seed_link_tokens
from .httpapi import api, http_request
from .processes import Npsd, Sink, Yardstick, run
from .report import Result, fmt_ms, fmt_rate
from .scenarios import LUA_COMMON, SCENARIO_BY_NAME, Scenario


def make_tokens(n: int) -> list[str]:
    """Link tokens shaped like npsd's: 256 random bits, URL-safe base64 without padding (43 chars)."""
    return [base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode() for _ in range(n)]


def wrk_argv(ctx: Context, scenario: Scenario, port: int, duration: int, options: dict,
             threads: int = WRK_THREADS, connections: int = WRK_CONNECTIONS) -> list:
    """The wrk command of a scenario (its script written once per run)."""
    script = ctx.tmp / f"{scenario.name}.lua"
    if not script.exists():
        script.write_text(LUA_COMMON + scenario.lua.replace("@UA@", BROWSER_UA))
    return [ctx.tools["wrk"], f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "30s",
            "-s", script, f"http://127.0.0.1:{port}/", "--"] + [f"{k}={v}" for k, v in options.items()]


def wrk_output(name: str, returncode: int | None, stdout: str, stderr: str = "") -> dict:
    """The JSON line a wrk run's done() printed (common.lua)."""
    line = next((l for l in stdout.splitlines() if l.startswith("BENCHJSON ")), None)
    if returncode != 0 or line is None:
        raise BenchError(f"wrk ({name}) exited {returncode}: {(stderr or stdout).strip()[-600:]}")
    return json.loads(line[len("BENCHJSON "):])


def run_wrk(ctx: Context, scenario: Scenario, port: int, duration: int, options: dict) -> dict:
    out = run(wrk_argv(ctx, scenario, port, duration, options), timeout=duration + 90)
    return wrk_output(scenario.name, out.returncode, out.stdout, out.stderr)


def wrk_scenario(ctx: Context, s: Scenario, backend: str, server: Npsd | Yardstick, r: Result,
                 token_file: Path | None, token_range: dict) -> None:
    """Warm-up, then the measured run against server (npsd, or the write yardstick); fills r."""
    prof = ctx.profile
    opts = {"threads": WRK_THREADS, "key": API_KEY}
    warm_opts, meas_opts = dict(opts), dict(opts)
    if s.tokens:
        # Warm-up tokens come from the head of the file, measured ones after them: the comment
        # scenario walks the very slices the click scenario clicked, in the same order.
        warm_opts.update(tokens=token_file, start=0, limit=token_range["warm"] // WRK_THREADS)
        meas_opts.update(tokens=token_file, start=token_range["warm"], limit=token_range["measured"] // WRK_THREADS)
    warm_opts["prefix"] = f"w{ctx.run_id}{backend[0]}{s.name[0]}"
    meas_opts["prefix"] = f"m{ctx.run_id}{backend[0]}{s.name[0]}"
    if prof["warmup"]:
        warm = run_wrk(ctx, s, server.port, prof["warmup"], warm_opts)
        r.details["warmup"] = {"requests": warm["requests"], "statuses": warm["statuses"]}
    raw = run_wrk(ctx, s, server.port, prof["duration"], meas_opts)
    secs = raw["duration_us"] / 1e6
    r.throughput, r.unit = raw["requests"] / secs, "req/s"
    r.p50_ms, r.p99_ms = raw["latency_us"]["p50"] / 1000, raw["latency_us"]["p99"] / 1000
    r.details["wrk"] = raw
    if isinstance(server, Npsd):  # the yardstick's RSS is not measured
        rss = server.rss()
        r.peak_rss_kb = rss.get("VmHWM")
        r.details["rss_after_kb"] = rss
    e = raw["errors"]
    socket_errors = e["connect"] + e["read"] + e["write"] + e["timeout"]
    if socket_errors:
        r.fail(f"socket errors: connect {e['connect']}, read {e['read']}, write {e['write']}, timeout {e['timeout']}")
    unexpected = {c: n for c, n in raw["statuses"].items() if int(c) != s.expect}
    if unexpected:
        r.fail(f"{sum(unexpected.values())} answers not {s.expect}: {unexpected}")
    if raw["requests"] == 0:
        r.fail("no request completed")
    if raw["wrapped"]:
        ctx.notes.append(f"{s.name} on {BACKEND_TITLES[backend]}: {raw['wrapped']:,} requests reused a link token "
                         f"(a wrk thread ran out of its {token_range['measured'] // WRK_THREADS:,} tokens and "
                         "wrapped around): raise the token count")
    if s.name == "livez" and raw["statuses"].get("404"):
        r.fail("GET /livez answered 404: this npsd binary predates the /livez route; rebuild it")


def compare(s: Scenario, r: Result, livez: float | None, written: float | None) -> None:
    """The row's ratio to what its target compares with: the write yardstick (rows/s, one row a
    request) for the write paths, /livez for a `ratio` target. The ratio to /livez is kept in the
    raw results of every row measured after it."""
    if r.throughput is None:
        return
    if livez and s.name not in ("livez", "write_yardstick"):
        r.details["ratio_to_livez"] = round(r.throughput / livez, 4)
    kind = s.target.kind if s.target else None
    if kind == "yardstick_ratio" and written:
        r.ratio = r.throughput / written
        r.yardstick = f"write yardstick {written:,.0f} {'rows/s' if s.kind == 'batch' else 'req/s'}"
    elif kind == "ratio" and livez:
        r.ratio = r.throughput / livez
        r.yardstick = f"livez {livez:,.0f} req/s"


def check_link(npsd: Npsd, token: str) -> None:
    """One seeded link, checked by hand before wrk: the click page with its form."""
    status, body = http_request(npsd.port, "GET", f"/r/{token}?score=9",
                                headers={"User-Agent": BROWSER_UA, "Accept": "text/html"})
    if status != 200 or b"<form" not in body:
        raise BenchError(f"a seeded link token's click answered {status}, not the form page: {body[:200]!r}")


def write_yardstick(ctx: Context, s: Scenario, backend: str, r: Result) -> None:
    """bench/yardstick.rs on a fresh database of its own (a SQLite file in the temp dir, or a
    PostgreSQL database of the run), under the same wrk settings; stopped right after."""
    ys = Yardstick(ctx, backend, Database(ctx, backend, "yardstick"))
    try:
        ys.start()
        wrk_scenario(ctx, s, backend, ys, r, None, {})
    finally:
        ys.stop()


def phase_requests(ctx: Context, backend: str, selected: list[Scenario], out: dict) -> None:
    prof = ctx.profile
    wanted = {s.name for s in selected}
    db = Database(ctx, backend, "main")
    sink = Sink(ctx, f"{backend}-main")
    npsd = Npsd(ctx, f"{backend}-main", db, sink.port)
    try:
        npsd.start()
        token_file, token_range = None, {}
        if wanted & {"score_click", "comment_post"}:
            npsd.stop()
            k, w = prof["tokens"], prof["warm_tokens"]
            log(f"{backend}: seeding {k + w + 1:,} sent invitations with link tokens")
            tokens = make_tokens(w + k + 1)
            t = time.monotonic()
            seed_link_tokens(db, tokens, f"b{ctx.run_id}")
            log(f"{backend}: seeded in {time.monotonic() - t:.1f} s")
            token_file = ctx.tmp / f"tokens-{backend}.txt"
            token_file.write_text("\n".join(tokens[:-1]) + "\n")
            token_range = {"warm": w, "measured": k}
            npsd.start()
            check_link(npsd, tokens[-1])
        if "widget_post" in wanted:
            status, body = api(npsd.port, "PATCH", "/api/v1/surveys/default",
                               {"allowed_origins": ["https://shop.example"]})
            if status != 200:
                raise BenchError(f"PATCH /api/v1/surveys/default (allowed_origins) answered {status} {body}")
        # livez always runs first, and the write yardstick right after it whenever a row compares
        # with it: both are what the rows below are compared with.
        first = ["livez"]
        if any(s.name == "write_yardstick" or (s.target and s.target.kind == "yardstick_ratio") for s in selected):
            first.append("write_yardstick")
        livez, written, clicked = None, None, None
        for s in [SCENARIO_BY_NAME[n] for n in first] + [s for s in selected if s.kind in ("wrk", "batch")
                                                          and s.name not in first]:
            r = Result(s.name, backend, label=s.name)
            out[s.name] = r
            log(f"{backend}: {s.name} ({s.what})")
            try:
                if s.name == "write_yardstick":
                    write_yardstick(ctx, s, backend, r)
                    if r.status == "ok":
                        written = r.throughput
                elif s.kind == "wrk":
                    wrk_scenario(ctx, s, backend, npsd, r, token_file, token_range)
                    if s.name == "livez" and r.status == "ok":
                        livez = r.throughput
                    if s.name == "score_click":
                        clicked = r.details["wrk"]["used_per_thread"]
                    if s.name == "comment_post" and clicked:
                        posted = r.details["wrk"]["used_per_thread"]
                        on_clicked = sum(min(a, b) for a, b in zip(posted, clicked))
                        r.details["comments_on_clicked_tokens"] = on_clicked
                        if on_clicked < sum(posted):
                            ctx.notes.append(
                                f"comment_post on {BACKEND_TITLES[backend]}: {sum(posted) - on_clicked:,} of "
                                f"{sum(posted):,} comments went to links score_click had not reached (still "
                                "valid answers: a form post needs no click first)")
                else:
                    batch_ingest(ctx, backend, npsd, r)
                compare(s, r, livez, written)
            except BenchError as e:
                r.status = "not run"
                r.errors.append(str(e))
            log(f"{backend}: {s.name}: {fmt_rate(r.throughput, r.unit)}, p50 {fmt_ms(r.p50_ms)}, "
                f"p99 {fmt_ms(r.p99_ms)}" + (f", errors: {'; '.join(r.errors)}" if r.errors else ""))
    finally:
        npsd.stop()
        sink.stop()
        for line in npsd.warnings()[:3]:
            ctx.notes.append(f"{BACKEND_TITLES[backend]} main instance logged: {line[:300]}")


def batch_ingest(ctx: Context, backend: str, npsd: Npsd, r: Result) -> None:
    total = ctx.profile["batch_total"]
    bodies = build_batches(f"bi{ctx.run_id}{backend[0]}", total, delay=86400)
    res = post_batches(npsd.port, bodies, threads=4, deadline_s=ctx.profile["batch_deadline"])
    r.throughput, r.unit = res["accepted"] / res["seconds"], "tx/s"
    ms = [x * 1000 for x in res["latencies"]]
    r.p50_ms, r.p99_ms = pct(ms, 50), pct(ms, 99)
    r.peak_rss_kb = npsd.rss().get("VmHWM")
    r.details.update(transactions=total, batches=len(bodies), seconds=round(res["seconds"], 3),
                     accepted=res["accepted"])
    for e in res["errors"][:5]:
        r.fail(e)
