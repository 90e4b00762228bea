#!/usr/bin/env python3
"""npsd performance benchmark: one command measures every scenario and writes the report.

Run it from anywhere (paths are taken from this file's place in the checkout):

    python3 bench/run.py all                  # full run, about 12 minutes on 2 cores: builds npsd,
                                              # measures SQLite then PostgreSQL, writes the report
                                              # into docs/PERFORMANCE.md between the markers
                                              # <!-- bench:begin --> and <!-- bench:end -->
    python3 bench/run.py all --quick          # CI smoke run, about 2 minutes: small sizes, 2 s per
                                              # wrk scenario; report in target/bench/quick.md
    python3 bench/run.py all --skip-build --backends sqlite --out /tmp/bench.md
    python3 bench/run.py score_click,comment_post --quick --skip-build   # some scenarios only

Options: --skip-build (use target/release/npsd and target/release/examples/{seed,yardstick} as
they are), --quick, --backends sqlite,postgres,
--postgres-url URL (an admin URL, default postgres://postgres@127.0.0.1:5432/postgres: the run
creates databases npsd_bench_<pid>[_purpose] there and drops them at the end, also on Ctrl-C or an
error; the user must be allowed to CREATE DATABASE and, for the fast seed, to
SET session_replication_role), --out PATH (write the report there instead, and the raw results
beside it as PATH with .json; docs/ is then never touched), --keep (keep the temporary directory
with the logs, databases and wrk scripts). Only a full run of `all` without --out writes into
docs/PERFORMANCE.md (creating the markers after its "# Performance" title when they are missing,
and keeping everything else in the file); --quick, or a run of some scenarios only, writes
target/bench/quick.md. The raw results always go to target/bench/results.json as well. Progress
goes to stderr, the report to stdout, and the elapsed time is printed at the end.

Exit status: 0 when every scenario ran without errors; 1 when any could not run or had errors
(socket errors, unexpected HTTP statuses, batch items not accepted, undelivered emails, a time-out);
2 for a usage error; 130 when interrupted. Timings never fail the run: "met?" in the report says
how each compares with its target, so --quick works as a CI smoke check.

What it needs (Debian; as root it installs what is missing with apt-get, DEBIAN_FRONTEND=
noninteractive): python3 (standard library only), wrk, smtp-source and smtp-sink from the postfix
package (installed with debconf's "No configuration"; the postfix daemon is never started, and is
stopped again if the install started it), psql for PostgreSQL and cargo for the build
(`cargo build --release --bin npsd --example seed --example yardstick`). The databases are seeded
by bench/seed.rs through npsd's own store code: the harness itself writes no SQL to npsd's tables.

Every process it starts (npsd, the write yardstick, smtp-sink, smtp-source, wrk, psql) is stopped
when it ends (try/finally, atexit, SIGINT/SIGTERM/SIGHUP handlers, and PR_SET_PDEATHSIG on each
child), every loop has a bound or a deadline, and everything listens on 127.0.0.1 on free ports.
npsd, seed and the yardstick run from copies of their binaries taken at the start, so a rebuild
during the run changes nothing.

Per backend it runs the phases below, each on npsd instances of its own with a fresh database (and
a fresh smtp-sink where mail is sent), started with NPSD_LOG=warn, NPSD_AUTH_FAILURE_LIMIT=0,
NPSD_EMBED_RATE_LIMIT=0, NPSD_EMBED_SURVEY_RATE_LIMIT=0, NPSD_API_KEY (an admin key) and
NPSD_SMTP_URL at the sink:

1. the request scenarios, each with wrk -t2 -c64 for 10 s (quick: 2 s) after a 2 s (quick: 1 s)
   warm-up that is not counted, reporting requests/s, p50/p99 latency, errors and npsd's peak RSS;
   the write paths (score_click to batch_ingest) are compared with `write_yardstick` measured on
   the same backend in the same run (target: at least 50% of it, and p99 under 20 ms for the wrk
   ones):
   - livez: GET /livez, a fixed answer that touches nothing: the fastest answer this server can
     give on this machine with this client, without the database.
   - write_yardstick: POST /append score=N to bench/yardstick.rs (actix-web + diesel, no npsd
     code; `--example yardstick`), started on a fresh database of its own (a SQLite file in the
     temporary directory, or a PostgreSQL database of the run) right after livez: it appends one
     row the size of an answer event per request and answers 201 after the commit, through the
     same kind of group commit as npsd (a bounded queue to writer threads, 1 on SQLite, 2 on
     PostgreSQL; every waiting request, up to 256, in one transaction, one INSERT each). The most
     durable single-row appends per second a server on this machine acknowledges to this client.
   - score_click: GET /r/{token}?score=N, every request a different link token (seeded by SQL as
     sent invitations with hashed tokens), N = 0..10, a browser's User-Agent and Accept: records the
     click (a response row, its tallies) and renders the form page.
   - comment_post: POST /r/{token} score=N&comment=..., form-encoded, on the tokens score_click
     clicked, in the same order (a click, then its comment: the real flow).
   - widget_post: POST /api/v1/embed/default/responses with Origin https://shop.example (allowed
     first with PATCH /api/v1/surveys/default) and a new visitor_id each time; expects 201.
   - single_ingest: POST /api/v1/transactions, distinct transaction ids and addresses,
     delay_seconds 86400 (nothing is sent meanwhile); expects 202.
   - batch_ingest (Python, not wrk): 100,000 (quick: 10,000) transactions as bodies of 1,000 built
     before timing, posted by 4 threads over keep-alive connections; transactions/s (against the
     yardstick's rows/s) and p50/p99 per batch request; every item must be accepted.
2. scale_out, PostgreSQL only (skipped on SQLite): one database seeded with link tokens for every
   run (60,000 + 10,000 warm-up a run; quick: 10,000 + 3,000), then 1, 2 and 4 npsd instances on
   it (NPSD_DISPATCHER=off, no SMTP), score_click with the 64 connections split evenly: one
   wrk -t1 -c64/N per instance, all started together, each on its own slice of the tokens (no
   token is used twice in all runs). Rows `score_click ×1`, `×2`, `×4`: the summed requests/s,
   the worst p50/p99; target: ×2 and ×4 not below ×1, and no lock wait on a shared row. During each
   measured run one psql on a connection of its own samples every 100 ms pg_stat_activity (the
   database's backends waiting on a Lock, and on what) and pg_locks (the locks not granted, by
   type, relation and mode); the report's table under the PostgreSQL rows says per run how many
   samples had a wait, how many on a shared row (tuple, transactionid) and how many on npsd's own
   advisory write lock.
   - figure_lag: during the ×1 run, a Python thread posts up to 50 widget answers one after
     another (a new visitor_id each, properties {"lag_probe": "p<i>"}) and from each 201 polls
     GET /api/v1/surveys/default/nps/breakdown?by=lag_probe every 25 ms until the segment p<i>
     appears: the lag from the acknowledgement to the first poll that shows it; p50/p99 (target:
     p99 under 1 s), the maximum in the notes.
3. delivery: 20,000 (quick: 2,000) due invitations ingested with NPSD_DISPATCHER=off, npsd stopped,
   started again with the dispatcher on; the time from that start until
   GET /api/v1/surveys/default/nps says invitations_sent = N (polled every 25 ms), and the sink must
   have counted N messages. Compared with smtp-source into its own smtp-sink (8 sessions, messages
   the size of a real survey email, measured in the same run from an .eml file npsd writes).
4. a database seeded by SQL with 1,000,000 (quick: 20,000) responses over one year (two properties,
   plan and country; a tenth with a comment) like bench/insights.rs: on SQLite through the tally
   triggers, on PostgreSQL with triggers off and the tallies backfilled, as insights.rs does:
   - aggregates: NPS for a year and for a month, a weekly trend over the year and a breakdown by
     plan, 30 sequential requests each over one keep-alive connection after 2 warm-ups; p50/p99.
     (The 10-million-response figures come from `cargo run --release --example insights --
     --database-url URL --rows 10000000`, which this harness does not run.)
   - export: GET /api/v1/surveys/default/responses.csv of every response: rows/s, and npsd's VmRSS
     sampled every 50 ms during the export against the RSS before (it must stay flat).
   - cold_start: npsd stopped and started again on that database, time from spawn to the first 200
     of GET /healthz (polled about every 2 ms); the median of 3.

Why wrk: a C, event-driven load generator with low overhead, which matters when client and server
share two cores; a Debian package; its Lua scripts give each request its own token or body
(request()), count every status (response()), and report exact latency percentiles (done()). Each
scenario's script prints one JSON line that this program parses. Python threads could not load
npsd hard enough on two cores to measure it rather than themselves.

Peak RSS is the VmHWM of the npsd process from /proc/PID/status, read right after each scenario: it
is the process-wide peak so far, so later rows of one instance include the earlier peaks (the
yardstick's is not measured; a score_click ×N row shows the highest of its instances).

The code: this file parses the command line and runs the whole; the harness is the package
bench/npsd_bench/ beside it (scenarios.py: the scenario table; processes.py: children, tools, npsd,
the write yardstick and smtp-sink; database.py: databases and seeding; phase_requests.py,
phase_scale.py, phase_delivery.py, phase_insights.py: the four phases; report.py: the report), the
write yardstick is bench/yardstick.rs, and each wrk scenario's Lua is in bench/lua/ (common.lua
around <scenario>.lua).
"""
from __future__ import annotations

import argparse
import atexit
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

# The package beside this file, wherever the command is run from.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from npsd_bench.common import (BACKEND_TITLES, BENCH_DIR, BUILT_BINARY, BUILT_SEED, BUILT_YARDSTICK,  # noqa: E402
                               DEFAULT_PG, DOCS_REPORT, ROOT, T0, BenchError, log)
from npsd_bench.context import Context, machine_info  # noqa: E402
from npsd_bench.phase_delivery import measure_email_size, smtp_yardstick  # noqa: E402
from npsd_bench.phases import run_backend  # noqa: E402
from npsd_bench.processes import _die_with_parent, ensure_tools  # noqa: E402
from npsd_bench.report import Result, render, write_docs  # noqa: E402
from npsd_bench.scenarios import SCENARIO_BY_NAME, SCENARIOS  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="bench/run.py", description="npsd performance benchmark (see the docstring at the top of this file)")
    p.add_argument("what", help="'all', or scenarios separated by commas: " + ", ".join(SCENARIO_BY_NAME))
    p.add_argument("--quick", action="store_true", help="small sizes, 2 s per wrk scenario; report in target/bench/quick.md")
    p.add_argument("--skip-build", action="store_true", help="do not run cargo build; use target/release/npsd as it is")
    p.add_argument("--backends", default="sqlite,postgres", help="comma-separated: sqlite, postgres (default both)")
    p.add_argument("--postgres-url", default=DEFAULT_PG, help=f"admin URL (default {DEFAULT_PG})")
    p.add_argument("--out", type=Path, help="write the report here (default: docs/PERFORMANCE.md, quick: target/bench/quick.md)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory with logs and scripts")
    args = p.parse_args(argv)
    if args.what == "all":
        args.scenarios = list(SCENARIOS)
    else:
        names = [n.strip() for n in args.what.split(",") if n.strip()]
        unknown = [n for n in names if n not in SCENARIO_BY_NAME]
        if unknown:
            p.error(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(SCENARIO_BY_NAME)}")
        args.scenarios = [s for s in SCENARIOS if s.name in names]
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    bad = [b for b in args.backends if b not in BACKEND_TITLES]
    if bad or not args.backends:
        p.error(f"--backends takes sqlite and/or postgres, not {','.join(bad) or 'nothing'}")
    return args


def main(argv) -> int:
    args = parse_args(argv)
    command = "python3 bench/run.py " + " ".join(argv)
    ctx = Context(args)
    atexit.register(ctx.cleanup)

    def on_signal(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    results: dict[str, list[Result]] = {}
    meta, smtp, email_size, failures = {}, {}, None, []
    try:
        ensure_tools(ctx, args.backends)
        if not args.skip_build:
            build = ["cargo", "build", "--release", "--bin", "npsd", "--example", "seed", "--example", "yardstick"]
            log(f"building: {' '.join(build)}")
            if subprocess.run(build, cwd=ROOT, preexec_fn=_die_with_parent).returncode != 0:
                raise BenchError(f"{' '.join(build)} failed")
        for built in (BUILT_BINARY, BUILT_SEED, BUILT_YARDSTICK):
            if not built.exists():
                raise BenchError(f"{built} does not exist (build it, or run without --skip-build)")
        # Private copies: a rebuild during the run must not change (or remove) what is measured.
        ctx.binary = ctx.tmp / "npsd"
        shutil.copy2(BUILT_BINARY, ctx.binary)
        ctx.seed_binary = ctx.tmp / "seed"
        shutil.copy2(BUILT_SEED, ctx.seed_binary)
        ctx.yardstick_binary = ctx.tmp / "yardstick"
        shutil.copy2(BUILT_YARDSTICK, ctx.yardstick_binary)
        meta = machine_info(ctx, args.backends)
        log(f"npsd {meta['commit']}{' (dirty)' if meta['dirty'] else ''}, binary built {meta['binary']['built']}; "
            f"{meta['cores']} cores; mode {'quick' if args.quick else 'full'}")
        if "postgres" in args.backends:
            try:
                ctx.psql_admin("SELECT 1")
            except BenchError as e:
                failures.append(f"PostgreSQL not reachable: {e}")
        phases = {s.phase for s in args.scenarios}
        if "delivery" in phases:
            log("measuring a real survey email and the SMTP yardstick (smtp-source → smtp-sink)")
            email_size = measure_email_size(ctx)
            smtp = smtp_yardstick(ctx, email_size)
            log(f"email {email_size:,} bytes; smtp-source {smtp['rate']:,.0f} msg/s")
            failures += [f"SMTP yardstick: {e}" for e in smtp["errors"]]
        for backend in args.backends:
            results[backend] = run_backend(ctx, backend, args.scenarios, smtp, failures)
    except KeyboardInterrupt:
        log("interrupted: stopping everything")
        ctx.cleanup()
        return 130
    except BenchError as e:
        failures.append(str(e))
        log(f"error: {e}")
    finally:
        ctx.cleanup()

    elapsed = time.monotonic() - T0
    ok = not failures and all(r.status == "ok" for rs in results.values() for r in rs)
    if results:
        for f in failures:
            ctx.notes.append(f"error: {f}")
        report = render(ctx, meta, smtp, results, email_size, args.backends, elapsed, command)
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(report)
            where = args.out
        elif args.quick or args.what != "all":
            where = BENCH_DIR / "quick.md"
            where.write_text(report)
        else:
            write_docs(report)
            where = DOCS_REPORT
        raw = {"ok": ok, "mode": "quick" if args.quick else "full", "command": command, "meta": meta,
               "email_size": email_size, "smtp": smtp, "failures": failures, "elapsed_s": round(elapsed, 1),
               "results": {b: [r.__dict__ for r in rs] for b, rs in results.items()}}
        (BENCH_DIR / "results.json").write_text(json.dumps(raw, indent=2, default=str) + "\n")
        if args.out:
            args.out.with_suffix(".json").write_text(json.dumps(raw, indent=2, default=str) + "\n")
        print(report)
        log(f"report written to {where}; raw results in {BENCH_DIR / 'results.json'}")
    for f in failures:
        log(f"error: {f}")
    bad = [f"{r.backend}/{r.label}: {'; '.join(r.errors)}" for rs in results.values() for r in rs if r.status != "ok"]
    for b in bad:
        log(f"failed: {b}")
    log(f"{'OK' if ok else 'FAILED'}: elapsed {elapsed:.0f} s ({elapsed / 60:.1f} min)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
