"""The second npsd instance per backend: delivery of due invitations to smtp-sink, timed from the
start of an npsd with the dispatcher on, against smtp-source into its own smtp-sink (the SMTP
yardstick, measured once per run with emails the size of a real survey email)."""
from __future__ import annotations

import http.client
import json
import time

from .batches import build_batches, post_batches
from .common import API_KEY, BACKEND_TITLES, DELIVERY_POLL_S, BenchError, log
from .context import Context
from .database import Database
from .httpapi import api
from .processes import Npsd, Sink, run
from .report import Result, fmt_rate


def measure_email_size(ctx: Context) -> int:
    """The size of a real survey email: one npsd without SMTP writes it as an .eml file."""
    db = Database(ctx, "sqlite", "email-size")
    n = Npsd(ctx, "email-size", db, smtp_port=None)
    n.start()
    try:
        status, body = api(n.port, "POST", "/api/v1/transactions", {
            "transaction_id": "size-1", "email": "ann.example@example.com", "name": "Ann Example",
            "properties": {"plan": "pro", "country": "DE"}, "delay_seconds": 0})
        if status != 202:
            raise BenchError(f"email size: POST /api/v1/transactions answered {status} {body}")
        outbox = n.workdir / "mail-outbox"
        end = time.monotonic() + 20
        while time.monotonic() < end:
            files = list(outbox.glob("*.eml")) if outbox.exists() else []
            if files:
                time.sleep(0.1)  # let the write finish
                return files[0].stat().st_size
            time.sleep(0.05)
        raise BenchError("email size: npsd wrote no .eml file within 20 s")
    finally:
        n.stop()


def smtp_yardstick(ctx: Context, size: int) -> dict:
    """smtp-source into its own smtp-sink: the rate a C SMTP client reaches on this machine."""
    sink = Sink(ctx, "yardstick")
    m = ctx.profile["smtp_messages"]
    cmd = [ctx.tools["smtp-source"], "-s", "8", "-m", str(m), "-l", str(size), "-f", "a@example.com",
           "-t", "b@example.com", f"127.0.0.1:{sink.port}"]
    try:
        t = time.monotonic()
        out = run(cmd, timeout=300)
        secs = time.monotonic() - t
        time.sleep(0.2)
        counted = sink.count()
    finally:
        sink.stop()
    res = {"command": "smtp-source -s 8 -m {} -l {} -f a@example.com -t b@example.com 127.0.0.1:PORT".format(m, size),
           "messages": m, "seconds": round(secs, 3), "rate": m / secs, "sink_counted": counted,
           "errors": []}
    if out.returncode != 0:
        res["errors"].append(f"smtp-source exited {out.returncode}: {out.stderr.strip()[:300]}")
    if counted != m:
        res["errors"].append(f"smtp-sink counted {counted} of {m} messages")
    return res


def phase_delivery(ctx: Context, backend: str, out: dict, smtp: dict) -> None:
    n = ctx.profile["delivery"]
    r = out["delivery"] = Result("delivery", backend, label="delivery")
    db = Database(ctx, backend, "delivery")
    sink = Sink(ctx, f"{backend}-delivery")
    npsd = Npsd(ctx, f"{backend}-delivery", db, sink.port, dispatcher=False)
    try:
        npsd.start()
        log(f"{backend}: delivery: ingesting {n:,} due invitations with the dispatcher off")
        res = post_batches(npsd.port, build_batches(f"dl{ctx.run_id}{backend[0]}", n, delay=0), threads=4,
                           deadline_s=ctx.profile["batch_deadline"])
        if res["errors"] or res["accepted"] != n:
            raise BenchError(f"ingest for delivery: {res['accepted']} of {n} accepted; {res['errors'][:3]}")
        npsd.stop()
        npsd.dispatcher = True
        log(f"{backend}: delivery: restarting npsd with the dispatcher on, timing until all {n:,} are sent")
        t0 = npsd.spawn()
        deadline = t0 + ctx.profile["delivery_deadline"]
        sent, done_at, conn = 0, None, None
        while time.monotonic() < deadline:
            if npsd.proc.poll() is not None:
                raise BenchError(f"npsd exited with {npsd.proc.returncode} while sending: {npsd.log_tail()}")
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", npsd.port, timeout=10)
                conn.request("GET", "/api/v1/surveys/default/nps", headers={"Authorization": f"Bearer {API_KEY}"})
                resp = conn.getresponse()
                data = resp.read()
                if resp.status == 200:
                    sent = json.loads(data)["invitations_sent"]
                    if sent >= n:
                        done_at = time.monotonic()
                        break
            except (OSError, http.client.HTTPException):
                if conn is not None:
                    conn.close()
                conn = None
            time.sleep(DELIVERY_POLL_S)
        if conn is not None:
            conn.close()
        r.peak_rss_kb = npsd.rss().get("VmHWM")
        npsd.stop()
        time.sleep(0.2)
        counted = sink.count()
        r.details.update(emails=n, sink_counted=counted, sent=sent)
        if done_at is None:
            r.fail(f"time-out: {sent} of {n} sent after {ctx.profile['delivery_deadline']} s")
            return
        secs = done_at - t0
        r.throughput, r.unit = n / secs, "emails/s"
        r.details["seconds"] = round(secs, 3)
        if counted is not None and counted < n:
            r.fail(f"smtp-sink counted {counted} of {n} messages")
        elif counted is not None and counted > n:
            ctx.notes.append(f"delivery on {BACKEND_TITLES[backend]}: smtp-sink counted {counted:,} messages "
                             f"for {n:,} invitations (sent again after a restart?)")
        if smtp.get("rate"):
            r.ratio = r.throughput / smtp["rate"]
            r.yardstick = f"smtp-source {smtp['rate']:,.0f} msg/s"
    except BenchError as e:
        r.status = "not run"
        r.errors.append(str(e))
    finally:
        npsd.stop()
        sink.stop()
        for line in npsd.warnings()[:3]:
            ctx.notes.append(f"{BACKEND_TITLES[backend]} delivery instance logged: {line[:300]}")
    log(f"{backend}: delivery: {fmt_rate(r.throughput, r.unit)}" + (f", errors: {'; '.join(r.errors)}" if r.errors else ""))
