"""The first npsd instance per backend: the request scenarios under wrk (livez, score_click,
comment_post, widget_post, single_ingest), each against /livez, and batch_ingest."""
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
from .processes import Npsd, Sink, run
from .report import Result, fmt_ms, fmt_rate
from .scenarios import LUA_COMMON, SCENARIO_BY_NAME, Scenario


def make_tokens(n: int) -> list[str]:
    """Link tokens shaped like npsd's: 256 random bits, URL-safe base64 without padding (43 chars)."""
    return [base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode() for _ in range(n)]


def run_wrk(ctx: Context, scenario: Scenario, port: int, duration: int, options: dict) -> dict:
    script = ctx.tmp / f"{scenario.name}.lua"
    if not script.exists():
        script.write_text(LUA_COMMON + scenario.lua.replace("@UA@", BROWSER_UA))
    cmd = [ctx.tools["wrk"], f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{duration}s", "--timeout", "30s",
           "-s", script, f"http://127.0.0.1:{port}/", "--"] + [f"{k}={v}" for k, v in options.items()]
    out = run(cmd, timeout=duration + 90)
    line = next((l for l in out.stdout.splitlines() if l.startswith("BENCHJSON ")), None)
    if out.returncode != 0 or line is None:
        raise BenchError(f"wrk ({scenario.name}) exited {out.returncode}: "
                         f"{(out.stderr or out.stdout).strip()[-600:]}")
    return json.loads(line[len("BENCHJSON "):])


def wrk_scenario(ctx: Context, s: Scenario, backend: str, npsd: Npsd, r: Result, token_file: Path | None,
                 token_range: dict, livez: float | None) -> None:
    """Warm-up, then the measured run; fills r."""
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
        warm = run_wrk(ctx, s, npsd.port, prof["warmup"], warm_opts)
        r.details["warmup"] = {"requests": warm["requests"], "statuses": warm["statuses"]}
    raw = run_wrk(ctx, s, npsd.port, prof["duration"], meas_opts)
    rss = npsd.rss()
    secs = raw["duration_us"] / 1e6
    r.throughput, r.unit = raw["requests"] / secs, "req/s"
    r.p50_ms, r.p99_ms = raw["latency_us"]["p50"] / 1000, raw["latency_us"]["p99"] / 1000
    r.peak_rss_kb = rss.get("VmHWM")
    r.details.update(wrk=raw, rss_after_kb=rss)
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
    if s.name != "livez" and livez:
        r.ratio = r.throughput / livez
        r.yardstick = f"livez {livez:,.0f} req/s"


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
            # One seeded link, checked by hand before wrk: the click page with its form.
            status, body = http_request(npsd.port, "GET", f"/r/{tokens[-1]}?score=9",
                                        headers={"User-Agent": BROWSER_UA, "Accept": "text/html"})
            if status != 200 or b"<form" not in body:
                raise BenchError(f"a seeded link token's click answered {status}, not the form page: {body[:200]!r}")
        if "widget_post" in wanted:
            status, body = api(npsd.port, "PATCH", "/api/v1/surveys/default",
                               {"allowed_origins": ["https://shop.example"]})
            if status != 200:
                raise BenchError(f"PATCH /api/v1/surveys/default (allowed_origins) answered {status} {body}")
        livez, clicked = None, None
        for s in [SCENARIO_BY_NAME["livez"]] + [s for s in selected if s.kind in ("wrk", "batch") and s.name != "livez"]:
            r = Result(s.name, backend, label=s.name)
            out[s.name] = r
            log(f"{backend}: {s.name} ({s.what})")
            try:
                if s.kind == "wrk":
                    wrk_scenario(ctx, s, backend, npsd, r, token_file, token_range, livez)
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
