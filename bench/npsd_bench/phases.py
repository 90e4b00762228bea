"""One backend from start to finish: its phases in order (requests, scale_out on PostgreSQL only,
delivery, insights; each on npsd instances of its own), the scenarios of a phase that could not
run marked "not run", then the rows in the scenario table's order with their targets and whether
each was met."""
from __future__ import annotations

from .common import BenchError, log
from .context import Context
from .phase_delivery import phase_delivery
from .phase_insights import phase_insights
from .phase_requests import phase_requests
from .phase_scale import phase_scale_out
from .report import Result
from .scenarios import SCENARIO_BY_NAME, SCENARIOS, Scenario


def run_backend(ctx: Context, backend: str, selected: list[Scenario], smtp: dict,
                failures: list[str]) -> list[Result]:
    """The results of one backend, ordered as in SCENARIOS (aggregates has one row per query)."""
    out: dict[str, Result] = {}
    if backend == "postgres" and any("PostgreSQL not reachable" in f for f in failures):
        for s in selected:
            out[s.name] = Result(s.name, backend, label=s.name, status="not run",
                                 errors=["PostgreSQL not reachable"])
    else:
        for phase, fn in (("requests", phase_requests), ("scale_out", phase_scale_out), ("delivery", None),
                          ("insights", phase_insights)):
            chosen = [s for s in selected if s.phase == phase]
            if not chosen:
                continue
            try:
                if phase == "delivery":
                    phase_delivery(ctx, backend, out, smtp)
                else:
                    fn(ctx, backend, chosen, out)
            except BenchError as e:
                log(f"{backend}: {phase} could not run: {e}")
                for s in chosen:
                    if s.name not in out and not any(k.startswith(s.name + ":") for k in out):
                        out[s.name] = Result(s.name, backend, label=s.name, status="not run", errors=[str(e)])
    ordered = []
    for s in SCENARIOS:
        for key, r in out.items():
            if key == s.name or key.startswith(s.name + ":"):
                ordered.append(r)
    for r in ordered:
        s = SCENARIO_BY_NAME[r.scenario]
        if s.target:
            r.target = r.target or s.target.text(backend)  # a row may say its own (score_click ×1)
            r.met = s.target.met(backend, r) if r.status == "ok" else None
    return ordered
