#!/usr/bin/env bash
# npsd dispatch benchmark: how fast posted transactions become delivered SMTP messages, on SQLite
# and on PostgreSQL, with NPSD_SMTP_CONCURRENCY 1 and 8, plus the API's ingest rate.
#
#   bench/dispatch.sh                     # default: N=5000, both backends, concurrency 1 and 8
#   BENCH_N=20000 bench/dispatch.sh       # more transactions
#
# Settings (environment):
#   BENCH_N                  transactions per run, posted in batches of 1,000      (5000)
#   BENCH_N_C1               transactions for the NPSD_SMTP_CONCURRENCY=1 runs     (BENCH_N/5)
#                            (serial sending is slow; this keeps the default run near 3 minutes)
#   BENCH_SMTP_CONCURRENCY   NPSD_SMTP_CONCURRENCY values to run                   ("1 8")
#   BENCH_BACKENDS           backends to run                                       ("sqlite postgres")
#   BENCH_POSTGRES_URL       admin URL; a fresh database is created and dropped per run
#                            (postgres://postgres@127.0.0.1:5432/postgres)
#   BENCH_CLIENTS            concurrent HTTP clients for the single-request tests  (8)
#   BENCH_DELIVERY_TIMEOUT   seconds to wait for all N emails per run              (180)
#   BENCH_SINK               smtp-sink | aiosmtpd (default: smtp-sink, aiosmtpd if postfix can't be had)
#
# What it needs, installed when missing: cargo (not installed), python3 (standard library only),
# curl, and an SMTP sink: `smtp-sink` from Debian's postfix package (installed with apt-get, with
# debconf "No configuration" so the postfix daemon is neither configured nor started; if the
# install started it anyway, it is stopped again) or, as a fallback, `aiosmtpd` from PyPI.
# PostgreSQL runs are skipped with a message when the server is not reachable.
#
# Per run (backend x concurrency) it starts a fresh sink and a fresh `npsd serve` on a fresh
# database, everything on 127.0.0.1 with free ports:
#   1. batch ingest: N transactions, POST /api/v1/transactions/batch x (N/1000), delay_seconds 0,
#      distinct emails; timed from the first request to the last response;
#   2. delivery: polls GET /api/v1/surveys/default/nps until invitations_sent == N; time from the
#      first batch request to that moment (sending starts while later batches are still posted);
#   3. single ingest: N/10 POST /api/v1/transactions with BENCH_CLIENTS keep-alive clients, with
#      delay_seconds 3600 so the dispatcher stays idle and only the API and its write are timed;
#   4. baseline: N/10 GET /healthz (one database read) with the same clients.
# All loops are bounded (request counts, deadlines). Output: a markdown table on stdout.
set -euo pipefail

N=${BENCH_N:-5000}
CONCURRENCIES=${BENCH_SMTP_CONCURRENCY:-"1 8"}
BACKENDS=${BENCH_BACKENDS:-"sqlite postgres"}
PG_ADMIN_URL=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
CLIENTS=${BENCH_CLIENTS:-8}
DELIVERY_TIMEOUT=${BENCH_DELIVERY_TIMEOUT:-180}
SINK_KIND=${BENCH_SINK:-smtp-sink}
API_KEY="npsd_bench_$(date +%s)_0123456789abcdef"

case "$N" in '' | *[!0-9]*) echo "BENCH_N must be a number" >&2; exit 2 ;; esac
if [ "$N" -lt 10 ] || [ "$N" -gt 1000000 ]; then echo "BENCH_N must be 10..1000000" >&2; exit 2; fi
SINGLE=$((N / 10))
N_C1=${BENCH_N_C1:-$((N / 5))}
case "$N_C1" in '' | *[!0-9]*) echo "BENCH_N_C1 must be a number" >&2; exit 2 ;; esac
[ "$N_C1" -ge 10 ] || N_C1=10
export PGOPTIONS="-c client_min_messages=warning"

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/npsd-bench.XXXXXX)
PIDS=()
PG_DBS=()

log() { echo "bench: $*" >&2; }

cleanup() {
  local pid db
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  for db in "${PG_DBS[@]}"; do
    psql "$PG_ADMIN_URL" -qtAc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
  if [ -n "${BENCH_KEEP:-}" ]; then
    log "kept $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Stops one process we started and forgets it.
stop_pid() {
  local pid=$1 i
  kill "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  local keep=()
  for i in "${PIDS[@]}"; do [ "$i" = "$pid" ] || keep+=("$i"); done
  PIDS=("${keep[@]+"${keep[@]}"}")
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# ---------------------------------------------------------------------------------------------
# Tools
command -v python3 >/dev/null || { echo "bench: python3 is needed" >&2; exit 1; }
command -v cargo >/dev/null || { echo "bench: cargo is needed (Rust toolchain)" >&2; exit 1; }

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "$@" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$@" >/dev/null; }
}

SMTP_SINK_BIN=""
ensure_smtp_sink() {
  SMTP_SINK_BIN=$(command -v smtp-sink || true)
  [ -z "$SMTP_SINK_BIN" ] && [ -x /usr/sbin/smtp-sink ] && SMTP_SINK_BIN=/usr/sbin/smtp-sink
  [ -n "$SMTP_SINK_BIN" ] && return 0
  command -v apt-get >/dev/null || return 1
  [ "$(id -u)" = 0 ] || return 1
  log "installing Debian's postfix for smtp-sink (the postfix daemon is not configured or started)"
  local was_listening=0
  ss -ltn 2>/dev/null | grep -q '[:.]25 ' && was_listening=1
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null || true
  apt_install postfix || return 1
  # If the package started its daemon (no policy-rc.d here), stop it again: we only want smtp-sink.
  if [ "$was_listening" = 0 ] && postfix status >/dev/null 2>&1; then
    log "stopping the postfix daemon that the install started"
    postfix stop >/dev/null 2>&1 || true
  fi
  SMTP_SINK_BIN=/usr/sbin/smtp-sink
  [ -x "$SMTP_SINK_BIN" ]
}

ensure_aiosmtpd() {
  python3 -c 'import aiosmtpd' 2>/dev/null && return 0
  log "installing aiosmtpd from PyPI"
  python3 -m pip install -q aiosmtpd >/dev/null 2>&1 ||
    python3 -m pip install -q --break-system-packages aiosmtpd >/dev/null
}

if [ "$SINK_KIND" = smtp-sink ] && ! ensure_smtp_sink; then
  log "smtp-sink not available; falling back to aiosmtpd"
  SINK_KIND=aiosmtpd
fi
if [ "$SINK_KIND" = aiosmtpd ]; then
  ensure_aiosmtpd
  SINK_DESC="aiosmtpd $(python3 -c 'import aiosmtpd; print(aiosmtpd.__version__)') (python3 -m aiosmtpd -c aiosmtpd.handlers.Sink)"
elif [ "$SINK_KIND" = smtp-sink ]; then
  SINK_DESC="smtp-sink from postfix $(dpkg-query -W -f='${Version}' postfix 2>/dev/null || echo '?') (discards mail, counts messages)"
else
  echo "bench: BENCH_SINK must be smtp-sink or aiosmtpd" >&2
  exit 2
fi
command -v curl >/dev/null || apt_install curl

# ---------------------------------------------------------------------------------------------
# The HTTP load generator (standard library only).
cat >"$WORK/load.py" <<'PY'
import http.client, json, sys, threading, time

def cpu_seconds(pid):
    """utime+stime of a process, in seconds (None if unknown)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        import os
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except Exception:
        return None

def machine_busy_seconds():
    """CPU seconds the whole machine spent not idle (all cores), from /proc/stat."""
    try:
        import os
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")
    except Exception:
        return None

def request(conn, method, path, key=None, body=None):
    headers = {}
    if key:
        headers["Authorization"] = "Bearer " + key
    if body is not None:
        body = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    return resp.status, data

def deliver(port, key, n, run, timeout, npsd_pid, sink_pid):
    """Batch ingest of n transactions, then wait until all are sent."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    cpu0 = (cpu_seconds(npsd_pid), cpu_seconds(sink_pid), machine_busy_seconds())
    t0 = time.perf_counter()
    accepted = rejected = duplicates = 0
    errors = []
    for start in range(0, n, 1000):
        items = [{
            "transaction_id": f"{run}-b-{i}",
            "email": f"customer{i}.{run}@example.com",
            "name": f"Customer {i}",
            "properties": {"plan": "pro", "country": "DE", "order": i},
            "delay_seconds": 0,
        } for i in range(start, min(start + 1000, n))]
        status, data = request(conn, "POST", "/api/v1/transactions/batch", key, {"transactions": items})
        if status != 200:
            errors.append(f"batch at {start}: HTTP {status} {data[:300]!r}")
            continue
        body = json.loads(data)
        accepted += body["accepted"]; rejected += body["rejected"]; duplicates += body["duplicates"]
    t_ingest = time.perf_counter() - t0
    cpu1 = (cpu_seconds(npsd_pid), cpu_seconds(sink_pid), machine_busy_seconds())
    sent, deadline, t_done, polls = 0, t0 + timeout, None, 0
    while time.perf_counter() < deadline:
        polls += 1
        status, data = request(conn, "GET", "/api/v1/surveys/default/nps", key)
        if status == 200:
            sent = json.loads(data)["invitations_sent"]
            if sent >= n:
                t_done = time.perf_counter() - t0
                break
        else:
            errors.append(f"nps poll: HTTP {status} {data[:300]!r}")
            if len(errors) > 20:
                break
        time.sleep(0.05)
    cpu2 = (cpu_seconds(npsd_pid), cpu_seconds(sink_pid), machine_busy_seconds())
    d = lambda a, b: None if a is None or b is None else round(b - a, 2)
    print(json.dumps({
        "ingest_s": round(t_ingest, 3), "accepted": accepted, "rejected": rejected,
        "duplicates": duplicates, "sent": sent, "done_s": None if t_done is None else round(t_done, 3),
        "npsd_cpu_ingest_s": d(cpu0[0], cpu1[0]), "npsd_cpu_total_s": d(cpu0[0], cpu2[0]),
        "sink_cpu_total_s": d(cpu0[1], cpu2[1]), "machine_cpu_total_s": d(cpu0[2], cpu2[2]),
        "errors": errors[:5],
    }))

def hammer(port, key, count, clients, run, kind, npsd_pid):
    """count requests from `clients` threads with keep-alive connections; latency percentiles."""
    lat, statuses, errors = [], {}, []
    lock = threading.Lock()
    next_i = [0]
    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                i = next_i[0]
                if i >= count:
                    return
                next_i[0] += 1
            t = time.perf_counter()
            try:
                if kind == "single":
                    status, data = request(conn, "POST", "/api/v1/transactions", key, {
                        "transaction_id": f"{run}-s-{i}",
                        "email": f"single{i}.{run}@example.com",
                        "name": f"Single {i}",
                        "properties": {"plan": "pro", "country": "DE", "order": i},
                        "delay_seconds": 3600,
                    })
                    ok = status == 202
                else:
                    status, data = request(conn, "GET", "/healthz")
                    ok = status == 200
            except Exception as e:
                status, data, ok = "exception", repr(e).encode(), False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            dt = time.perf_counter() - t
            with lock:
                lat.append(dt)
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                if not ok and len(errors) < 5:
                    errors.append(f"{status} {data[:300]!r}")
    cpu0 = cpu_seconds(npsd_pid)
    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads: t.start()
    for t in threads: t.join()
    wall = time.perf_counter() - t0
    cpu1 = cpu_seconds(npsd_pid)
    lat.sort()
    pct = lambda p: round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 2)
    print(json.dumps({
        "requests": len(lat), "seconds": round(wall, 3), "rps": round(len(lat) / wall, 1),
        "p50_ms": pct(0.50), "p99_ms": pct(0.99), "statuses": statuses, "errors": errors,
        "npsd_cpu_s": None if cpu0 is None or cpu1 is None else round(cpu1 - cpu0, 2),
    }))

if __name__ == "__main__":
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "deliver":
        deliver(int(a[0]), a[1], int(a[2]), a[3], float(a[4]), a[5], a[6])
    elif cmd == "hammer":
        hammer(int(a[0]), a[1], int(a[2]), int(a[3]), a[4], a[5], a[6])
PY

json_get() { python3 -c 'import json,sys; v=json.loads(sys.argv[1])[sys.argv[2]]; print("" if v is None else v)' "$1" "$2"; }

# ---------------------------------------------------------------------------------------------
# Build
log "building (cargo build --release)"
(cd "$ROOT" && cargo build --release --quiet)
BIN="$ROOT/target/release/npsd"

# PostgreSQL reachable?
pg_ok=0
if [[ " $BACKENDS " == *" postgres "* ]]; then
  if command -v psql >/dev/null && PGCONNECT_TIMEOUT=3 psql "$PG_ADMIN_URL" -qtAc 'select 1' >/dev/null 2>&1; then
    pg_ok=1
  else
    log "PostgreSQL not reachable at $PG_ADMIN_URL (or psql missing): skipping the PostgreSQL runs"
  fi
fi

# ---------------------------------------------------------------------------------------------
# Processes
SINK_PID=""
SINK_LOG=""
start_sink() {
  local port=$1
  SINK_LOG="$WORK/sink-$port.log"
  if [ "$SINK_KIND" = smtp-sink ]; then
    # -c: count messages; backlog 256. As root it must drop privileges (-u; 'postfix' user).
    local as_user=()
    if [ "$(id -u)" = 0 ]; then
      if id postfix >/dev/null 2>&1; then as_user=(-u postfix); else as_user=(-u nobody); fi
    fi
    "$SMTP_SINK_BIN" "${as_user[@]}" -c "127.0.0.1:$port" 256 >"$SINK_LOG" 2>&1 &
  else
    python3 -m aiosmtpd -n -l "127.0.0.1:$port" -c aiosmtpd.handlers.Sink >"$SINK_LOG" 2>&1 &
  fi
  SINK_PID=$!
  PIDS+=("$SINK_PID")
  local i
  for i in $(seq 1 100); do
    if python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),1).close()' "$port" 2>/dev/null; then
      return 0
    fi
    kill -0 "$SINK_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "bench: the SMTP sink did not start:" >&2
  cat "$SINK_LOG" >&2
  exit 1
}

# Messages the sink saw (smtp-sink -c prints running counters; aiosmtpd: unknown).
sink_count() {
  if [ "$SINK_KIND" = smtp-sink ]; then
    tr '\r' '\n' <"$SINK_LOG" | awk 'NF {last=$0} END {print last}' | grep -oE '[0-9]+' | tail -1 || true
  else
    echo "?"
  fi
}

NPSD_PID=""
NPSD_LOG=""
start_npsd() {
  local db_url=$1 port=$2 smtp_port=$3 conc=$4 name=$5
  NPSD_LOG="$WORK/npsd-$name.log"
  mkdir -p "$WORK/$name"
  # A clean environment for npsd: no NPSD_* from the caller, no npsd.toml (cwd is empty).
  (
    cd "$WORK/$name"
    for v in $(compgen -e | grep '^NPSD_' || true); do unset "$v"; done
    exec env NPSD_DATABASE_URL="$db_url" NPSD_BIND="127.0.0.1:$port" NPSD_API_KEY="$API_KEY" \
      NPSD_SMTP_URL="smtp://127.0.0.1:$smtp_port" NPSD_SMTP_CONCURRENCY="$conc" NPSD_LOG=warn NO_COLOR=1 \
      NPSD_MAIL_DIR="$WORK/$name/outbox" "$BIN" serve
  ) >"$NPSD_LOG" 2>&1 &
  NPSD_PID=$!
  PIDS+=("$NPSD_PID")
  local i
  for i in $(seq 1 300); do
    curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/healthz" 2>/dev/null && return 0
    kill -0 "$NPSD_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "bench: npsd did not start ($name):" >&2
  tail -20 "$NPSD_LOG" >&2
  exit 1
}

# ---------------------------------------------------------------------------------------------
# Runs
ROWS=()
NOTES=()
run_one() {
  local backend=$1 conc=$2
  local name="$backend-c$conc" db_url run_id="r$$$RANDOM" n=$N
  [ "$conc" != 1 ] || n=$N_C1
  if [ "$backend" = sqlite ]; then
    db_url="sqlite://$WORK/$name.db"
  else
    local db="npsd_bench_$$_c$conc"
    psql "$PG_ADMIN_URL" -qtAc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
    psql "$PG_ADMIN_URL" -qtAc "CREATE DATABASE $db" >/dev/null
    PG_DBS+=("$db")
    db_url="${PG_ADMIN_URL%/*}/$db"
  fi
  local smtp_port http_port
  smtp_port=$(free_port)
  start_sink "$smtp_port"
  http_port=$(free_port)
  start_npsd "$db_url" "$http_port" "$smtp_port" "$conc" "$name"

  log "$name: ingesting $n transactions and waiting for delivery"
  local d s h
  d=$(python3 "$WORK/load.py" deliver "$http_port" "$API_KEY" "$n" "$run_id" "$DELIVERY_TIMEOUT" "$NPSD_PID" "$SINK_PID")
  log "$name: delivery $d"
  log "$name: $SINGLE single POST /api/v1/transactions, $CLIENTS clients"
  s=$(python3 "$WORK/load.py" hammer "$http_port" "$API_KEY" "$SINGLE" "$CLIENTS" "$run_id" single "$NPSD_PID")
  log "$name: single $s"
  log "$name: $SINGLE GET /healthz, $CLIENTS clients"
  h=$(python3 "$WORK/load.py" hammer "$http_port" "$API_KEY" "$SINGLE" "$CLIENTS" "$run_id" health "$NPSD_PID")
  log "$name: healthz $h"

  local sunk
  sunk=$(sink_count)
  stop_pid "$NPSD_PID"
  stop_pid "$SINK_PID"
  local warn_lines
  warn_lines=$(grep -cE '(WARN|ERROR)' "$NPSD_LOG" || true)
  if [ "$warn_lines" != 0 ]; then
    NOTES+=("$name: $warn_lines WARN/ERROR lines in the npsd log; first ones:")
    while IFS= read -r line; do NOTES+=("    $line"); done < <(grep -E '(WARN|ERROR)' "$NPSD_LOG" | head -5)
  fi
  local errs
  for errs in "$(json_get "$d" errors)" "$(json_get "$s" errors)" "$(json_get "$h" errors)"; do
    [ "$errs" = "[]" ] || NOTES+=("$name: request errors: $errs")
  done

  local ingest_s done_s sent
  ingest_s=$(json_get "$d" ingest_s)
  done_s=$(json_get "$d" done_s)
  sent=$(json_get "$d" sent)
  local ingest_rate delivery_rate delivered
  ingest_rate=$(python3 -c "print(f'{$n/$ingest_s:.0f}')")
  if [ -n "$done_s" ]; then
    delivery_rate=$(python3 -c "print(f'{$n/$done_s:.0f}')")
    delivered="$done_s s"
  else
    delivery_rate="—"
    delivered="timeout, $sent/$n sent after ${DELIVERY_TIMEOUT}s"
    NOTES+=("$name: only $sent of $n invitations sent within ${DELIVERY_TIMEOUT}s")
  fi
  if [ "$(json_get "$d" accepted)" != "$n" ]; then
    NOTES+=("$name: batch ingest accepted $(json_get "$d" accepted) of $n (rejected $(json_get "$d" rejected), duplicates $(json_get "$d" duplicates))")
  fi
  ROWS+=("| $backend | $conc | $n | $ingest_s s ($ingest_rate tx/s) | $delivered | **$delivery_rate** | $(json_get "$d" npsd_cpu_total_s) / $(json_get "$d" sink_cpu_total_s) / $(json_get "$d" machine_cpu_total_s) | $sunk | $(json_get "$s" rps) | $(json_get "$s" p50_ms) / $(json_get "$s" p99_ms) | $(json_get "$h" rps) | $(json_get "$h" p50_ms) / $(json_get "$h" p99_ms) | $warn_lines |")
}

START=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for backend in $BACKENDS; do
  case "$backend" in
    sqlite) ;;
    postgres) [ "$pg_ok" = 1 ] || continue ;;
    *) echo "bench: unknown backend $backend" >&2; exit 2 ;;
  esac
  for conc in $CONCURRENCIES; do
    run_one "$backend" "$conc"
  done
done
ELAPSED=$(($(date +%s) - START))

# ---------------------------------------------------------------------------------------------
# Report
echo "## npsd dispatch benchmark"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$ROOT" && [ -n "$(git status --porcelain 2>/dev/null)" ] && echo ' (work tree has changes)' || true)"
echo "- machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(free -g | awk '/^Mem:/ {print $2}') GiB memory; $(rustc --version)"
echo "- N = $N transactions per run ($N_C1 with SMTP concurrency 1), batches of 1,000, delay 0; single-request tests: $SINGLE requests each, $CLIENTS keep-alive clients"
echo "- SMTP sink: $SINK_DESC, 127.0.0.1; PostgreSQL: $([ "$pg_ok" = 1 ] && psql "$PG_ADMIN_URL" -qtAc 'show server_version' || echo 'not run')"
echo "- wall time of all runs: ${ELAPSED}s; load average before: $LOAD_BEFORE"
echo
echo "| backend | SMTP concurrency | N | batch ingest of N | all N sent after | delivery msg/s | CPU s npsd / sink / machine | sink count | single POST req/s | single POST p50 / p99 ms | /healthz req/s | /healthz p50 / p99 ms | npsd WARN/ERROR lines |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for row in "${ROWS[@]}"; do echo "$row"; done
if [ ${#NOTES[@]} -gt 0 ]; then
  echo
  echo "Notes:"
  for n in "${NOTES[@]}"; do echo "- $n"; done
fi
