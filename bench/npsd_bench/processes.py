"""Process control: every child (npsd, the write yardstick, smtp-sink, smtp-source, wrk, psql) is
started here and stopped at the end; free ports, the tools the run needs (installed with apt-get as
root), and the long-running servers a phase talks to: npsd, bench/yardstick.rs and smtp-sink."""
from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .common import API_KEY, BenchError, log
from .httpapi import http_request

if TYPE_CHECKING:
    from .context import Context
    from .database import Database

# --------------------------------------------------------------------------------------------
# Processes: everything started is stopped at the end.

def _die_with_parent() -> None:
    """In the child: get SIGTERM when the harness dies, even by SIGKILL (PR_SET_PDEATHSIG)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)
    except Exception:
        pass


class Processes:
    def __init__(self, logdir: Path):
        self.logdir = logdir
        self.live: list[subprocess.Popen] = []
        self.lock = threading.Lock()

    def spawn(self, name: str, argv: list, env=None, cwd=None) -> subprocess.Popen:
        logfile = open(self.logdir / f"{name}.log", "ab")
        p = subprocess.Popen([str(a) for a in argv], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                             stdout=logfile, stderr=subprocess.STDOUT,
                             preexec_fn=_die_with_parent)
        logfile.close()
        p.bench_name = name  # type: ignore[attr-defined]
        with self.lock:
            self.live.append(p)
        return p

    def spawn_piped(self, name: str, argv: list, env=None) -> subprocess.Popen:
        """Like spawn, with stdin and stdout as text pipes to the harness (stderr to the log): a
        client that is asked again and again over one connection (the lock sampler's psql)."""
        logfile = open(self.logdir / f"{name}.log", "ab")
        p = subprocess.Popen([str(a) for a in argv], env=env, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=logfile, text=True, bufsize=1,
                             preexec_fn=_die_with_parent)
        logfile.close()
        p.bench_name = name  # type: ignore[attr-defined]
        with self.lock:
            self.live.append(p)
        return p

    def stop(self, p: subprocess.Popen, timeout: float = 20.0) -> bool:
        """SIGTERM, wait, SIGKILL. True when it stopped on SIGTERM within the timeout."""
        clean = True
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                clean = False
                p.kill()
                p.wait(timeout=10)
        with self.lock:
            if p in self.live:
                self.live.remove(p)
        return clean

    def stop_all(self) -> None:
        for p in reversed(list(self.live)):
            try:
                self.stop(p, timeout=10)
            except Exception:
                pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, deadline_s: float) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise BenchError(f"{proc.bench_name} exited with {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.02)
    raise BenchError(f"{proc.bench_name} did not listen on port {port} within {deadline_s:.0f} s")


def run(argv, timeout: float, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], timeout=timeout, text=True,
                          capture_output=True, preexec_fn=_die_with_parent, **kw)


def tool(name: str) -> str | None:
    return shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}")
                                       if os.access(p, os.X_OK)), None)


def proc_status(pid: int) -> dict:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmHWM:", "VmRSS:")):
                    k, v = line.split(":", 1)
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def ensure_tools(ctx: Context, backends: list[str]) -> None:
    need = []
    if not tool("wrk"):
        need.append("wrk")
    if not (tool("smtp-source") and tool("smtp-sink")):
        need.append("postfix")
    if "postgres" in backends and not tool("psql"):
        need.append("postgresql-client")
    if need:
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            raise BenchError(f"missing {', '.join(need)}; install them (Debian: apt-get install {' '.join(need)})")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        postfix_was_running = False
        if "postfix" in need:
            # "No configuration": the package installs its programs without configuring a daemon.
            subprocess.run(["debconf-set-selections"], input="postfix postfix/main_mailer_type select No configuration\n",
                           text=True, check=False, timeout=60)
            postfix_was_running = Path("/var/spool/postfix/pid/master.pid").exists()
        log(f"installing {' '.join(need)} with apt-get")
        cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *need]
        if subprocess.run(cmd, env=env, timeout=900, stdout=subprocess.DEVNULL).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, timeout=900, stdout=subprocess.DEVNULL)
            if subprocess.run(cmd, env=env, timeout=900, stdout=subprocess.DEVNULL).returncode != 0:
                raise BenchError(f"apt-get install {' '.join(need)} failed")
        if "postfix" in need and not postfix_was_running:
            stop_postfix_daemon()
    for name in ("wrk", "smtp-source", "smtp-sink"):
        path = tool(name)
        if not path:
            raise BenchError(f"{name} not found after installing")
        ctx.tools[name] = path


def stop_postfix_daemon() -> None:
    """Only smtp-source/smtp-sink are wanted: stop the postfix daemon if the install started it."""
    if tool("postfix"):
        subprocess.run([tool("postfix"), "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=60, check=False)
    pidfile = Path("/var/spool/postfix/pid/master.pid")
    try:
        pid = int(pidfile.read_text().split()[0])
        os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError, IndexError):
        pass


# --------------------------------------------------------------------------------------------
# npsd and the SMTP sink.

class Sink:
    """smtp-sink on a free port: accepts and discards mail, counts messages (-c)."""

    def __init__(self, ctx: "Context", name: str):
        self.ctx, self.port = ctx, free_port()
        self.name = f"smtp-sink-{name}"
        argv = [ctx.tools["smtp-sink"]]
        if os.geteuid() == 0:
            argv += ["-u", "nobody"]   # as root it must drop privileges
        argv += ["-c", f"127.0.0.1:{self.port}", "1024"]
        self.proc = ctx.procs.spawn(self.name, argv, env=ctx.child_env())
        wait_port(self.port, self.proc, 10)

    def count(self) -> int | None:
        try:
            text = (self.ctx.tmp / f"{self.name}.log").read_text(errors="replace")
        except OSError:
            return None
        found = re.findall(r"mesg=(\d+)", text)
        return int(found[-1]) if found else 0

    def stop(self) -> None:
        self.ctx.procs.stop(self.proc, timeout=5)


class Npsd:
    """One `npsd serve` on a database, always on the same port across restarts."""

    def __init__(self, ctx: "Context", name: str, db: Database, smtp_port: int | None,
                 dispatcher: bool = True):
        self.ctx, self.name, self.db = ctx, name, db
        self.port, self.smtp_port, self.dispatcher = free_port(), smtp_port, dispatcher
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.workdir = ctx.tmp / f"npsd-{name}"
        self.workdir.mkdir(exist_ok=True)

    def env(self) -> dict:
        env = self.ctx.child_env()
        env.update({
            "NPSD_DATABASE_URL": self.db.url,
            "NPSD_BIND": f"127.0.0.1:{self.port}",
            "NPSD_PUBLIC_URL": f"http://127.0.0.1:{self.port}",
            "NPSD_API_KEY": API_KEY,
            "NPSD_LOG": "warn",
            "NPSD_AUTH_FAILURE_LIMIT": "0",
            "NPSD_EMBED_RATE_LIMIT": "0",
            "NPSD_EMBED_SURVEY_RATE_LIMIT": "0",
            "NPSD_SHUTDOWN_GRACE_SECONDS": "10",
            "NPSD_MAIL_DIR": str(self.workdir / "mail-outbox"),
            "NO_COLOR": "1",
        })
        if self.smtp_port:
            env["NPSD_SMTP_URL"] = f"smtp://127.0.0.1:{self.smtp_port}"
        if not self.dispatcher:
            env["NPSD_DISPATCHER"] = "off"
        return env

    def spawn(self) -> float:
        """Starts the process without waiting; returns the monotonic time of the spawn."""
        self.starts += 1
        t = time.monotonic()
        self.proc = self.ctx.procs.spawn(f"npsd-{self.name}", [self.ctx.binary, "serve"],
                                         env=self.env(), cwd=self.workdir)
        return t

    def start(self, deadline_s: float = 60) -> None:
        self.spawn()
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise BenchError(f"npsd ({self.name}) exited with {self.proc.returncode} at start: "
                                 + self.log_tail())
            try:
                status, _ = http_request(self.port, "GET", "/healthz", timeout=5)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.02)
        raise BenchError(f"npsd ({self.name}) not ready within {deadline_s:.0f} s: " + self.log_tail())

    def stop(self) -> None:
        if self.proc is not None:
            if not self.ctx.procs.stop(self.proc, timeout=20):
                self.ctx.notes.append(f"npsd ({self.name}) did not stop within 20 s of SIGTERM; killed")
            self.proc = None

    def rss(self) -> dict:
        return proc_status(self.proc.pid) if self.proc else {}

    def log_tail(self, n: int = 8) -> str:
        try:
            lines = (self.ctx.tmp / f"npsd-{self.name}.log").read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(lines[-n:])

    def warnings(self) -> list[str]:
        try:
            lines = (self.ctx.tmp / f"npsd-{self.name}.log").read_text(errors="replace").splitlines()
        except OSError:
            return []
        return [l for l in lines if re.search(r"\b(WARN|ERROR)\b", l)]


class Yardstick:
    """bench/yardstick.rs on a database of its own: POST /append appends one row and answers 201
    after the commit, through a group commit like npsd's. Started with --port 0; the port is read
    from the "listening on 127.0.0.1:PORT" line it prints."""

    def __init__(self, ctx: "Context", name: str, db: Database):
        self.ctx, self.db = ctx, db
        self.name = f"yardstick-{name}"
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None

    def start(self, deadline_s: float = 60) -> None:
        log_path = self.ctx.tmp / f"{self.name}.log"
        self.proc = self.ctx.procs.spawn(self.name, [self.ctx.yardstick_binary, "--database-url", self.db.url,
                                                     "--port", 0], env=self.ctx.child_env())
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            try:
                found = re.search(r"listening on 127\.0\.0\.1:(\d+)", log_path.read_text(errors="replace"))
            except OSError:
                found = None
            if found:
                self.port = int(found.group(1))
                break
            if self.proc.poll() is not None:
                raise BenchError(f"the write yardstick exited with {self.proc.returncode} at start: "
                                 + self.log_tail())
            time.sleep(0.02)
        else:
            raise BenchError(f"the write yardstick printed no port within {deadline_s:.0f} s: " + self.log_tail())
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise BenchError(f"the write yardstick exited with {self.proc.returncode}: " + self.log_tail())
            try:
                status, _ = http_request(self.port, "GET", "/livez", timeout=5)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.02)
        raise BenchError(f"the write yardstick not answering within {deadline_s:.0f} s: " + self.log_tail())

    def stop(self) -> None:
        if self.proc is not None:
            self.ctx.procs.stop(self.proc, timeout=10)
            self.proc = None

    def log_tail(self, n: int = 8) -> str:
        try:
            lines = (self.ctx.tmp / f"{self.name}.log").read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(lines[-n:])
