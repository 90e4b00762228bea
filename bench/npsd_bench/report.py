"""Results and the report: one Result per row, the Markdown section (machine, versions, one table
per backend, notes) and its place in docs/PERFORMANCE.md between the bench markers."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .common import BACKEND_TITLES, DOCS_REPORT, MARK_BEGIN, MARK_END, WRK_CONNECTIONS, WRK_THREADS

if TYPE_CHECKING:
    from .context import Context


@dataclass
class Result:
    scenario: str
    backend: str
    label: str = ""
    status: str = "ok"             # ok | errors | not run
    throughput: float | None = None
    unit: str = ""
    p50_ms: float | None = None
    p99_ms: float | None = None
    peak_rss_kb: int | None = None
    yardstick: str = ""
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    errors: list = field(default_factory=list)
    details: dict = field(default_factory=dict)

    def fail(self, message: str) -> None:
        self.errors.append(message)
        if self.status == "ok":
            self.status = "errors"


def fmt_ms(v):
    if v is None:
        return "—"
    return f"{v:.2f} ms" if v < 10 else f"{v:.1f} ms" if v < 100 else f"{v:,.0f} ms"


def fmt_rate(v, unit):
    return "—" if v is None else f"{v:,.0f} {unit}"


def fmt_mb(kb):
    return "—" if kb is None else f"{kb / 1024:.0f} MB"


def render(ctx: Context, meta: dict, smtp: dict, results: dict, email_size: int | None,
           backends: list[str], elapsed: float, command: str) -> str:
    prof = ctx.profile
    mode = "quick" if ctx.args.quick else "full"
    lines = [
        f"## Benchmark run of {meta['date']} ({mode})",
        "",
        f"Command: `{command}`; {meta['load_at_start']} load average at the start; the whole run took "
        f"{elapsed / 60:.1f} minutes. Request scenarios: wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} for "
        f"{prof['duration']} s each after a {prof['warmup']} s warm-up that is not counted, over loopback, "
        f"on the same 2 cores as npsd.",
        "",
        f"- machine: {meta['cores']} cores ({meta['cpu']}), {meta['memory_gib']} GiB memory, {meta['kernel']}",
        f"- npsd: commit {meta['commit']}{' (work tree has changes)' if meta['dirty'] else ''}; binary "
        f"built {meta['binary']['built']} (sha256 {meta['binary']['sha256']}…)",
        f"- versions: {meta['rustc']}; SQLite {meta['sqlite']}; PostgreSQL {meta['postgres']}; "
        f"wrk {meta['wrk']}; postfix {meta['postfix']} (smtp-source, smtp-sink); Python {meta['python']}",
    ]
    if smtp:
        lines.append(f"- SMTP yardstick: `{smtp['command']}` into smtp-sink: **{smtp['rate']:,.0f} msg/s** "
                     f"({smtp['messages']:,} messages in {smtp['seconds']:.2f} s"
                     + (f"; errors: {'; '.join(smtp['errors'])}" if smtp.get("errors") else "") + ")")
    if email_size:
        lines.append(f"- a survey email is {email_size:,} bytes (measured in this run from the .eml npsd wrote)")
    sizes = (f"- sizes: {prof['tokens']:,} seeded link tokens, batch ingest of {prof['batch_total']:,} "
             f"transactions, delivery of {prof['delivery']:,} emails, {prof['seed_responses']:,} seeded "
             f"responses for aggregates, export and cold start")
    lines += [sizes, ""]
    for backend in backends:
        lines += [f"### {BACKEND_TITLES[backend]}", "",
                  "| scenario | throughput | p50 | p99 | peak RSS | yardstick | ratio | target | met? | errors |",
                  "|---|---:|---:|---:|---:|---|---:|---|---|---|"]
        for r in results.get(backend, []):
            if r.status == "not run":
                met = "not run"
            elif r.errors:
                met = "no (errors)"
            else:
                met = {True: "yes", False: "**no**", None: "—"}[r.met]
            errors = "; ".join(e.replace("|", "/") for e in r.errors)[:300] or "0"
            lines.append(f"| {r.label} | {fmt_rate(r.throughput, r.unit)} | {fmt_ms(r.p50_ms)} | {fmt_ms(r.p99_ms)} "
                         f"| {fmt_mb(r.peak_rss_kb)} | {r.yardstick or '—'} | "
                         f"{'—' if r.ratio is None else f'{r.ratio:.0%}'} | {r.target or '—'} | {met} | {errors} |")
        lines.append("")
    notes = [
        "Peak RSS is npsd's VmHWM (/proc/PID/status) read right after each scenario: the process-wide "
        "peak so far, so a row includes the peaks of the rows above it on the same instance (one "
        "instance runs livez to batch_ingest, one delivery, one aggregates to cold start). For export it "
        "is the highest VmRSS sampled every 50 ms during the export, with the RSS before it as yardstick.",
        "Ratios compare with `livez` (GET /livez, which touches nothing) measured on the same npsd "
        "instance in the same run, and delivery with smtp-source into smtp-sink in the same run.",
        "Aggregates: p50/p99 of 30 sequential requests over one keep-alive connection after 2 warm-ups, "
        f"on {prof['seed_responses']:,} responses seeded like bench/insights.rs (bench/seeding.rs). The issue's 10 ms "
        "target is at 10 million responses: `cargo run --release --example insights -- --database-url URL "
        "--rows 10000000` measures that (not run by this harness; see \"Insights at 10 million responses\").",
        "Cold start: spawn of `npsd serve` on the seeded database to the first 200 of GET /healthz; "
        "p50 is the median and p99 the slowest of 3 starts.",
        "Timings never fail the run; errors do (exit status 1).",
    ] + ctx.notes
    lines += ["Notes:", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def write_docs(section: str) -> None:
    text = DOCS_REPORT.read_text() if DOCS_REPORT.exists() else "# Performance\n"
    block = f"{MARK_BEGIN}\n{section}{MARK_END}"
    i, j = text.find(MARK_BEGIN), text.find(MARK_END)
    if i != -1 and j > i:
        text = text[:i] + block + text[j + len(MARK_END):]
    else:
        lines = text.splitlines(keepends=True)
        at = next((k + 1 for k, l in enumerate(lines) if l.startswith("# ")), 0)
        lines.insert(at, f"\n{block}\n")
        text = "".join(lines)
    DOCS_REPORT.write_text(text)
