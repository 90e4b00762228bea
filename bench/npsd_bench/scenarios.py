"""The scenarios as data: what each one requests, which npsd instance runs it, its target, and
for the wrk scenarios the Lua that builds each request (in bench/lua/)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .report import Result


@dataclass(frozen=True)
class Target:
    """When a scenario meets its target. `kind` says what is compared: ratio (to /livez),
    yardstick_ratio (to write_yardstick of the same backend and run), rate (per second),
    smtp_ratio (to smtp-source), scale_ratio (to score_click ×1, and no lock wait on a shared row),
    p50_ms, p99_ms, peak_mb, median_ms."""
    kind: str
    sqlite: float
    postgres: float
    p99_ms: float | None = None

    def text(self, backend: str) -> str:
        v = self.sqlite if backend == "sqlite" else self.postgres
        base = {
            "ratio": f"≥{v:.0%} of /livez",
            "yardstick_ratio": f"≥{v:.0%} of the write yardstick",
            "rate": f"≥{v:,.0f}/s",
            "smtp_ratio": f"≥{v:.0%} of smtp-source",
            "scale_ratio": f"≥{v:.0%} of ×1, no wait on a shared row",
            "p50_ms": f"p50 < {v:g} ms",
            "p99_ms": f"p99 < {v:g} ms",
            "peak_mb": f"peak RSS < {v:g} MB",
            "median_ms": f"median < {v:g} ms",
        }[self.kind]
        return base + (f", p99 < {self.p99_ms:g} ms" if self.p99_ms else "")

    def met(self, backend: str, r: "Result") -> bool | None:
        v = self.sqlite if backend == "sqlite" else self.postgres
        if self.kind == "scale_ratio":
            # The ×1 run is the baseline (no ratio): only its lock waits count.
            shared = r.details.get("lock_waits", {}).get("shared_samples")
            if shared is None or (r.ratio is None and not r.details.get("baseline")):
                return None
            return shared == 0 and (r.ratio is None or r.ratio >= v)
        value = {"ratio": r.ratio, "yardstick_ratio": r.ratio, "smtp_ratio": r.ratio, "rate": r.throughput,
                 "p50_ms": r.p50_ms, "p99_ms": r.p99_ms,
                 "peak_mb": None if r.peak_rss_kb is None else r.peak_rss_kb / 1024,
                 "median_ms": r.p50_ms}[self.kind]
        if value is None:
            return None
        ok = value < v if self.kind in ("p50_ms", "p99_ms", "peak_mb", "median_ms") else value >= v
        if self.p99_ms is not None:
            ok = ok and r.p99_ms is not None and r.p99_ms < self.p99_ms
        return ok


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str          # wrk | batch | scale_out | lag | delivery | aggregates | export | cold_start
    phase: str         # requests | scale_out | delivery | insights: which npsd instance(s) run it
    what: str          # the requests, as the report shows them
    target: Target | None = None
    expect: int | None = None      # wrk: the status every answer must have
    tokens: bool = False           # wrk: takes one seeded link token per request
    lua: str = ""                  # wrk: prepare() and request() for this scenario


# The scenarios' wrk Lua: bench/lua/<name>.lua, read once at import. run_wrk() writes common.lua,
# then the scenario's Lua, "@UA@" replaced. The email path's two scenarios share email_link.lua and
# pick their request with one line.
LUA_DIR = Path(__file__).resolve().parent.parent / "lua"


def lua(name: str) -> str:
    return "\n" + (LUA_DIR / name).read_text(encoding="utf-8")


# Issue 20: each write path at least half of the write yardstick on its backend, p99 under 20 ms.
WRITE_TARGET = Target("yardstick_ratio", 0.50, 0.50, p99_ms=20)
SCENARIOS = [
    Scenario("livez", "wrk", "requests", "GET /livez (no database)", expect=200, lua=lua("livez.lua")),
    Scenario("write_yardstick", "wrk", "requests", "POST /append score=N to bench/yardstick.rs, a row each",
             expect=201, lua=lua("yardstick.lua")),
    Scenario("score_click", "wrk", "requests", "GET /r/{token}?score=N, a new token each",
             WRITE_TARGET, expect=200, tokens=True, lua=lua("email_link.lua") + "request = score_click\n"),
    Scenario("comment_post", "wrk", "requests", "POST /r/{token} score&comment, the clicked tokens",
             WRITE_TARGET, expect=200, tokens=True, lua=lua("email_link.lua") + "request = comment_post\n"),
    Scenario("widget_post", "wrk", "requests", "POST /api/v1/embed/default/responses, a new visitor each",
             WRITE_TARGET, expect=201, lua=lua("widget_post.lua")),
    Scenario("single_ingest", "wrk", "requests", "POST /api/v1/transactions, one each",
             WRITE_TARGET, expect=202, lua=lua("single_ingest.lua")),
    Scenario("batch_ingest", "batch", "requests", "POST /api/v1/transactions/batch ×1,000, 4 clients",
             Target("yardstick_ratio", 0.50, 0.50)),
    # PostgreSQL only (phase_scale.py): rows `score_click ×1`, `×2`, `×4`.
    Scenario("scale_out", "scale_out", "scale_out", "GET /r/{token}?score=N on 1, 2, 4 npsd instances, one database",
             Target("scale_ratio", 1.0, 1.0)),
    Scenario("figure_lag", "lag", "scale_out", "widget answer's 201 → its segment in …/nps/breakdown, during ×1",
             Target("p99_ms", 1000, 1000)),
    Scenario("delivery", "delivery", "delivery", "due invitations → SMTP sink",
             Target("smtp_ratio", 0.60, 0.60)),
    Scenario("aggregates", "aggregates", "insights", "NPS year/month, weekly trend, breakdown",
             Target("p50_ms", 10, 10)),
    Scenario("export", "export", "insights", "GET …/responses.csv, every response",
             Target("peak_mb", 100, 100)),
    Scenario("cold_start", "cold_start", "insights", "spawn → first 200 of /healthz",
             Target("median_ms", 300, 300)),
]
SCENARIO_BY_NAME = {s.name: s for s in SCENARIOS}

# The aggregate queries: (label, path with {y0} {y1} {m0} {m1} days, a check of the answer).
AGGREGATE_QUERIES = [
    ("NPS, whole year", "/api/v1/surveys/default/nps?from={y0}&to={y1}", "year"),
    ("NPS, one month", "/api/v1/surveys/default/nps?from={m0}&to={m1}", "month"),
    ("weekly trend, one year", "/api/v1/surveys/default/nps/trend?interval=week&from={y0}&to={y1}", "trend"),
    ("breakdown by plan, year", "/api/v1/surveys/default/nps/breakdown?by=plan&from={y0}&to={y1}", "breakdown"),
]

# The wrk script around each scenario's prepare()/request(): thread ids, the token slice of each
# thread (thread t takes tokens start+t, start+t+T, ...; it wraps when its slice runs out), status
# counts, and done() printing one JSON line.
LUA_COMMON = lua("common.lua")
