"""Databases: a fresh one per npsd instance (a SQLite file or a PostgreSQL database), and the
seeding of link tokens and responses, done by bench/seed.rs through npsd's own store code."""
from __future__ import annotations

import datetime as dt
import os
import urllib.parse
from typing import TYPE_CHECKING

from .common import BenchError, log
from .processes import run

if TYPE_CHECKING:
    from .context import Context


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

    def seed(self, *args: str | int, timeout: float) -> float:
        """Runs bench/seed.rs on this database (npsd stopped); answers the seconds it took."""
        out = run([self.ctx.seed_binary, "--database-url", self.url] + [str(a) for a in args],
                  timeout=timeout, env=self.ctx.pg_env)
        if out.returncode != 0:
            raise BenchError(f"seed {args[0]}: {out.stderr.strip()[-800:]}")
        line = out.stdout.strip().splitlines()[-1]
        log(f"  {line}")
        return float(line.rsplit(" in ", 1)[1].split()[0])


def seed_link_tokens(db: Database, tokens: list[str], tag: str) -> None:
    """Sent invitations with one link token each (only the token's SHA-256 is stored), a 'plan'
    property each, as if their survey emails went out an hour ago (bench/seeding.rs)."""
    path = db.ctx.tmp / f"seed-tokens-{db.purpose}.txt"
    path.write_text("\n".join(tokens) + "\n")
    db.seed("tokens", path, tag, timeout=1800)
    path.unlink()


def seed_responses(db: Database, start_day: dt.date, rows: int) -> float:
    """Seeds `rows` responses over the year from start_day; returns the seconds it took."""
    return db.seed("responses", rows, start_day.isoformat(), timeout=3600)
