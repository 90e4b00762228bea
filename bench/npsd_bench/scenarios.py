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
    rate (per second), smtp_ratio (to smtp-source), p50_ms, peak_mb, median_ms."""
    kind: str
    sqlite: float
    postgres: float
    p99_ms: float | None = None

    def text(self, backend: str) -> str:
        v = self.sqlite if backend == "sqlite" else self.postgres
        base = {
            "ratio": f"≥{v:.0%} of /livez",
            "rate": f"≥{v:,.0f}/s",
            "smtp_ratio": f"≥{v:.0%} of smtp-source",
            "p50_ms": f"p50 < {v:g} ms",
            "peak_mb": f"peak RSS < {v:g} MB",
            "median_ms": f"median < {v:g} ms",
        }[self.kind]
        return base + (f", p99 < {self.p99_ms:g} ms" if self.p99_ms else "")

    def met(self, backend: str, r: "Result") -> bool | None:
        v = self.sqlite if backend == "sqlite" else self.postgres
        value = {"ratio": r.ratio, "smtp_ratio": r.ratio, "rate": r.throughput,
                 "p50_ms": r.p50_ms, "peak_mb": None if r.peak_rss_kb is None else r.peak_rss_kb / 1024,
                 "median_ms": r.p50_ms}[self.kind]
        if value is None:
            return None
        ok = value < v if self.kind in ("p50_ms", "peak_mb", "median_ms") else value >= v
        if self.p99_ms is not None:
            ok = ok and r.p99_ms is not None and r.p99_ms < self.p99_ms
        return ok


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str          # wrk | batch | delivery | aggregates | export | cold_start
    phase: str         # requests | delivery | insights: which npsd instance runs it
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


CLICK_TARGET = Target("ratio", 0.40, 0.25, p99_ms=20)
SCENARIOS = [
    Scenario("livez", "wrk", "requests", "GET /livez (yardstick)", expect=200, lua=lua("livez.lua")),
    Scenario("score_click", "wrk", "requests", "GET /r/{token}?score=N, a new token each",
             CLICK_TARGET, expect=200, tokens=True, lua=lua("email_link.lua") + "request = score_click\n"),
    Scenario("comment_post", "wrk", "requests", "POST /r/{token} score&comment, the clicked tokens",
             CLICK_TARGET, expect=200, tokens=True, lua=lua("email_link.lua") + "request = comment_post\n"),
    Scenario("widget_post", "wrk", "requests", "POST /api/v1/embed/default/responses, a new visitor each",
             CLICK_TARGET, expect=201, lua=lua("widget_post.lua")),
    Scenario("single_ingest", "wrk", "requests", "POST /api/v1/transactions, one each",
             Target("ratio", 0.30, 0.20), expect=202, lua=lua("single_ingest.lua")),
    Scenario("batch_ingest", "batch", "requests", "POST /api/v1/transactions/batch ×1,000, 4 clients",
             Target("rate", 50_000, 20_000)),
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
