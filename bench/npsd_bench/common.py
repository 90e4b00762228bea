"""What every part of the harness shares: paths in the checkout, fixed settings, the sizes of a
full and a quick run, the error that stops a scenario, progress logging and percentiles."""
from __future__ import annotations

import sys
import time
from pathlib import Path

# bench/npsd_bench/common.py → the checkout.
ROOT = Path(__file__).resolve().parent.parent.parent
BUILT_BINARY = ROOT / "target" / "release" / "npsd"
# bench/seed.rs: seeds link tokens and responses through npsd's own store code.
BUILT_SEED = ROOT / "target" / "release" / "examples" / "seed"
# bench/yardstick.rs: the write yardstick (actix-web + diesel, no npsd code).
BUILT_YARDSTICK = ROOT / "target" / "release" / "examples" / "yardstick"
BENCH_DIR = ROOT / "target" / "bench"
DOCS_REPORT = ROOT / "docs" / "PERFORMANCE.md"
MARK_BEGIN, MARK_END = "<!-- bench:begin -->", "<!-- bench:end -->"
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"
# An admin key (NPSD_API_KEY carries every scope): 32 printable characters.
API_KEY = "npsdbench-0123456789abcdefghijkl"
BROWSER_UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/131.0.0.0 Safari/537.36")
WRK_THREADS, WRK_CONNECTIONS = 2, 64
DELIVERY_POLL_S = 0.025  # how often delivery asks npsd how many invitations are sent
SCALE_INSTANCES = (1, 2, 4)  # scale_out: npsd instances on one PostgreSQL database
LOCK_SAMPLE_S = 0.1      # scale_out: how often PostgreSQL's lock waits are sampled
LAG_POLL_S = 0.025       # figure_lag: how often the breakdown is asked for the new answer
PLANS = ("free", "pro", "team", "enterprise")
COUNTRIES = ("DE", "US", "FR", "GB", "NL")
BACKEND_TITLES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}

# Sizes and time limits. Deadlines bound every wait; they are generous against today's speeds and
# are not targets (running into one is reported as an error: something did not finish).
# scale_tokens and scale_warm_tokens are the link tokens of each scale_out run (measured, warm-up),
# split evenly across its instances; lag_deadline is how long a figure_lag probe waits to be seen.
PROFILES = {
    "full": dict(duration=10, warmup=2, tokens=300_000, warm_tokens=40_000,
                 batch_total=100_000, delivery=20_000, seed_responses=1_000_000,
                 aggregate_runs=30, cold_starts=3, smtp_messages=20_000,
                 scale_tokens=60_000, scale_warm_tokens=10_000, lag_probes=50, lag_deadline=10,
                 batch_deadline=150, delivery_deadline=180, export_deadline=300),
    "quick": dict(duration=2, warmup=1, tokens=30_000, warm_tokens=6_000,
                  batch_total=10_000, delivery=2_000, seed_responses=20_000,
                  aggregate_runs=30, cold_starts=3, smtp_messages=20_000,
                  scale_tokens=10_000, scale_warm_tokens=3_000, lag_probes=50, lag_deadline=10,
                  batch_deadline=45, delivery_deadline=60, export_deadline=60),
}


class BenchError(Exception):
    """Something the run needs did not work; the scenarios depending on it could not run."""


# The start of the run: bench/run.py imports this package first thing, so progress times and the
# elapsed time at the end count from (practically) the start of the process.
T0 = time.monotonic()


def log(msg: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def pct(values: list, p: float) -> float | None:
    """The p-th percentile (nearest rank) of values."""
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100 * len(s) + 0.5)) - 1))]
