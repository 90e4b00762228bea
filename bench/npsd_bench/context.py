"""One run's state (arguments, sizes, temporary directory, children, PostgreSQL databases to drop,
notes for the report) and its cleanup, and the description of the machine and versions measured."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .common import PROFILES, ROOT, BenchError
from .processes import Processes, run


class Context:
    def __init__(self, args):
        self.args = args
        self.profile = PROFILES["quick" if args.quick else "full"]
        self.tmp = Path(tempfile.mkdtemp(prefix="npsd-bench-"))
        self.procs = Processes(self.tmp)
        self.pg_databases: list[str] = []
        self.notes: list[str] = []
        self.tools: dict = {}
        self.binary: Path | None = None
        self.seed_binary: Path | None = None
        self.yardstick_binary: Path | None = None
        self.run_id = secrets.token_hex(3)
        self.pg_env = dict(os.environ, PGCONNECT_TIMEOUT="5",
                           PGOPTIONS="-c client_min_messages=warning")
        self.cleaned = False

    def child_env(self) -> dict:
        """The caller's environment without NPSD_* settings (nor npsd.toml: npsd runs in an empty
        directory), so nothing but what the harness sets reaches npsd."""
        return {k: v for k, v in os.environ.items()
                if not k.startswith("NPSD_") and k not in ("LD_LIBRARY_PATH", "LD_PRELOAD", "RUST_LOG")}

    def psql_admin(self, sql: str) -> str:
        out = run(["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", self.args.postgres_url,
                   "-c", sql], timeout=120, env=self.pg_env)
        if out.returncode != 0:
            raise BenchError(f"psql ({self.args.postgres_url}): {out.stderr.strip()[:400]}")
        return out.stdout.strip()

    def cleanup(self) -> None:
        if self.cleaned:
            return
        self.cleaned = True
        self.procs.stop_all()
        for name in self.pg_databases:
            try:
                self.psql_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as e:  # reported, never raised from cleanup
                print(f"bench: could not drop database {name}: {e}", file=sys.stderr)
        if self.args.keep:
            print(f"bench: kept {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def machine_info(ctx: Context, backends: list[str]) -> dict:
    def first(cmd, default="?"):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, cwd=ROOT)
            return (out.stdout or out.stderr).strip().splitlines()[0] if out.returncode == 0 else default
        except Exception:
            return default

    cpu = "?"
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except Exception:
        pass
    mem_kb = 0
    try:
        mem_kb = int(next(l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")))
    except Exception:
        pass
    commit = first(["git", "rev-parse", "--short", "HEAD"])
    dirty = bool(first(["git", "status", "--porcelain"], default=""))
    libsqlite_sys = "?"
    try:
        lock = (ROOT / "Cargo.lock").read_text()
        m = re.search(r'name = "libsqlite3-sys"\nversion = "([^"]+)"', lock)
        libsqlite_sys = m.group(1) if m else "?"
    except OSError:
        pass
    pg = "not run"
    if "postgres" in backends:
        try:
            pg = ctx.psql_admin("show server_version")
        except Exception as e:
            pg = "unreachable: " + str(e).splitlines()[0]
    st = ctx.binary.stat()
    with open(ctx.binary, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": f"{platform.system()} {platform.release()}",
        "load_at_start": " ".join(open("/proc/loadavg").read().split()[:3]),
        "rustc": first(["rustc", "--version"], "not installed"),
        "commit": commit,
        "dirty": dirty,
        "binary": {"built": dt.datetime.fromtimestamp(st.st_mtime, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
                   "bytes": st.st_size, "sha256": digest},
        "sqlite": f"bundled by libsqlite3-sys {libsqlite_sys}",
        "postgres": pg,
        "wrk": first(["dpkg-query", "-W", "-f=${Version}", "wrk"], None) or first([ctx.tools["wrk"], "-v"]),
        "postfix": first(["dpkg-query", "-W", "-f=${Version}", "postfix"]),
        "python": platform.python_version(),
    }
