"""Databases: a fresh one per npsd instance (a SQLite file or a PostgreSQL database), npsd's own
SQLite library loaded under Python's sqlite3, and the SQL seeding of link tokens and responses."""
from __future__ import annotations

import ctypes
import datetime as dt
import hashlib
import os
import secrets
import shutil
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from .common import BENCH_DIR, PLANS, ROOT, BenchError, log
from .processes import run

if TYPE_CHECKING:
    from .context import Context

sqlite3 = None  # imported by load_sqlite(), after npsd's own SQLite library is loaded


def load_sqlite(ctx: Context) -> str:
    """Imports Python's sqlite3 on top of npsd's own SQLite (see bench/run.py's docstring); returns a
    description of the library in use."""
    global sqlite3
    note = "system library"
    archives = sorted(ROOT.glob("target/release/build/libsqlite3-sys-*/out/libsqlite3.a"),
                      key=lambda p: p.stat().st_mtime, reverse=True)
    cc = shutil.which("cc") or shutil.which("gcc")
    if archives and cc:
        a = archives[0]
        so = BENCH_DIR / "sqlite" / a.parent.parent.name / "libsqlite3.so.0"
        try:
            if not so.exists() or so.stat().st_mtime < a.stat().st_mtime:
                so.parent.mkdir(parents=True, exist_ok=True)
                tmp = so.with_suffix(".tmp")
                out = run([cc, "-shared", "-Wl,-soname,libsqlite3.so.0", "-o", tmp, "-Wl,--whole-archive", a,
                           "-Wl,--no-whole-archive", "-lm", "-lpthread", "-ldl"], timeout=120)
                if out.returncode != 0:
                    raise BenchError(out.stderr.strip()[:300])
                os.replace(tmp, so)
            # Loaded under the soname Python's _sqlite3 asks for, so the import below binds to it.
            ctypes.CDLL(str(so), mode=os.RTLD_GLOBAL | os.RTLD_NOW)
            note = f"npsd's own, from {a.relative_to(ROOT)}"
        except Exception as e:
            ctx.notes.append(f"could not load npsd's SQLite ({e}); using the system's")
    import sqlite3 as module
    sqlite3 = module
    return f"{module.sqlite_version} ({note})"


class Database:
    """A fresh database for one npsd instance: a file in the temp dir, or a PostgreSQL database."""

    def __init__(self, ctx: "Context", backend: str, purpose: str):
        self.ctx, self.backend, self.purpose = ctx, backend, purpose
        if backend == "sqlite":
            self.path = ctx.tmp / f"{purpose}.db"
            self.url = f"sqlite://{self.path}"
        else:
            self.name = f"npsd_bench_{os.getpid()}" + ("" if purpose == "main" else f"_{purpose}")
            ctx.psql_admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            ctx.pg_databases.append(self.name)
            ctx.psql_admin(f'CREATE DATABASE "{self.name}"')
            p = urllib.parse.urlsplit(ctx.args.postgres_url)
            self.url = urllib.parse.urlunsplit((p.scheme, p.netloc, "/" + self.name, p.query, ""))

    def query(self, sql: str) -> list[tuple]:
        if self.backend == "sqlite":
            conn = sqlite3.connect(str(self.path), timeout=60)
            try:
                return conn.execute(sql).fetchall()
            finally:
                conn.close()
        out = run(["psql", "-X", "-q", "-t", "-A", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                   "-d", self.url, "-c", sql], timeout=300, env=self.ctx.pg_env)
        if out.returncode != 0:
            raise BenchError(f"psql: {out.stderr.strip()[:500]}")
        return [tuple(line.split("\t")) for line in out.stdout.splitlines() if line]

    def psql_file(self, path: Path, timeout: float) -> None:
        out = run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.url, "-f", path],
                  timeout=timeout, env=self.ctx.pg_env)
        if out.returncode != 0:
            raise BenchError(f"psql -f {path.name}: {out.stderr.strip()[:800]}")

    def survey_id(self) -> str:
        rows = self.query("SELECT id FROM surveys WHERE slug = 'default'")
        if not rows:
            raise BenchError("no survey 'default' in the fresh database")
        return str(rows[0][0])


def uuid7(ms: int) -> str:
    """A UUID v7 (time-ordered, like npsd's ids) for the given Unix milliseconds."""
    return str(uuid.UUID(int=(ms << 80) | (0x7 << 76) | (secrets.randbits(12) << 64)
                         | (0b10 << 62) | secrets.randbits(62)))


def ts(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def seed_link_tokens(db: Database, survey_id: str, tokens: list[str], tag: str) -> None:
    """Sent invitations with one link token each (only the token's SHA-256 is stored), a 'plan'
    property each, as if their survey emails went out an hour ago."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    sent, created, expires = ts(now - dt.timedelta(hours=1)), ts(now - dt.timedelta(hours=1, minutes=5)), \
        ts(now + dt.timedelta(days=365))

    base_ms = int(time.time() * 1000) - 3_600_000 - len(tokens)

    def rows():
        for i, tok in enumerate(tokens):
            inv = uuid7(base_ms + i)
            email = f"t{i}.{tag}@example.com"
            yield (inv, f"{tag}-tok-{i}", email, f"{uuid.uuid4().hex}@bench.example",
                   hashlib.sha256(tok.encode()).hexdigest(), PLANS[i % 4])

    if db.backend == "sqlite":
        data = list(rows())
        conn = sqlite3.connect(str(db.path), timeout=60, isolation_level=None)
        try:
            conn.execute("PRAGMA cache_size = -262144")  # 256 MB: random index inserts stay in memory
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT INTO invitations (id, survey_id, transaction_id, email, email_key, name, locale,"
                " status, reason, send_at, sent_at, message_id, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, NULL, 'en', 'sent', NULL, ?, ?, ?, ?, ?)",
                ((inv, survey_id, txid, email, email, created, sent, msgid, created, sent)
                 for inv, txid, email, msgid, _, _ in data))
            conn.executemany("INSERT INTO invitation_properties (invitation_id, name, value) VALUES (?, 'plan', ?)",
                             ((inv, plan) for inv, _, _, _, _, plan in data))
            conn.executemany("INSERT INTO invitation_tokens (token_hash, invitation_id, created_at, expires_at)"
                             " VALUES (?, ?, ?, ?)", ((th, inv, sent, expires) for inv, _, _, _, th, _ in data))
            conn.execute("COMMIT")
            conn.execute("ANALYZE")
        finally:
            conn.close()
        return
    # PostgreSQL: COPY with the row triggers off (session_replication_role), then the one tally
    # the invitation trigger keeps (sent per hour) filled by the migration's own backfill query.
    path = db.ctx.tmp / f"seed-tokens-{db.purpose}.sql"
    inv_lines, prop_lines, tok_lines = [], [], []
    for inv, txid, email, msgid, th, plan in rows():
        inv_lines.append(f"{inv}\t{survey_id}\t{txid}\t{email}\t{email}\ten\tsent\t{created}\t{sent}\t{msgid}\t{created}\t{sent}\n")
        prop_lines.append(f"{inv}\tplan\t{plan}\n")
        tok_lines.append(f"{th}\t{inv}\t{sent}\t{expires}\n")
    with open(path, "w") as f:
        f.write("BEGIN;\nSET session_replication_role = replica;\n")
        f.write("COPY invitations (id, survey_id, transaction_id, email, email_key, locale, status, send_at,"
                " sent_at, message_id, created_at, updated_at) FROM STDIN;\n")
        f.writelines(inv_lines)
        f.write("\\.\nCOPY invitation_properties (invitation_id, name, value) FROM STDIN;\n")
        f.writelines(prop_lines)
        f.write("\\.\nCOPY invitation_tokens (token_hash, invitation_id, created_at, expires_at) FROM STDIN;\n")
        f.writelines(tok_lines)
        f.write("\\.\nSET session_replication_role = DEFAULT;\n")
        f.write(pg_backfill(db, survey_id) + "COMMIT;\nANALYZE;\n")
    db.psql_file(path, timeout=600)
    path.unlink()


def seed_responses_sql(sqlite: bool, survey_id: str, start_day: dt.date, lo: int, hi: int, rows: int) -> str:
    """bench/insights.rs's seed_sql(): responses lo..hi of `rows` spread evenly over 365 days from
    start_day, a third of them web answers, a tenth with a comment, properties plan and country."""
    step = 365.0 * 86_400.0 / rows
    day = start_day.isoformat()
    if sqlite:
        when = f"strftime('%Y-%m-%d %H:%M:%S', '{day}', '+' || CAST(n * {step!r} AS INTEGER) || ' seconds')"
        series = f"WITH RECURSIVE s(n) AS (SELECT {lo} UNION ALL SELECT n + 1 FROM s WHERE n < {hi - 1}) "
        source = "FROM s"
        plan = "CASE n % 4 WHEN 0 THEN 'free' WHEN 1 THEN 'pro' WHEN 2 THEN 'team' ELSE 'enterprise' END"
        country = ("CASE n % 5 WHEN 0 THEN 'DE' WHEN 1 THEN 'US' WHEN 2 THEN 'FR' WHEN 3 THEN 'GB' "
                   "ELSE 'NL' END")
    else:
        when = f"timestamp '{day}' + (n * {step!r}) * interval '1 second'"
        series = ""
        source = f"FROM generate_series({lo}::bigint, {hi - 1}) AS s(n)"
        plan = "(ARRAY['free','pro','team','enterprise'])[1 + n % 4]"
        country = "(ARRAY['DE','US','FR','GB','NL'])[1 + n % 5]"
    return f"""BEGIN;
{series}INSERT INTO responses (id, survey_id, channel, score, comment, status, responded_at, created_at, updated_at, verified)
    SELECT 'b' || n, '{survey_id}', CASE WHEN n % 3 = 0 THEN 'web' ELSE 'email' END,
           (n * 7919 + n / 7) % 11,
           CASE WHEN n % 10 = 0 THEN 'delivery was slow ' || (n % 97) END,
           'counted', {when}, {when}, {when}, FALSE
    {source};
{series}INSERT INTO response_properties (response_id, name, value) SELECT 'b' || n, 'plan', {plan} {source};
{series}INSERT INTO response_properties (response_id, name, value) SELECT 'b' || n, 'country', {country} {source};
COMMIT;
"""


def pg_backfill(db: Database, survey_id: str) -> str:
    """bench/pg_tally_backfill.sql (shared with bench/insights.rs: the migrations' own backfill
    queries) for one survey: its hourly and daily tallies recomputed from its rows, after a seed
    with the row triggers off."""
    return (ROOT / "bench" / "pg_tally_backfill.sql").read_text().replace("{survey}", survey_id)


def seed_responses(db: Database, survey_id: str, start_day: dt.date, rows: int) -> float:
    """Seeds `rows` responses in chunks; returns the seconds it took."""
    chunk = 250_000
    t = time.monotonic()
    if db.backend == "sqlite":
        conn = sqlite3.connect(str(db.path), timeout=60, isolation_level=None)
        try:
            conn.execute("PRAGMA cache_size = -262144")
            for lo in range(0, rows, chunk):
                hi = min(rows, lo + chunk)
                conn.executescript(seed_responses_sql(True, survey_id, start_day, lo, hi, rows))
                log(f"  seeded {hi:,}/{rows:,} responses ({hi / (time.monotonic() - t):,.0f}/s)")
            conn.execute("ANALYZE")
        finally:
            conn.close()
    else:
        path = db.ctx.tmp / f"seed-responses-{db.purpose}.sql"
        with open(path, "w") as f:
            # PostgreSQL's row triggers take ~4,000 rows/s in bulk: seed with them off and fill the
            # tallies with the migration's backfill, as bench/insights.rs does.
            f.write("SET session_replication_role = replica;\n")
            for lo in range(0, rows, chunk):
                f.write(seed_responses_sql(False, survey_id, start_day, lo, min(rows, lo + chunk), rows))
            f.write("BEGIN;\n" + pg_backfill(db, survey_id) + "COMMIT;\n")
            f.write("SET session_replication_role = DEFAULT;\nANALYZE;\n")
        db.psql_file(path, timeout=1800)
        path.unlink()
    return time.monotonic() - t
