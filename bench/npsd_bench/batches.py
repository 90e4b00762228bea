"""Batch ingest from Python: bodies of 1,000 transactions built before timing, posted by a few
threads over keep-alive connections (batch_ingest, and the due invitations for delivery)."""
from __future__ import annotations

import http.client
import json
import threading
import time

from .common import API_KEY, COUNTRIES, PLANS


def post_batches(port: int, bodies: list, threads: int, deadline_s: float) -> dict:
    """POSTs pre-built batch bodies from `threads` keep-alive connections; per-request latency."""
    lock = threading.Lock()
    state = {"next": 0, "latencies": [], "answers": [], "errors": []}
    end = time.monotonic() + deadline_s

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
        try:
            while True:
                with lock:
                    i = state["next"]
                    if i >= len(bodies) or time.monotonic() > end or len(state["errors"]) > 10:
                        return
                    state["next"] += 1
                body, count = bodies[i]
                t = time.perf_counter()
                try:
                    conn.request("POST", "/api/v1/transactions/batch", body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                except (OSError, http.client.HTTPException) as ex:
                    with lock:
                        state["errors"].append(f"batch {i}: {ex!r}")
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                    continue
                elapsed = time.perf_counter() - t
                with lock:
                    state["latencies"].append(elapsed)
                    state["answers"].append((i, count, resp.status, data))
        finally:
            conn.close()

    t0 = time.perf_counter()
    workers = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        while w.is_alive():
            w.join(timeout=0.5)
    wall = time.perf_counter() - t0
    accepted, expected, errors = 0, sum(c for _, c in bodies), list(state["errors"])
    for i, count, status, data in state["answers"]:
        if status != 200:
            errors.append(f"batch {i}: HTTP {status} {data[:200]!r}")
            continue
        answer = json.loads(data)
        accepted += answer.get("accepted", 0)
        if answer.get("accepted") != count:
            errors.append(f"batch {i}: accepted {answer.get('accepted')} of {count} "
                          f"(duplicates {answer.get('duplicates')}, rejected {answer.get('rejected')})")
    if state["next"] < len(bodies):
        errors.append(f"time-out: only {state['next']} of {len(bodies)} batches sent within {deadline_s:.0f} s")
    return {"seconds": wall, "accepted": accepted, "expected": expected,
            "latencies": state["latencies"], "errors": errors}


def build_batches(prefix: str, total: int, delay: int) -> list:
    bodies = []
    for lo in range(0, total, 1000):
        items = [{"transaction_id": f"{prefix}-{i}", "email": f"{prefix}.{i}@example.com",
                  "name": f"Customer {i}", "properties": {"plan": PLANS[i % 4], "country": COUNTRIES[i % 5]},
                  "delay_seconds": delay} for i in range(lo, min(total, lo + 1000))]
        bodies.append((json.dumps({"transactions": items}).encode(), len(items)))
    return bodies
